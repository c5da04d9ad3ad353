"""`vigie config check`: exit codes, where output goes, and that nothing is written."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from config_samples import BASE, replace_once

from vigie.config import check_command, check_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def snapshot(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in root.rglob("*")}


def test_valid_file_prints_ok_and_exits_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "vigie.yaml"
    config.write_text(BASE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    assert check_command(config) == 0
    out, err = capsys.readouterr()
    assert out == "OK: 1 communes, 2 cameras\n"
    assert err == ""
    assert snapshot(tmp_path) == before  # not even var/ or the SQLite file of the default storage


def test_invalid_file_prints_issues_to_stderr_and_exits_two(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "vigie.yaml"
    config.write_text(
        replace_once(BASE, "retention_days: 15\n            zones", "retention_days: 31\n            zones")
    )
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    assert check_command(config) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0].startswith(f"{config}:27:15: communes.0.sites.0.cameras.0.authorisation.retention_days: ")
    assert len(lines) == 1
    assert snapshot(tmp_path) == before


def test_examples_from_the_docs(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_command(EXAMPLES / "metropole.yaml") == 0
    assert capsys.readouterr().out == "OK: 3 communes, 7 cameras\n"
    assert check_command(EXAMPLES / "invalid.yaml") == 2
    assert len(capsys.readouterr().err.splitlines()) == 9


def test_streams_can_be_given_explicitly() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert check_command(EXAMPLES / "metropole.yaml", stdout=out, stderr=err) == 0
    assert out.getvalue().startswith("OK:") and err.getvalue() == ""


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_command(tmp_path / "absent.yaml") == 2
    assert "absent.yaml: file not found" in capsys.readouterr().err
    assert not (tmp_path / "absent.yaml").exists()


def test_directory_and_non_utf8_and_empty(tmp_path: Path) -> None:
    assert "directory" in check_config(tmp_path)[0].message
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes("version: 1\n# Belvédère\n".encode("latin-1"))
    issue = check_config(latin)[0]
    assert "UTF-8" in issue.message and issue.line == 2
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert "empty" in check_config(empty)[0].message


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "secret.yaml"
    config.write_text(BASE)

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    issue = check_config(config)[0]
    assert issue.message == "cannot read the file: Permission denied"
    assert issue.line is None
