"""The ``vigie`` command as a user types it (real subprocesses of the installed entry point)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from vigie import __version__

VIGIE = [sys.executable, "-m", "vigie.cli"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VIGIE, *args], check=False, capture_output=True, text=True, timeout=120, cwd=cwd)


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"vigie {__version__}"


def test_unknown_option_prints_usage() -> None:
    result = run("demo", "--frobnicate")
    assert result.returncode == 2
    assert "usage: vigie" in result.stderr and "--frobnicate" in result.stderr


def test_unknown_command_prints_usage() -> None:
    result = run("explode")
    assert result.returncode == 2 and "usage: vigie" in result.stderr


def test_serve_refuses_an_invalid_config_and_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(
        "version: 1\nstorage:\n  database_url: sqlite:///"
        + str(tmp_path / "db.sqlite")
        + "\n  data_dir: "
        + str(tmp_path / "data")
        + "\ncommunes:\n  - id: lyon\n    name: Lyon\n    kind: municipal\n    colour: blue\n",
        encoding="utf-8",
    )
    result = run("serve", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert "bad.yaml:9" in result.stderr and "colour" in result.stderr
    assert "nothing was started" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


COMMANDS = [
    "demo", "serve", "api", "config check", "login", "logout", "whoami", "sim render", "sim serve",
    "audit export", "audit verify", "audit head", "audit report", "audit keys", "audit rotate-key",
    "compliance status", "compliance register",
    "activation request", "activation approve", "activation revoke", "activation list", "stop", "resume",
    "hold place", "hold lift", "hold list", "recording register", "recording purge",
    "export create", "export transmitted", "export verify", "models list", "models add", "models install",
    "eval mot", "eval detect", "eval plates", "eval events", "calibrate",
    "alerts list", "alerts confirm", "alerts dismiss", "alerts stats", "statistics",
    "users create-admin", "users add", "users list", "users reset-password", "users update", "users share",
    "backup create", "backup restore", "cluster nodes", "cluster drain", "cluster undrain", "cluster live-key",
    "cluster stop-recording",
    "lapi lists import", "lapi lists history", "lapi matches", "lapi crop", "lapi counts", "lapi hold", "lapi release",
    "cameras credentials set", "cameras credentials list", "cameras credentials remove",
    "devices discover", "devices describe", "devices onboard",
    "webhooks enable", "deploy firewall",
]  # fmt: skip
"""Every command the README and docs name, in the order ``vigie --help`` lists them (issue 16 moved the parsers
into one module per family: none may be lost, renamed or reordered)."""


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> dict[str, argparse.ArgumentParser]:
    """Every runnable command (a parser without subcommands) by its words after ``vigie``."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        return {" ".join(path): parser}
    found: dict[str, argparse.ArgumentParser] = {}
    for group in groups:
        for name, sub in group.choices.items():
            found |= _leaves(sub, (*path, name))
    return found


def test_help_lists_every_command_in_order() -> None:
    result = run("--help")
    assert result.returncode == 0
    listed = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("    ") and line[4] != " "]
    assert listed == list(dict.fromkeys(c.split()[0] for c in COMMANDS))


def test_every_command_runs_a_function_of_its_family_module() -> None:
    from vigie.cli import FAMILIES, build_parser

    leaves = _leaves(build_parser())
    assert list(leaves) == COMMANDS
    families = {family.__name__ for family in FAMILIES}
    for command, parser in leaves.items():
        handler = parser.get_default("handler")
        assert callable(handler) and not isinstance(handler, str), command
        assert handler.__module__ in families, (command, handler.__module__)


def test_the_parsers_load_no_database_video_or_web_library() -> None:
    """``vigie --help`` stays instant: the handlers import what a command needs when it runs."""
    heavy = ["sqlalchemy", "av", "numpy", "cv2", "pydantic", "fastapi", "yaml", "cryptography", "onnxruntime"]
    probe = (
        "import sys; from vigie.cli import build_parser; build_parser(); "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]"


def test_times_without_zone_are_paris_time_and_dates_cover_whole_days() -> None:
    from vigie.cli.arguments import TimeArgumentError, parse_when

    assert parse_when("2026-06-01").isoformat() == "2026-05-31T22:00:00+00:00"
    assert parse_when("2026-06-01", end_of_day=True).isoformat() == "2026-06-01T22:00:00+00:00"
    assert parse_when("2026-12-01T10:00").isoformat() == "2026-12-01T09:00:00+00:00"
    assert parse_when("2026-12-01T10:00Z").isoformat() == "2026-12-01T10:00:00+00:00"
    with pytest.raises(TimeArgumentError, match="2026-11-28T14:30"):
        parse_when("tomorrow")


def test_serve_refuses_a_camera_whose_model_is_not_installed(tmp_path: Path) -> None:
    from tests.support.configs import camera_yaml, config_yaml

    camera = camera_yaml("cam", "file:///nowhere.mp4").replace(
        "            authorisation:", "            analysis: {detector: yolox_nano}\n            authorisation:"
    )
    config = tmp_path / "vigie.yaml"
    config.write_text(config_yaml(tmp_path, camera), encoding="utf-8")
    result = run("serve", "--config", str(config))
    assert result.returncode == 2
    assert "model 'yolox_nano' (analysis.detector), which is not installed" in result.stderr
    assert "vigie models install yolox_nano" in result.stderr
