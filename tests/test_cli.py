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


def _handlers(parser: argparse.ArgumentParser) -> set[str]:
    found = {parser.get_default("handler")} - {None}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _handlers(sub)
    return found


def test_every_command_has_a_handler() -> None:
    from vigie.cli import _parser
    from vigie.runtime import commands

    handlers = _handlers(_parser())
    assert len(handlers) > 20
    assert [h for h in sorted(handlers) if not callable(getattr(commands, h, None))] == []


def test_times_without_zone_are_paris_time_and_dates_cover_whole_days() -> None:
    from vigie.runtime.commands import TimeArgumentError, parse_when

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
