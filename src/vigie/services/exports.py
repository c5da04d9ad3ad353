"""Exporting footage for a requisition: authorise → export → audit (L13, L14).

Every attempt is in the audit log, refusals included. An export whose audit entry cannot be written is removed:
there is never an export without its trace. Roles and tenants arrive with issue #7; :meth:`ExportService._authorise`
is where they will be checked, with ``requested_by`` becoming the authenticated user.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from vigie import __version__
from vigie.config.camera import Camera
from vigie.domain.audit import AuditAction, AuditEvent, format_time
from vigie.domain.ports import AuditSink
from vigie.domain.recording import SegmentIndex, SegmentStore
from vigie.recording.export import ExportError, ExportRefused, ExportRequest, ExportResult, VideoExporter
from vigie.recording.manifest import CameraIdentity, ManifestSigner

__all__ = ["ExportError", "ExportRefused", "ExportResult", "ExportService"]


class ExportService:
    """The only way footage leaves the platform as files."""

    def __init__(  # noqa: PLR0917 - the documented positional order: the collaborators of the use case, each injected by the runtime
        self,
        index: SegmentIndex,
        store: SegmentStore,
        signer: ManifestSigner,
        audit: AuditSink,
        cameras: Iterable[Camera | CameraIdentity],
        clock: Callable[[], datetime],
        software_version: str = __version__,
    ) -> None:
        self._exporter = VideoExporter(index, store, signer, software_version)
        self._audit = audit
        self._cameras = {c.id: CameraIdentity.of(c) for c in cameras}
        self._clock = clock

    def export(  # noqa: PLR0917 - the documented positional order: the fields of a requisition, all required (L13)
        self,
        camera_ids: Sequence[str],
        start: datetime,
        end: datetime,
        requested_by: str,
        reason: str,
        requisition_ref: str,
        out_dir: Path,
    ) -> ExportResult:
        """Export ``camera_ids`` over [start, end) into ``out_dir``; raise :class:`ExportError` when refused."""
        request = ExportRequest(tuple(camera_ids), start, end, requested_by, reason, requisition_ref)
        try:
            self._authorise(request)
            result = self._exporter.export(request, self._cameras, out_dir, self._clock())
        except ExportError as err:
            self._record(request, {"outcome": "refused", "error": str(err)})
            raise
        try:
            self._record(request, _success_details(result))
        except BaseException:
            shutil.rmtree(out_dir, ignore_errors=True)
            raise
        return result

    def _authorise(self, request: ExportRequest) -> None:
        request.check()
        unknown = [c for c in request.camera_ids if c not in self._cameras]
        if unknown:
            raise ExportRefused(f"export refused: unknown camera(s) {', '.join(unknown)}")

    def _record(self, request: ExportRequest, outcome: dict[str, Any]) -> None:
        details: dict[str, Any] = {
            "cameras": list(request.camera_ids),
            "start": _time(request.start),
            "end": _time(request.end),
            "reason": request.reason,
            "requisition_ref": request.requisition_ref,
            **outcome,
        }
        actor = request.requested_by.strip() or "unknown"
        target = ",".join(request.camera_ids) or "-"
        self._audit.append(AuditEvent(actor=actor, action=AuditAction.EXPORT, target=target, details=details))


def _success_details(result: ExportResult) -> dict[str, Any]:
    return {
        "outcome": "exported",
        "manifest_sha256": result.manifest_sha256,
        "key_id": result.key_id,
        "files": [{"name": f.name, "sha256": f.sha256, "bytes": f.bytes} for f in result.files],
        "cameras_without_footage": list(result.cameras_without_footage),
    }


def _time(at: datetime) -> str | None:
    return format_time(at) if at.tzinfo is not None else None
