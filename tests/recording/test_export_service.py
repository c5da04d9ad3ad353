"""The export use case (authorise → export → audit) and the ``vigie export`` commands end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.cli_accounts import signed_in_world
from tests.support.clocks import FakeClock
from tests.support.configs import authorised_around, camera_yaml, config_yaml
from vigie.cli.commands.audit import keys_command
from vigie.cli.commands.exports import export_create_command, export_verify_command
from vigie.config.loader import load_config
from vigie.domain.actor import Actor
from vigie.domain.audit import AuditAction, AuditEvent, AuditRecord
from vigie.governance.audit import AuditKeyring
from vigie.services.exports import ExportRefused, ExportService
from vigie.storage import SqlAuditStore
from vigie.storage.database import create_engine_for
from vigie.storage.recording import SqlSegmentIndex
from vigie.storage.segment_store import FileSegmentStore

from .export_samples import CAMERAS, ListAuditSink, MemorySegmentIndex, record

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
FIELDS = {"requested_by": Actor("agent 4521"), "reason": "rixe", "requisition_ref": "PV 2026/77"}


def service(tmp_path: Path, audit: ListAuditSink) -> ExportService:
    root = tmp_path / "store"
    index = MemorySegmentIndex(record(root, "cam-001", [(T0, 2)]))
    signer = AuditKeyring(tmp_path / "keys").current_signer()
    return ExportService(index, FileSegmentStore(root), signer, audit, CAMERAS.values(), lambda: NOW)


def test_an_export_is_audited_with_its_manifest_digest(tmp_path: Path) -> None:
    audit = ListAuditSink()
    start, end = T0, T0 + timedelta(seconds=2)
    result = service(tmp_path, audit).export(["cam-001"], start, end, out_dir=tmp_path / "out", **FIELDS)
    [event] = audit.events
    assert (event.action, event.actor, event.target) == (AuditAction.EXPORT, "agent 4521", "cam-001")
    assert event.details["outcome"] == "exported" and event.details["manifest_sha256"] == result.manifest_sha256
    assert event.details["requisition_ref"] == "PV 2026/77" and event.details["reason"] == "rixe"
    assert event.details["start"] == "2026-11-28T12:00:00.000000Z" and event.details["cameras"] == ["cam-001"]
    assert event.details["files"][0]["sha256"] == result.files[0].sha256


def test_refusals_are_audited_too(tmp_path: Path) -> None:
    audit = ListAuditSink()
    with pytest.raises(ExportRefused, match="requisition"):
        service(tmp_path, audit).export(
            ["cam-001"], T0, T0 + timedelta(seconds=2), Actor("agent 4521"), "rixe", "", tmp_path / "out"
        )
    [event] = audit.events
    assert event.action == AuditAction.EXPORT and event.details["outcome"] == "refused"
    assert "requisition reference is required" in event.details["error"]
    assert not (tmp_path / "out").exists()


def test_no_export_survives_without_its_audit_entry(tmp_path: Path) -> None:
    class BrokenSink:
        def append(self, event: AuditEvent) -> AuditRecord:
            raise RuntimeError("audit database unreachable")

    with pytest.raises(RuntimeError, match="unreachable"):
        service(tmp_path, BrokenSink()).export(  # type: ignore[arg-type]
            ["cam-001"], T0, T0 + timedelta(seconds=2), out_dir=tmp_path / "out", **FIELDS
        )
    assert not (tmp_path / "out").exists()


def test_commands_export_and_verify_offline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``vigie export create`` exports as the signed-in account (L13), never under a name typed on the command line;
    an account without the export permission is refused, and the refusal is audited."""
    config_path = tmp_path / "vigie.yaml"
    camera = camera_yaml("cam-001", "rtsp://cam-001.example.invalid/s", valid=authorised_around(NOW.date()))
    config_path.write_text(config_yaml(tmp_path, camera))
    config = load_config(config_path)
    assert keys_command(config_path, tmp_path / "pub") == 0  # creates the database and the signing key
    store = FileSegmentStore(config.storage.data_dir / "segments")
    engine = create_engine_for(config.storage.database_url)
    index = SqlSegmentIndex(engine)
    for segment in record(store.root, "cam-001", [(T0, 4)]):
        index.add(segment)
    out = tmp_path / "export"
    end = T0 + timedelta(seconds=3)
    with signed_in_world(config_path, tmp_path / "sessions", FakeClock(NOW), monkeypatch) as accounts:
        accounts.add("erin", "operator")
        accounts.add("ivan", "investigator")
        accounts.sign_in("erin")
        capsys.readouterr()
        assert export_create_command(config_path, ["cam-001"], T0, end, out, "rixe", "PV 2026/77") == 1
        assert "do not allow export" in capsys.readouterr().err and not out.exists()
        accounts.sign_in("ivan")
        code = export_create_command(config_path, ["cam-001"], T0, end, out, "rixe", "PV 2026/77")
        assert code == 0, capsys.readouterr().err
        assert "manifest sha256" in capsys.readouterr().out
        assert export_verify_command(out, [tmp_path / "pub"]) == 0
        assert capsys.readouterr().out.startswith("OK: 1 file(s)")
        mp4 = next(out.glob("*.mp4"))
        mp4.write_bytes(mp4.read_bytes()[:-1])
        assert export_verify_command(out, [tmp_path / "pub"]) == 1
        assert f"[size] {mp4.name}" in capsys.readouterr().out
        refused = export_create_command(config_path, ["cam-001"], T0, end, tmp_path / "x", " ", "PV 1")
        assert refused == 1 and "reason is required" in capsys.readouterr().err
    records = list(SqlAuditStore(engine).records())
    engine.dispose()
    exports = [(r.actor, r.details["outcome"]) for r in records if r.action == AuditAction.EXPORT.value]
    assert exports == [("ivan", "exported"), ("ivan", "refused")]
    denied = [r.actor for r in records if r.action == AuditAction.ACCESS_DENIED.value]
    assert denied == ["erin"]
