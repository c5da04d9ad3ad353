"""``vigie audit report`` end to end on a real database and key, with times we control; and the auditor's side:
keys, export and offline verification through the real ``vigie`` command."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.clocks import StepClock
from vigie.cli.commands.audit_report import signature_path, verify_report
from vigie.config import load_config
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.governance.audit import load_public_key
from vigie.governance.audit.signing import key_id_of
from vigie.runtime.assembly.audit import open_audit_sink
from vigie.storage import create_engine_for, migrate

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "vigie.yaml"
    path.write_text(
        f"version: 1\nstorage:\n  database_url: sqlite:///{tmp_path / 'vigie.db'}\n  data_dir: {tmp_path / 'data'}\n"
        "governance:\n  controller: Ville de Testville\n",
        encoding="utf-8",
    )
    return path


def record_gate(config_file: Path, *events: tuple[float, AuditAction, str]) -> None:
    config = load_config(config_file)
    engine = create_engine_for(config.storage.database_url)
    migrate(engine)
    chain = open_audit_sink(config, engine, StepClock())
    for minutes, action, camera in events:
        details = {"module": "intrusion", "camera_id": camera, "activation_id": "7", "reason": "test"}
        chain.append(AuditEvent("system:gate", action, f"camera:{camera}", details, T0 + timedelta(minutes=minutes)))
    engine.dispose()


def vigie(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vigie.cli", *args], capture_output=True, text=True, check=False)


def test_report_shows_the_intervals_and_is_signed(config_file: Path, tmp_path: Path) -> None:
    record_gate(
        config_file,
        (10, AuditAction.GATE_OPENED, "cam-1"),
        (70, AuditAction.GATE_CLOSED, "cam-1"),
    )
    out = tmp_path / "report.html"
    result = vigie(
        "audit", "report", "--config", str(config_file), "--from", "2026-06-01", "--to", "2026-06-01", "-o", str(out)
    )
    assert result.returncode == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    assert "cam-1" in html and "01/06/2026 10:10:00" in html and "01/06/2026 11:10:00" in html
    assert "Ville de Testville" in html
    assert "<strong>abandoned_object</strong>: n'a fonctionné sur aucune caméra" in html

    keys_dir = tmp_path / "pub"
    assert vigie("audit", "keys", "--config", str(config_file), "-o", str(keys_dir)).returncode == 0
    keys = {key_id_of(load_public_key(p.read_text())): p.read_text() for p in keys_dir.glob("*.pem")}
    assert verify_report(out, keys) is None
    out.write_text(html.replace("cam-1", "cam-9"), encoding="utf-8")
    assert verify_report(out, keys) == "the report was modified after it was signed"
    assert signature_path(out).exists()


def test_export_then_verify_offline_with_the_cli(config_file: Path, tmp_path: Path) -> None:
    record_gate(config_file, (1, AuditAction.GATE_OPENED, "cam-1"), (2, AuditAction.GATE_CLOSED, "cam-1"))
    export = tmp_path / "audit.jsonl"
    result = vigie(
        "audit", "export", "--config", str(config_file), "--from", "2026-01-01", "--to", "2030-01-01", "-o", str(export)
    )
    assert result.returncode == 0, result.stderr
    keys_dir = tmp_path / "pub"
    vigie("audit", "keys", "--config", str(config_file), "-o", str(keys_dir))
    ok = vigie("audit", "verify", str(export), "--pubkey", str(keys_dir))
    assert ok.returncode == 0 and ok.stdout.startswith("OK:"), ok.stdout + ok.stderr
    lines = export.read_text(encoding="utf-8").splitlines(keepends=True)
    export.write_text("".join(lines[:2] + lines[3:]), encoding="utf-8")  # delete one entry
    bad = vigie("audit", "verify", str(export), "--pubkey", str(keys_dir))
    assert bad.returncode == 1 and "deleted" in bad.stdout


def test_bad_times_are_explained(config_file: Path, tmp_path: Path) -> None:
    result = vigie(
        "audit", "report", "--config", str(config_file), "--from", "yesterday", "--to", "2026-06-01", "-o", "x"
    )
    assert result.returncode == 2 and "2026-11-28T14:30" in result.stderr
