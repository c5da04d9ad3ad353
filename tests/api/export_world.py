"""Exports for API tests: the real service on the world's SQL segment index, a file segment store and an export
workspace beside the SQLite file of the test, signed with the world's audit key."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from vigie.domain.camera import CameraInfo
from vigie.domain.ports import AuditSink
from vigie.domain.recording import SegmentStore
from vigie.governance.audit import AuditKeyring
from vigie.recording.manifest import CameraIdentity
from vigie.services.exports import ExportService, ExportWorkspace
from vigie.services.redacted_copies import ExportRedactor
from vigie.storage.audit_query import SqlAuditReader
from vigie.storage.recording import SqlDestructionRegister, SqlSegmentIndex
from vigie.storage.segment_store import FileSegmentStore


def data_dir_of(engine: Engine) -> Path:
    """Beside the SQLite file of the test (a tmp_path), or a fresh temporary folder."""
    database = engine.url.database
    if database and database != ":memory:":
        return Path(database).parent
    return Path(tempfile.mkdtemp(prefix="vigie-test-exports-"))


def camera_identity(camera: CameraInfo) -> CameraIdentity:
    location = camera.location
    if location is None:
        return CameraIdentity(camera.id, camera.name)
    return CameraIdentity(camera.id, camera.name, location.lat, location.lon, location.address)


def open_test_exports(
    engine: Engine,
    audit: AuditSink,
    clock: Callable[[], datetime],
    keyring: AuditKeyring,
    cameras: Iterable[CameraInfo],
    *,
    waiting_per_person: int = 3,
    store: SegmentStore | None = None,
    redactor: ExportRedactor | None = None,
) -> ExportService:
    """Segments under ``<data dir>/segments`` unless ``store`` is given (index them in the engine's SQL index),
    packages under ``<data dir>/exports``; transmissions into the engine's destruction register, earlier exports
    found in its audit log; exports asked redacted blurred by ``redactor`` (none: refused)."""
    root = data_dir_of(engine)
    workspace = ExportWorkspace(root / "exports", keyring.public_keys, waiting_per_person=waiting_per_person)
    return ExportService(
        SqlSegmentIndex(engine),
        store or FileSegmentStore(root / "segments"),
        keyring.current_signer(),
        audit,
        [camera_identity(c) for c in cameras],
        clock,
        workspace=workspace,
        register=SqlDestructionRegister(engine),
        history=SqlAuditReader(engine),
        redactor=redactor,
    )
