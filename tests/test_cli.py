"""The ``vigie`` command as a user types it (real subprocesses of the installed entry point)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
