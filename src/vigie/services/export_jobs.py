"""Export jobs as the API shows them, and how they are written to the store every API process shares (issue 17).

A job is stored as a few columns (owner, state, progress, the process making it and when that process last said it
was alive) and a JSON document with the rest. The package path is stored relative to the exports workspace
(``<id>/<name>.zip``): any API process whose workspace is the same folder (the data folder on one host, a shared
folder in cluster mode) finds it.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from vigie.domain.export_jobs import ACTIVE_STATES, StoredExportJob
from vigie.recording.export import ExportedFile, ExportRequest, ExportResult
from vigie.services.export_package import PackageFile


class ExportState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ExportJob:
    """One export asked by a person, as it stands."""

    id: str
    owner: str
    camera_ids: tuple[str, ...]
    start: datetime
    end: datetime
    reason: str
    requisition_ref: str
    created_at: datetime
    state: ExportState = ExportState.QUEUED
    progress: float = 0.0
    """Fraction of the source segments copied and hashed, 0 to 1."""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: ExportResult | None = None
    package: PackageFile | None = None
    error: str | None = None
    transmitted_on: date | None = None
    """The day the package was handed to the prosecutor, once recorded (L5)."""
    cancel_requested: bool = False
    """Its owner asked to cancel it; the process making it stops at its next segment."""
    redacted: bool = False
    """Every person and vehicle blurred before packaging (an export for the press, an insurer): the package holds
    only the redacted files, with a manifest naming the model (docs/privacy.md)."""

    @property
    def request(self) -> ExportRequest:
        return ExportRequest(self.camera_ids, self.start, self.end, self.owner, self.reason, self.requisition_ref)

    @property
    def active(self) -> bool:
        return self.state in {ExportState.QUEUED, ExportState.RUNNING}


def stored(job: ExportJob, *, runner: str, heartbeat_at: datetime, root: Path) -> StoredExportJob:
    """``job`` as the store keeps it, made by ``runner`` (alive at ``heartbeat_at``), its package under ``root``."""
    document: dict[str, Any] = {
        "camera_ids": list(job.camera_ids),
        "start": job.start.isoformat(),
        "end": job.end.isoformat(),
        "reason": job.reason,
        "requisition_ref": job.requisition_ref,
        "started_at": _instant(job.started_at),
        "finished_at": _instant(job.finished_at),
        "error": job.error,
        "transmitted_on": job.transmitted_on.isoformat() if job.transmitted_on else None,
        "result": None if job.result is None else _result_document(job.result),
        "package": None if job.package is None else _package_document(job.package, root),
        "redacted": job.redacted,
    }
    return StoredExportJob(
        id=job.id,
        owner=job.owner,
        state=job.state.value,
        progress=job.progress,
        created_at=job.created_at,
        runner=runner,
        heartbeat_at=heartbeat_at,
        cancel_requested=job.cancel_requested,
        document=document,
    )


def job_of(record: StoredExportJob, root: Path) -> ExportJob:
    """The job a stored record describes; its package resolved under ``root``."""
    doc = record.document
    result, package = doc.get("result"), doc.get("package")
    return ExportJob(
        id=record.id,
        owner=record.owner,
        camera_ids=tuple(str(c) for c in doc["camera_ids"]),
        start=datetime.fromisoformat(doc["start"]),
        end=datetime.fromisoformat(doc["end"]),
        reason=str(doc["reason"]),
        requisition_ref=str(doc["requisition_ref"]),
        created_at=record.created_at,
        state=ExportState(record.state),
        progress=record.progress,
        started_at=_parse_instant(doc.get("started_at")),
        finished_at=_parse_instant(doc.get("finished_at")),
        result=None if result is None else _result_of(result, root / record.id),
        package=None if package is None else _package_of(package, root),
        error=doc.get("error"),
        transmitted_on=date.fromisoformat(doc["transmitted_on"]) if doc.get("transmitted_on") else None,
        cancel_requested=record.cancel_requested,
        redacted=bool(doc.get("redacted", False)),
    )


class MemoryExportJobs:
    """Export jobs in this process's memory: for a service without a database (tests, tools); the service keeps
    them in the database instead (:class:`vigie.storage.export_jobs.SqlExportJobs`)."""

    def __init__(self) -> None:
        self._jobs: dict[str, StoredExportJob] = {}
        self._lock = threading.Lock()

    def add(self, job: StoredExportJob) -> None:
        with self._lock:
            self._jobs[job.id] = job

    def get(self, job_id: str) -> StoredExportJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def owned_by(self, owner: str) -> list[StoredExportJob]:
        with self._lock:
            return [j for j in reversed(self._jobs.values()) if j.owner == owner]

    def active(self) -> list[StoredExportJob]:
        with self._lock:
            return [j for j in self._jobs.values() if j.state in ACTIVE_STATES]

    def finished_ids(self) -> list[str]:
        with self._lock:
            return [j.id for j in self._jobs.values() if j.state not in ACTIVE_STATES]

    def save(self, job: StoredExportJob, *, if_state: Sequence[str] = ()) -> bool:
        with self._lock:
            current = self._jobs.get(job.id)
            if current is None or (if_state and current.state not in if_state):
                return False
            self._jobs[job.id] = replace(job, cancel_requested=current.cancel_requested or job.cancel_requested)
            return True

    def request_cancel(self, job_id: str) -> bool:
        with self._lock:
            current = self._jobs.get(job_id)
            if current is None or current.state not in ACTIVE_STATES:
                return False
            self._jobs[job_id] = replace(current, cancel_requested=True)
            return True

    def beat(self, runner: str, at: datetime) -> None:
        with self._lock:
            for job_id, job in self._jobs.items():
                if job.runner == runner and job.state in ACTIVE_STATES:
                    self._jobs[job_id] = replace(job, heartbeat_at=at)

    def forget(self, job_ids: Sequence[str]) -> None:
        with self._lock:
            for job_id in job_ids:
                self._jobs.pop(job_id, None)


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_instant(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _result_document(result: ExportResult) -> dict[str, Any]:
    return {
        "files": [
            {
                "name": f.name,
                "camera_id": f.camera_id,
                "start": f.start.isoformat(),
                "end": f.end.isoformat(),
                "sha256": f.sha256,
                "bytes": f.bytes,
                "segments": f.segments,
            }
            for f in result.files
        ],
        "directory": result.directory.name,
        "cameras_without_footage": list(result.cameras_without_footage),
        "manifest_sha256": result.manifest_sha256,
        "key_id": result.key_id,
    }


def _result_of(doc: Mapping[str, Any], folder: Path) -> ExportResult:
    files = tuple(
        ExportedFile(
            name=str(f["name"]),
            camera_id=str(f["camera_id"]),
            start=datetime.fromisoformat(f["start"]),
            end=datetime.fromisoformat(f["end"]),
            sha256=str(f["sha256"]),
            bytes=int(f["bytes"]),
            segments=int(f["segments"]),
        )
        for f in doc["files"]
    )
    return ExportResult(
        directory=folder / str(doc["directory"]),
        files=files,
        cameras_without_footage=tuple(str(c) for c in doc["cameras_without_footage"]),
        manifest_sha256=str(doc["manifest_sha256"]),
        key_id=str(doc["key_id"]),
    )


def _package_document(package: PackageFile, root: Path) -> dict[str, Any]:
    try:
        where = package.path.relative_to(root).as_posix()
    except ValueError:  # made outside the workspace (never by the service): kept as is
        where = str(package.path)
    return {"file": where, "name": package.name, "sha256": package.sha256, "bytes": package.bytes}


def _package_of(doc: Mapping[str, Any], root: Path) -> PackageFile:
    return PackageFile(root / str(doc["file"]), str(doc["name"]), str(doc["sha256"]), int(doc["bytes"]))
