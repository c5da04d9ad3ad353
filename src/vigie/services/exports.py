"""Exporting footage for a requisition: authorise → export → audit (L13, L14).

Two ways in:

- :meth:`ExportService.export`, synchronous, for ``vigie export create`` on the server (the actor is the account
  signed in with ``vigie login``).
- On behalf of a logged-in person (the API): :meth:`ExportService.submit_as` checks the export permission with
  the person's authorisation and training (L8, L9), that every camera is one they may see (L10: otherwise the
  answer is the one for a camera that does not exist), the reason and requisition reference (L13) and that
  something was recorded, then queues a job. A few worker threads run the jobs; each ends as one zip package
  (manifest, signature, MP4 files: :mod:`vigie.services.export_package`) with its SHA-256, under
  ``<workspace>/<id>/``. Jobs are kept under an unguessable id in a store every API process shares (the
  database: an export asked on one process is listed, cancelled and downloaded through any other, issue 17) and
  only their owner sees them; a download, a verification and a cancellation are audited. A job whose process
  stopped saying it is alive for ``STALE_AFTER`` is failed, with that reason, by the next process that looks.

Handing an export to the prosecutor is recorded afterwards (L5, R252-11): :meth:`ExportService.record_transmission_as`
takes the day and the requisition reference, writes that day into the destruction register line of every recording
the export was made from (still indexed), and audits it (``video.export`` with ``outcome: transmitted``). An export
is found by the id the API gave it, or by its manifest's SHA-256 (``vigie export create`` prints it); after a
restart, from its audit entry.

Every attempt is in the audit log, refusals included. An export whose audit entry cannot be written is removed:
there is never an export without its trace. Packages stay in the workspace until the periodic purge
(``storage.export_package_days``) removes them, audited.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import IO, Any, Final

from vigie import __version__
from vigie.config.camera import Camera
from vigie.domain.actor import Actor
from vigie.domain.audit import AuditAction, AuditEvent, format_time
from vigie.domain.audit_query import AuditLogReader, AuditQuery
from vigie.domain.clock import LEGAL_TIME_ZONE, legal_day
from vigie.domain.export_jobs import ACTIVE_STATES, ExportJobStore
from vigie.domain.ports import AuditSink
from vigie.domain.recording import DestructionRegister, SegmentIndex, SegmentStore
from vigie.domain.users import Permission
from vigie.recording.export import ExportError, ExportRefused, ExportRequest, ExportResult, VideoExporter
from vigie.recording.manifest import CameraIdentity, ManifestSigner
from vigie.services.access import NotVisibleError, Principal
from vigie.services.export_jobs import ExportJob, ExportState, MemoryExportJobs, job_of, stored
from vigie.services.export_package import (
    PackageFile,
    PackageRefused,
    PackageVerification,
    sha256_of,
    verify_package,
    write_package,
)
from vigie.services.redacted_copies import ExportRedactor

__all__ = [
    "ExportBusyError",
    "ExportError",
    "ExportJob",
    "ExportNotReadyError",
    "ExportRefused",
    "ExportResult",
    "ExportService",
    "ExportState",
    "ExportWorkspace",
    "ExportsUnavailableError",
    "PackageRefused",
    "PackageVerification",
    "Transmission",
]

log = logging.getLogger(__name__)


HEARTBEAT_EVERY_S: Final = 5.0
"""How often a process making exports says so in the store."""
STALE_AFTER: Final = timedelta(seconds=60)
"""An export whose process has not said it is alive for this long is failed by the next process that looks."""


class ExportNotReadyError(Exception):
    """The export has no package (yet, or ever): its state says which."""


class ExportBusyError(Exception):
    """Too many exports waiting: the person has to wait for theirs to finish."""


class ExportsUnavailableError(Exception):
    """This server makes no exports on behalf of people (no workspace was configured)."""


class _Cancelled(Exception):
    """The service is stopping: the export in progress is abandoned, and nothing of it is left."""


@dataclass(frozen=True, slots=True)
class ExportWorkspace:
    """Where and how the exports asked through the API are made."""

    root: Path
    """``<data_dir>/exports``: one folder per export, holding its package."""
    public_keys: Callable[[], Mapping[str, str]]
    """Trusted public keys (PEM by key id) for verification: every key the installation ever signed with."""
    workers: int = 1
    """Exports made at the same time (each reads and hashes every source segment: disk-bound)."""
    waiting_per_person: int = 3
    """Queued or running exports one person may have."""
    waiting: int = 20
    """Queued or running exports in all."""
    kept_jobs: int = 500
    """Finished jobs remembered (the oldest are forgotten first; their packages stay on disk)."""
    max_upload_bytes: int = 8 * 2**30
    """Largest package accepted for verification, and most bytes one may inflate to when checked (read as a
    stream, never unpacked: see :mod:`vigie.services.export_package` for the ratio bound)."""


@dataclass(frozen=True, slots=True)
class Transmission:
    """An export handed to the prosecutor (L5, R252-11), as recorded."""

    export_id: str
    camera_ids: tuple[str, ...]
    start: datetime
    end: datetime
    requisition_ref: str
    transmitted_on: date
    recorded_by: str
    recordings: int
    """Register lines written: the recordings of the export's cameras and range still indexed."""


@dataclass(frozen=True, slots=True)
class _Exported:
    """What the transmission needs of an export made earlier: from the job in memory or from its audit entry."""

    export_id: str
    camera_ids: tuple[str, ...]
    start: datetime
    end: datetime
    requisition_ref: str
    made_at: datetime
    manifest_sha256: str | None


TRANSMISSION_NOON: Final = time(12, 0)
"""A transmission is recorded for a day (R252-11 asks for the date): the register stores it as noon, Paris time."""


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
        *,
        workspace: ExportWorkspace | None = None,
        register: DestructionRegister | None = None,
        history: AuditLogReader | None = None,
        jobs: ExportJobStore | None = None,
        redactor: ExportRedactor | None = None,
    ) -> None:
        """``register``: the destruction register, where transmissions to the prosecutor are written (L5);
        ``history``: the audit log, where an export made by another process (``vigie export create``, or before a
        restart) is found by its id or manifest SHA-256. Without ``register`` transmissions are refused (503).
        ``jobs``: where the jobs asked through the API are kept (the runtime gives the database's table, shared by
        every API process; default: this process's memory). ``redactor``: what blurs the persons and vehicles of
        an export asked redacted (none: such exports are refused)."""
        self._register = register
        self._history = history
        self._index = index
        self._exporter = VideoExporter(index, store, signer, software_version)
        self._audit = audit
        self._cameras = {c.id: CameraIdentity.of(c) for c in cameras}
        self._clock = clock
        self._space = workspace
        self._jobs: ExportJobStore = MemoryExportJobs() if jobs is None else jobs
        self._redactor = redactor
        self._runner = f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"
        """This process's name in the store: the host and process make a stale job readable, the token makes it
        unique across restarts."""
        self._closing = threading.Event()
        self._workers = _Workers(self._run, workspace.workers if workspace else 1, beat=self._beat)

    def export(  # noqa: PLR0917 - the documented positional order: the fields of a requisition, all required (L13)
        self,
        camera_ids: Sequence[str],
        start: datetime,
        end: datetime,
        requested_by: Actor,
        reason: str,
        requisition_ref: str,
        out_dir: Path,
    ) -> ExportResult:
        """Export ``camera_ids`` over [start, end) into ``out_dir``; raise :class:`ExportError` when refused."""
        who = requested_by.name if requested_by.person else ""  # nobody named: refused below (L13)
        request = ExportRequest(tuple(camera_ids), start, end, who, reason, requisition_ref)
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

    # --- on behalf of a logged-in person: permission, tenant and ownership checked here, for every route ----------

    def submit_as(
        self,
        principal: Principal,
        *,
        camera_ids: Sequence[str],
        start: datetime,
        end: datetime,
        reason: str,
        requisition_ref: str,
        redacted: bool = False,
    ) -> ExportJob:
        """Queue an export by ``principal``; refusals raise (and are audited), the export itself runs later.
        ``redacted``: every person and vehicle blurred before packaging (for the press, an insurer)."""
        principal.require(Permission.EXPORT)
        space = self._workspace()
        request = ExportRequest(tuple(camera_ids), start, end, principal.actor, reason.strip(), requisition_ref.strip())
        try:
            request.check()
            for camera_id in request.camera_ids:
                principal.require_camera(camera_id)
            self._authorise(request)
            self._check_footage(request)
            if redacted:
                self._check_redaction()
            job = self._enqueue(request, space, redacted=redacted)
        except (ExportRefused, NotVisibleError, ExportBusyError) as err:
            self._record(request, {"outcome": "refused", "error": str(err)})
            raise
        return job

    def record_refused_request(self, principal: Principal, fields: Mapping[str, Any], error: str) -> None:
        """Audit an export request refused before :meth:`submit_as` could read it (the API's 422: a date out of
        range, a missing field) like any other refusal: every attempt is in the audit log (L13, issue 15 D13).
        ``fields``: the request's raw JSON, recorded as text cut to each field's longest valid length."""
        cameras = fields.get("camera_ids")
        listed = [str(c)[:64] for c in cameras[:64]] if isinstance(cameras, list) else []
        details: dict[str, Any] = {
            "cameras": listed,
            **{name: _raw_text(fields.get(name), longest) for name, longest in _REQUEST_FIELDS},
            "outcome": "refused",
            "error": error[:4000],
        }
        target = ",".join(listed) or "-"
        self._audit.append(AuditEvent(actor=principal.actor, action=AuditAction.EXPORT, target=target, details=details))

    def list_for(self, principal: Principal, *, limit: int = 100, offset: int = 0) -> list[ExportJob]:
        """``principal``'s own exports, newest first."""
        principal.require(Permission.EXPORT)
        root = self._root()
        jobs = [self._alive_or_failed(job_of(r, root)) for r in self._jobs.owned_by(principal.actor)]
        mine = [j for j in jobs if self._owned(principal, j)]
        return mine[offset : offset + limit]

    def get_for(self, principal: Principal, export_id: str) -> ExportJob:
        principal.require(Permission.EXPORT)
        job = self._job(export_id)
        if job is None or not self._owned(principal, job):
            raise NotVisibleError(f"no export {export_id!r} among your exports")
        return job

    def cancel_as(self, principal: Principal, export_id: str) -> ExportJob:
        """Cancel an export of ``principal`` that is queued or running, on whichever process makes it: that
        process stops at its next segment and leaves nothing of it (the job then fails as cancelled, audited).
        The cancellation request itself is audited here. Returns the job as it stands."""
        job = self.get_for(principal, export_id)
        if not job.active or not self._jobs.request_cancel(job.id):
            now = self._job(job.id) or job
            raise ExportNotReadyError(f"export {job.id} is {now.state.value}: there is nothing left to cancel")
        self._audit.append(
            AuditEvent(
                actor=principal.actor,
                action=AuditAction.EXPORT,
                target=",".join(job.camera_ids),
                details={"outcome": "cancel_requested", "export": job.id, "requisition_ref": job.requisition_ref},
            )
        )
        return replace(job, cancel_requested=True)

    def download_as(self, principal: Principal, export_id: str) -> PackageFile:
        """The package of a finished export of ``principal``; the download is audited before anything is sent."""
        job = self.get_for(principal, export_id)
        package = _ready(job)
        if not package.path.is_file():
            raise NotVisibleError(f"the package of export {export_id} is no longer stored on this server")
        self._audit.append(
            AuditEvent(
                actor=principal.actor,
                action=AuditAction.EXPORT_DOWNLOADED,
                target=",".join(job.camera_ids),
                details={
                    "export": job.id,
                    "package": package.name,
                    "package_sha256": package.sha256,
                    "manifest_sha256": job.result.manifest_sha256 if job.result else None,
                    "requisition_ref": job.requisition_ref,
                },
            )
        )
        return package

    def verify_as(self, principal: Principal, export_id: str) -> PackageVerification:
        """Check the stored package of an export of ``principal`` again (audited: a failure is a security event)."""
        job = self.get_for(principal, export_id)
        package = _ready(job)
        target, details = ",".join(job.camera_ids), {"export": job.id}
        try:
            report = self._verify(package.path, package.sha256, package.name)
        except PackageRefused as refused:
            self._record_refused_verification(principal, target, details, refused)
            raise
        self._record_verification(principal, target, details, report)
        return report

    def check_can_verify(self, principal: Principal) -> None:
        """Investigators (export) and auditors or DPOs (audit log) may have any package checked by the server."""
        if not (principal.can(Permission.EXPORT) or principal.can(Permission.READ_AUDIT)):
            principal.require(Permission.EXPORT)  # raises, with why (role, or authorisation and training)

    def verify_upload_as(self, principal: Principal, upload: IO[bytes]) -> PackageVerification:
        """Check a package someone brings back (a copy given to a court, a USB key): the same verifier as
        ``vigie export verify``, against every public key of this installation. The upload is read as a stream,
        never unpacked; one that would inflate beyond the bounds of :mod:`vigie.services.export_package` (a zip
        bomb) raises :class:`PackageRefused`, audited as a failed verification."""
        self.check_can_verify(principal)
        try:
            report = self._verify(upload, None, "package")
        except PackageRefused as refused:
            self._record_refused_verification(principal, "upload", {}, refused)
            raise
        self._record_verification(principal, "upload", {}, report)
        return report

    @property
    def max_upload_bytes(self) -> int:
        return self._workspace().max_upload_bytes

    def purge_packages(self, keep: timedelta) -> int:
        """Delete the server's copies of export packages older than ``keep`` (the investigator has had them to
        download; a copy of footage is kept no longer than needed, L3). Exports queued or running are never
        touched. Each deletion is audited first (``video.deletion``, target ``export:<id>``, with the package's
        SHA-256): a package whose trace cannot be written stays. Return how many were deleted."""
        space = self._space
        if space is None or not space.root.is_dir():
            return 0
        now = self._clock().timestamp()
        busy = {j.id for j in self._jobs.active()}
        removed = 0
        for folder in sorted(space.root.iterdir()):
            if not folder.is_dir() or folder.name in busy:
                continue
            packages = sorted(folder.glob("*.zip"))
            newest = max((p.stat().st_mtime for p in packages), default=folder.stat().st_mtime)
            if now - newest < keep.total_seconds():
                continue
            details = {
                "reason": f"export package kept {keep.days} days",
                "packages": [_package_entry(p) for p in packages],
            }
            self._audit.append(AuditEvent("system:exports", AuditAction.DELETION, f"export:{folder.name}", details))
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
        return removed

    def record_transmission_as(
        self, principal: Principal, export_id: str, *, transmitted_on: date, requisition_ref: str
    ) -> Transmission:
        """Record that export ``export_id`` (the API's id, or the manifest's SHA-256) was handed to the prosecutor
        on ``transmitted_on`` under ``requisition_ref`` (L5): anyone who may export and sees every camera of the
        export (a colleague of the requester may be the one who hands it over). The day may not be in the future
        nor before the export was made, and the reference must be the export's own. Audited, then written into
        the destruction register line of every recording of the export still indexed."""
        principal.require(Permission.EXPORT)
        if self._register is None:
            raise ExportsUnavailableError("this server keeps no destruction register: transmissions are not recorded")
        exported = self._exported(export_id)
        for camera_id in exported.camera_ids:
            principal.require_camera(camera_id)
        reference = " ".join(requisition_ref.split())
        if not reference:
            raise ExportRefused("give the reference of the requisition the footage was handed over for (L5)")
        if reference.casefold() != " ".join(exported.requisition_ref.split()).casefold():
            raise ExportRefused(
                f"export {exported.export_id} was made for requisition {exported.requisition_ref!r}, not "
                f"{reference!r}: check the export, or make a new one for that requisition"
            )
        today = legal_day(self._clock)
        made_on = exported.made_at.astimezone(LEGAL_TIME_ZONE).date()
        if transmitted_on > today:
            raise ExportRefused(
                f"the transmission day {transmitted_on.isoformat()} is in the future (today is {today.isoformat()}): "
                "record it once the footage has been handed over"
            )
        if transmitted_on < made_on:
            raise ExportRefused(
                f"the transmission day {transmitted_on.isoformat()} is before the export was made "
                f"({made_on.isoformat()})"
            )
        segments = [s for c in exported.camera_ids for s in self._index.between(c, exported.start, exported.end)]
        at = datetime.combine(transmitted_on, TRANSMISSION_NOON, LEGAL_TIME_ZONE).astimezone(UTC)
        self._audit.append(
            AuditEvent(
                actor=principal.actor,
                action=AuditAction.EXPORT,
                target=",".join(exported.camera_ids),
                details={
                    "outcome": "transmitted",
                    "export": exported.export_id,
                    "manifest_sha256": exported.manifest_sha256,
                    "cameras": list(exported.camera_ids),
                    "start": _time(exported.start),
                    "end": _time(exported.end),
                    "requisition_ref": exported.requisition_ref,
                    "transmitted_on": transmitted_on.isoformat(),
                    "recordings": len(segments),
                },
            )
        )
        for segment in segments:
            self._register.record_transmission(segment, at)
        made = self._job(exported.export_id)
        if made is not None:
            self._write(replace(made, transmitted_on=transmitted_on), if_state=())
        return Transmission(
            exported.export_id,
            exported.camera_ids,
            exported.start,
            exported.end,
            exported.requisition_ref,
            transmitted_on,
            principal.actor,
            len(segments),
        )

    def _exported(self, export_id: str) -> _Exported:
        """The export made under ``export_id``: a finished job of this process, else its audit entry."""
        wanted = export_id.strip().lower()
        if len(wanted) not in {32, 64} or any(c not in "0123456789abcdef" for c in wanted):
            raise NotVisibleError(f"no export {export_id!r}: give the export's id or its manifest's SHA-256")
        job = self._job(wanted) if len(wanted) == 32 else None
        if job is not None:
            if job.state is not ExportState.DONE or job.result is None:
                raise ExportNotReadyError(
                    f"export {job.id} is {job.state.value}: only a finished export is handed over"
                )
            made = job.finished_at or job.created_at
            return _Exported(
                job.id, job.camera_ids, job.start, job.end, job.requisition_ref, made, job.result.manifest_sha256
            )
        found = self._exported_in_history(wanted)
        if found is None:
            raise NotVisibleError(f"no export {export_id!r} made on this installation")
        return found

    def _exported_in_history(self, wanted: str) -> _Exported | None:
        if self._history is None:
            return None
        query, offset, page_size = AuditQuery(action=AuditAction.EXPORT.value), 0, 500
        while True:
            page = self._history.page(query, limit=page_size, offset=offset)
            for record in page:
                details = record.details
                if details.get("outcome") != "exported":
                    continue
                if wanted not in {details.get("export"), details.get("manifest_sha256")}:
                    continue
                try:
                    start = datetime.fromisoformat(str(details["start"]))
                    end = datetime.fromisoformat(str(details["end"]))
                    cameras = tuple(str(c) for c in details["cameras"])
                except (KeyError, TypeError, ValueError):
                    continue
                return _Exported(
                    str(details.get("export") or details.get("manifest_sha256")),
                    cameras,
                    start,
                    end,
                    str(details.get("requisition_ref", "")),
                    record.at,
                    str(details["manifest_sha256"]) if details.get("manifest_sha256") else None,
                )
            if len(page) < page_size:
                return None
            offset += page_size

    def close(self, timeout: float | None = 30.0) -> None:
        """Stop: exports not started fail with a reason, the ones running stop at their next segment (nothing of
        them is left) and their threads are joined."""
        self._closing.set()
        for job_id in self._workers.close(timeout):
            self._fail(job_id, "the server stopped before this export started: ask again", "cancelled")

    # --- the shared store ---------------------------------------------------------------------------------------

    def _root(self) -> Path:
        return self._space.root if self._space is not None else Path(".")

    def _job(self, job_id: str) -> ExportJob | None:
        record = self._jobs.get(job_id)
        return None if record is None else self._alive_or_failed(job_of(record, self._root()))

    def _alive_or_failed(self, job: ExportJob) -> ExportJob:
        """``job``, or, when the process making it has not said it is alive for ``STALE_AFTER`` (it died, or
        lost the database), the job failed with that reason (audited, once: only one process writes it)."""
        record = self._jobs.get(job.id) if job.active else None
        if record is None or record.runner == self._runner:
            return job
        if self._clock() - record.heartbeat_at <= STALE_AFTER:
            return job
        message = (
            f"the server process making this export ({record.runner}) stopped before it finished (last seen "
            f"{format_time(record.heartbeat_at)}): ask again"
        )
        failed = replace(job, state=ExportState.FAILED, finished_at=self._clock(), error=message)
        if self._jobs.save(
            stored(failed, runner=record.runner, heartbeat_at=record.heartbeat_at, root=self._root()),
            if_state=[record.state],
        ):
            log.warning(
                "export %s failed: its process %s was last seen %s",
                job.id,
                record.runner,
                record.heartbeat_at.isoformat(),
            )
            try:
                self._record(job.request, {"outcome": "failed", "export": job.id, "error": message})
            except Exception:
                log.exception("could not audit the failure of export %s", job.id)
            return failed
        return self._job(job.id) or job

    def _write(self, job: ExportJob, *, if_state: Sequence[str] = tuple(ACTIVE_STATES)) -> bool:
        return self._jobs.save(
            stored(job, runner=self._runner, heartbeat_at=self._clock(), root=self._root()), if_state=if_state
        )

    def _beat(self) -> None:
        """Say in the store that this process is alive, with its jobs (called by the worker pool while busy)."""
        try:
            self._jobs.beat(self._runner, self._clock())
        except Exception:  # the database is away: the jobs go stale, and fail, if it stays away
            log.warning("export jobs: could not say this process is alive", exc_info=True)

    # --- the work ---------------------------------------------------------------------------------------------

    def _workspace(self) -> ExportWorkspace:
        if self._space is None:
            raise ExportsUnavailableError("this server makes no exports through the API: use `vigie export create`")
        return self._space

    def _authorise(self, request: ExportRequest) -> None:
        request.check()
        unknown = [c for c in request.camera_ids if c not in self._cameras]
        if unknown:
            raise ExportRefused(f"export refused: unknown camera(s) {', '.join(unknown)}")

    def _check_footage(self, request: ExportRequest) -> None:
        if not any(self._index.between(c, request.start, request.end) for c in request.camera_ids):
            raise ExportRefused(
                f"export refused: nothing recorded for {', '.join(request.camera_ids)} between "
                f"{request.start.isoformat()} and {request.end.isoformat()}: choose another range"
            )

    def _owned(self, principal: Principal, job: ExportJob) -> bool:
        """Only the person who asked sees an export, and only while they still see all of its cameras."""
        return job.owner == principal.actor and all(principal.sees_camera(c) for c in job.camera_ids)

    def _check_redaction(self) -> None:
        if self._redactor is None:
            raise ExportRefused("export refused: this server makes no redacted exports (no redaction model wired)")
        self._redactor.check()

    def _enqueue(self, request: ExportRequest, space: ExportWorkspace, *, redacted: bool = False) -> ExportJob:
        if self._closing.is_set():
            raise ExportBusyError("the server is stopping: ask again in a moment")
        job = ExportJob(
            id=secrets.token_hex(16),
            owner=request.requested_by,
            camera_ids=request.camera_ids,
            start=request.start,
            end=request.end,
            reason=request.reason,
            requisition_ref=request.requisition_ref,
            created_at=self._clock(),
            redacted=redacted,
        )
        # Counted across every API process (a race between two may let one more in: a bound, not an exact quota).
        root = self._root()
        waiting = [self._alive_or_failed(job_of(r, root)) for r in self._jobs.active()]
        waiting = [j for j in waiting if j.active]
        if sum(j.owner == job.owner for j in waiting) >= space.waiting_per_person:
            raise ExportBusyError(
                f"you already have {space.waiting_per_person} exports waiting or running: wait for one to finish"
            )
        if len(waiting) >= space.waiting:
            raise ExportBusyError(f"{len(waiting)} exports are waiting or running: ask again in a few minutes")
        self._jobs.add(stored(job, runner=self._runner, heartbeat_at=self._clock(), root=root))
        self._forget_old(space.kept_jobs, len(waiting) + 1)
        try:
            self._record(
                job.request, {"outcome": "queued", "export": job.id, **({"redacted": True} if redacted else {})}
            )
            self._workers.submit(job.id)
        except BaseException:
            self._jobs.forget([job.id])
            raise
        return job

    def _forget_old(self, kept: int, active: int) -> None:
        finished = self._jobs.finished_ids()
        self._jobs.forget(finished[: max(0, len(finished) + active - kept)])

    def _run(self, job_id: str) -> None:
        """One job, on a worker thread: export, package, audit; every way out leaves the job done or failed."""
        space = self._workspace()
        try:
            job = self._update(job_id, state=ExportState.RUNNING, started_at=self._clock())
        except _Cancelled:
            return  # failed meanwhile by another process (it took this one for dead): nothing was made
        folder = space.root / job.id
        name = f"vigie-export-{job.start.astimezone(UTC):%Y%m%dT%H%M%SZ}-{job.id[:8]}"
        try:
            if self._closing.is_set():
                raise _Cancelled("the server stopped before this export started: ask again")
            if job.cancel_requested:
                raise _Cancelled("cancelled by its owner before it started")
            report = partial(self._progress, job.id, [-1])
            redaction: dict[str, Any] = {}
            if job.redacted:
                result, redaction = self._redacted_export(job, folder, name, report)
            else:
                result = self._exporter.export(
                    job.request, self._cameras, folder / name, self._clock(), progress=report
                )
            package = write_package(folder / name, folder / f"{name}.zip")
            shutil.rmtree(folder / name)
            made = self._clock().timestamp()  # the package ages on the service's clock, like everything else
            os.utime(folder / f"{name}.zip", (made, made))
        except _Cancelled as err:
            self._fail(job_id, str(err), "cancelled", folder)
            return
        except ExportError as err:
            self._fail(job_id, str(err), "refused", folder)
            return
        except Exception as err:
            log.exception("export %s failed", job.id)
            message = f"the export failed on the server ({type(err).__name__}): ask again, or ask an administrator"
            self._fail(job_id, message, "failed", folder)
            return
        package_details = {"name": package.name, "sha256": package.sha256, "bytes": package.bytes}
        try:
            details = {**_success_details(result), "export": job.id, "package": package_details, **redaction}
            self._record(job.request, details)
        except Exception:
            log.exception("export %s removed: its audit entry could not be written", job.id)
            shutil.rmtree(folder, ignore_errors=True)
            message = "the export was removed because its audit entry could not be written: ask again"
            self._fail(job_id, message, "", None)
            return
        try:
            self._update(
                job_id, state=ExportState.DONE, progress=1.0, finished_at=self._clock(), result=result, package=package
            )
        except _Cancelled:  # another process failed it meanwhile, taking this one for dead: its package goes too
            log.warning("export %s was failed by another process while it finished: its package is removed", job_id)
            shutil.rmtree(folder, ignore_errors=True)

    def _redacted_export(
        self, job: ExportJob, folder: Path, name: str, report: Callable[[int, int], None]
    ) -> tuple[ExportResult, dict[str, Any]]:
        """The export made into a hidden folder (the first half of the progress), then redacted into ``name`` (the
        second half, in frames); the original is removed, only the redacted copy is packaged."""
        if self._redactor is None:
            raise ExportError("this server makes no redacted exports (no redaction model wired)")
        original = folder / f".{name}.original"
        try:
            exported = self._exporter.export(
                job.request, self._cameras, original, self._clock(), progress=lambda d, t: report(d, 2 * t)
            )
            redacted = self._redactor.redact(
                exported, folder / name, self._clock(), lambda d, t: report(t + d, 2 * t) if t else None
            )
        finally:
            shutil.rmtree(original, ignore_errors=True)
        details = {
            "redaction": {"detector": redacted.detector, "source_manifest_sha256": redacted.source_manifest_sha256}
        }
        return redacted.result, details

    def _progress(self, job_id: str, written: list[int], done: int, total: int) -> None:
        """After each source segment: stop if the service is closing; when the progress reaches a new whole
        percent, write it to the shared store and read whether the job was cancelled (at most 101 writes, where an
        hour of 2-s segments would make 1,800 to the database the workers write to)."""
        if self._closing.is_set():
            raise _Cancelled("the server stopped during this export: ask again")
        percent = 100 * done // total if total else 0
        if percent <= written[0]:
            return
        written[0] = percent
        job = self._update(job_id, progress=done / total if total else 0.0)
        if job.cancel_requested:
            raise _Cancelled("cancelled by its owner")

    def _fail(self, job_id: str, message: str, outcome: str, folder: Path | None = None) -> None:
        """Fail a job this process makes, and audit it with ``outcome`` (none: already audited)."""
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        try:
            job = self._update(job_id, state=ExportState.FAILED, finished_at=self._clock(), error=message)
        except _Cancelled:
            return  # already failed by another process, which audited it
        if not outcome:
            return
        try:
            self._record(job.request, {"outcome": outcome, "export": job_id, "error": message})
        except Exception:  # the job has failed anyway; the missing trace is logged
            log.exception("could not audit the failure of export %s", job_id)

    def _update(self, job_id: str, **changes: Any) -> ExportJob:
        """Change a job this process makes; raise :class:`_Cancelled` when it is no longer active (another
        process failed it, thinking this one dead: what is left of it is removed)."""
        record = self._jobs.get(job_id)
        if record is None:
            raise _Cancelled("this export was forgotten meanwhile")
        job = replace(job_of(record, self._root()), **changes)
        if not self._write(job):
            raise _Cancelled("this export was failed meanwhile by another server process")
        return job

    def _verify(self, source: Path | IO[bytes], expected: str | None, name: str) -> PackageVerification:
        space = self._workspace()
        return verify_package(
            source, space.public_keys(), max_expanded_bytes=space.max_upload_bytes, expected=expected, name=name
        )

    def _record_refused_verification(
        self, principal: Principal, target: str, details: dict[str, Any], refused: PackageRefused
    ) -> None:
        details = {**details, "ok": False, "refused": str(refused)}
        self._audit.append(
            AuditEvent(actor=principal.actor, action=AuditAction.EXPORT_VERIFIED, target=target, details=details)
        )

    def _record_verification(
        self, principal: Principal, target: str, details: dict[str, Any], report: PackageVerification
    ) -> None:
        details = {
            **details,
            "ok": report.ok,
            "package_sha256": report.package_sha256,
            "manifest_sha256": report.manifest_sha256,
            "issues": [{"kind": i.kind, "name": i.name} for i in report.issues[:20]],
        }
        self._audit.append(
            AuditEvent(actor=principal.actor, action=AuditAction.EXPORT_VERIFIED, target=target, details=details)
        )

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


class _Workers:
    """At most ``size`` threads run queued job ids through ``run``; a thread ends as soon as the queue is empty.

    Not ``concurrent.futures.ThreadPoolExecutor``: its idle threads live until ``shutdown()``, so a service that
    is never closed (a test, a failed start) would keep them; here no thread outlives the work, and :meth:`close`
    hands back what never started so that it can fail with a reason."""

    def __init__(self, run: Callable[[str], None], size: int, *, beat: Callable[[], None] = lambda: None) -> None:
        """``beat`` is called every ``HEARTBEAT_EVERY_S`` while there is work (queued or running), on a thread of
        its own: the store hears that this process is alive even while a long export holds every worker."""
        self._run = run
        self._size = max(1, size)
        self._queue: deque[str] = deque()
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._beat = beat
        self._beating: threading.Thread | None = None
        self._stop = threading.Event()

    def submit(self, job_id: str) -> None:
        with self._lock:
            if self._closed:
                raise ExportBusyError("the server is stopping: ask again in a moment")
            self._queue.append(job_id)
            if len(self._threads) < self._size:
                thread = threading.Thread(target=self._drain, name="vigie-export", daemon=True)
                self._threads.add(thread)
                thread.start()
            if self._beating is None:
                self._beating = threading.Thread(target=self._heartbeat, name="vigie-export-beat", daemon=True)
                self._beating.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_EVERY_S):
            with self._lock:
                if not self._threads and not self._queue:
                    self._beating = None
                    return
            self._beat()

    def close(self, timeout: float | None) -> list[str]:
        with self._lock:
            self._closed = True
            self._stop.set()
            never_started = list(self._queue)
            self._queue.clear()
            running = list(self._threads)
        for thread in running:
            thread.join(timeout)
        return never_started

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._threads.discard(threading.current_thread())
                    return
                job_id = self._queue.popleft()
            try:
                self._run(job_id)
            except Exception:  # _run turns every failure into a failed job; this is the last guard of the thread
                log.exception("export worker: job %s", job_id)


def _ready(job: ExportJob) -> PackageFile:
    if job.state is ExportState.DONE and job.package is not None:
        return job.package
    if job.state is ExportState.FAILED:
        raise ExportNotReadyError(f"export {job.id} failed, it has no package: {job.error}")
    raise ExportNotReadyError(f"export {job.id} is {job.state.value} ({job.progress:.0%}): its package is not ready")


def _success_details(result: ExportResult) -> dict[str, Any]:
    return {
        "outcome": "exported",
        "manifest_sha256": result.manifest_sha256,
        "key_id": result.key_id,
        "files": [{"name": f.name, "sha256": f.sha256, "bytes": f.bytes} for f in result.files],
        "cameras_without_footage": list(result.cameras_without_footage),
    }


_REQUEST_FIELDS: Final = (("start", 64), ("end", 64), ("reason", 2000), ("requisition_ref", 256))


def _raw_text(value: Any, longest: int) -> str | None:
    return None if value is None else str(value)[:longest]


def _time(at: datetime) -> str | None:
    return format_time(at) if at.tzinfo is not None else None


def _package_entry(path: Path) -> dict[str, Any]:
    digest, size = sha256_of(path)
    return {"name": path.name, "sha256": digest, "bytes": size}
