"""The ``vigie audit`` command functions, end to end on a SQLite configuration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.clocks import StepClock
from vigie.cli.commands.audit import export_command, keys_command, rotate_key_command, verify_command
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.governance.audit import AuditChain, AuditKeyring
from vigie.storage import SqlAuditStore, create_engine_for, migrate

SINCE = datetime(2000, 1, 1, tzinfo=UTC)
UNTIL = datetime.now(UTC) + timedelta(days=1)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "vigie.yaml"
    path.write_text(
        f"version: 1\nstorage:\n  database_url: sqlite:///{tmp_path / 'vigie.db'}\n  data_dir: {tmp_path / 'var'}\n"
    )
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(engine)
    chain = AuditChain(
        SqlAuditStore(engine), AuditKeyring(tmp_path / "var" / "keys"), checkpoint_every=5, clock=StepClock()
    )
    for n in range(12):
        chain.append(AuditEvent("user:alice", AuditAction.PLAYBACK, f"camera:cam-{n}", {"n": n}))
    engine.dispose()
    return path


def test_export_keys_verify_round_trip(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "audit.jsonl"
    assert export_command(config, SINCE, UNTIL, out) == 0
    assert keys_command(config, tmp_path / "pub") == 0
    capsys.readouterr()
    assert verify_command(out, [tmp_path / "pub"]) == 0
    verdict = capsys.readouterr().out
    assert verdict.startswith("OK: 15 entries seq 1..15, signed by key ")

    lines = out.read_text().splitlines()
    lines[4] = lines[4].replace("alice", "mallory")
    out.write_text("\n".join(lines) + "\n")
    assert verify_command(out, [tmp_path / "pub"]) == 1
    report = capsys.readouterr().out
    assert "[modified] line 5 (seq 4): modified" in report


def test_rotation_then_export_verifies_with_both_keys(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert rotate_key_command(config) == 0
    out = tmp_path / "audit.jsonl"
    assert export_command(config, SINCE, UNTIL, out) == 0
    assert keys_command(config, tmp_path / "pub") == 0
    pems = sorted((tmp_path / "pub").glob("*.pem"))
    assert len(pems) == 2
    assert verify_command(out, pems) == 0
    capsys.readouterr()
    only_one = [p for p in pems if p.stem not in out.read_text().splitlines()[0]]
    assert verify_command(out, only_one) == 1
    assert "was not given" in capsys.readouterr().out


def test_verify_needs_no_configuration_and_reports_bad_key_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    (tmp_path / "e.jsonl").write_text("garbage\n")
    assert verify_command(tmp_path / "e.jsonl", [bad]) == 2
    assert "cannot use public key" in capsys.readouterr().err
    assert verify_command(tmp_path / "e.jsonl", []) == 1


def test_invalid_configuration_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nstorage:\n  nope: 1\n")
    assert export_command(path, SINCE, UNTIL, tmp_path / "x.jsonl") == 2
    assert "invalid" in capsys.readouterr().err
