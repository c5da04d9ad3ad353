"""Forensic object search within a case (issue 22): the recordings of a case's scope analysed on demand by the
shared detector and the tracker, the objects found stored for that case only, then searched by class, vehicle
colour, direction, zone, line, time and dwell.

Every search asks :meth:`CaseService.require_in_scope` first, for each camera over the period (a camera or a time
outside the requisition, a closed case, or a person without ``manage_cases`` is refused, the refusal audited).
A search runs in the background — one at a time in this process, others wait their turn — and answers a job at
once: its state (queued, running, done, failed), its progress and how many objects it found.

Audited (L11): ``case.search_started`` and ``case.search_finished`` name the case, the cameras and the period,
and how many objects were stored — never what they are (a person is a class, never described, L25);
``case.objects_read`` for every page read (the filters asked, the number answered) and every thumbnail opened.
"""

from __future__ import annotations

import enum
import itertools
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from vigie.domain.audit import AuditAction, AuditEvent, format_time
from vigie.domain.case_objects import CaseObject, CaseObjects, ObjectPage, ObjectQuery
from vigie.domain.geometry import Box
from vigie.domain.ports import AuditSink
from vigie.domain.users import Permission
from vigie.services.access import NotVisibleError, Principal
from vigie.services.cases import CaseRefusedError, CaseService

__all__ = ["CaseSearchService", "FootageGoneError", "ObjectAnalysis", "SearchJob", "SearchState"]

log = logging.getLogger(__name__)


class ObjectAnalysis(Protocol):
    """What analyses recordings (``vigie.analytics.forensics.object_search.FootageObjectSearch``)."""

    def search(
        self,
        case_id: int,
        camera_id: str,
        start: datetime,
        end: datetime,
        progress: Callable[[float], None] | None = None,
    ) -> Sequence[CaseObject]: ...

    def thumbnail(self, camera_id: str, at: datetime, box: Box) -> bytes: ...


class FootageGoneError(LookupError):
    """The recording an object was found in is no longer there (purged at the end of its retention, no hold)."""


class SearchStoppedError(RuntimeError):
    """The server stopped while the search ran."""


class SearchState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SearchJob:
    """A search of a case's recordings and where it stands."""

    id: int
    case_id: int
    camera_ids: tuple[str, ...]
    start: datetime
    end: datetime
    requested_by: str
    requested_at: datetime
    state: SearchState = SearchState.QUEUED
    progress: float = 0.0
    objects_found: int = 0
    error: str | None = None
    finished_at: datetime | None = None


class CaseSearchService:
    """Starting searches of a case's recordings, following them, reading what they found."""

    def __init__(
        self,
        cases: CaseService,
        objects: CaseObjects,
        analysis: ObjectAnalysis,
        audit: AuditSink,
        clock: Callable[[], datetime],
    ) -> None:
        self._cases, self._objects, self._analysis = cases, objects, analysis
        self._audit, self._clock = audit, clock
        self._jobs: dict[int, SearchJob] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        # one search at a time: the detector is shared with nothing else here, and a second search would only
        # halve the speed of the first
        self._runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="case-search")
        self._closed = threading.Event()

    def close(self) -> None:
        """Stop: searches waiting are dropped, the one running stops at its next batch (its job failed)."""
        self._closed.set()
        self._runner.shutdown(wait=False, cancel_futures=True)

    # --- searching ---------------------------------------------------------------------------------------------

    def search(
        self,
        principal: Principal,
        case_id: int,
        camera_ids: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> SearchJob:
        """Start a search of ``camera_ids`` (default: the case's cameras) over [start, end) (default: the case's
        period); it runs in the background. Refusals as :meth:`CaseService.require_in_scope`."""
        principal.require(Permission.MANAGE_CASES)
        case = self._cases.require_open_case(principal, case_id)
        cameras = list(dict.fromkeys(camera_ids)) if camera_ids else list(case.camera_ids)
        if camera_ids is not None and not cameras:
            raise CaseRefusedError("camera_ids is empty: name cameras of the case's scope, or leave it out for all")
        begin, finish = start or case.start, end or case.end
        for camera in cameras:
            self._cases.require_in_scope(principal, case_id, camera, begin, finish)
        now = self._clock()
        with self._lock:
            job = SearchJob(next(self._ids), case_id, tuple(cameras), begin, finish, principal.actor, now)
            self._jobs[job.id] = job
        self._audit.append(
            AuditEvent(principal.actor, AuditAction.CASE_SEARCH_STARTED, f"case:{case_id}", _period(job), at=now)
        )
        self._runner.submit(self._run, job.id)
        return job

    def job(self, principal: Principal, case_id: int, job_id: int) -> SearchJob:
        """Where a search of the case stands."""
        principal.require(Permission.READ_CASES)
        self._cases.require_visible(principal, case_id)
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.case_id != case_id:
            raise NotVisibleError(f"no search {job_id} of case {case_id} in this server's memory")
        return job

    def _update(self, job_id: int, **changes: object) -> SearchJob:
        with self._lock:
            job = self._jobs[job_id] = replace(self._jobs[job_id], **changes)  # type: ignore[arg-type]
            return job

    def _run(self, job_id: int) -> None:
        job = self._update(job_id, state=SearchState.RUNNING)
        found = 0
        try:
            span = len(job.camera_ids)
            for n, camera in enumerate(job.camera_ids):

                def progress(fraction: float, n: int = n) -> None:
                    if self._closed.is_set():
                        raise SearchStoppedError("the server stopped during the search: start it again")
                    self._update(job_id, progress=round((n + fraction) / span, 4))

                objects = self._analysis.search(job.case_id, camera, job.start, job.end, progress)
                self._objects.add_many(list(objects))
                found += len(objects)
                self._update(job_id, progress=round((n + 1) / span, 4), objects_found=found)
            job = self._update(job_id, state=SearchState.DONE, progress=1.0, finished_at=self._clock())
            outcome: dict[str, object] = {"outcome": "done"}
        except Exception as err:
            log.exception("search %s of case %s failed", job_id, job.case_id)
            job = self._update(job_id, state=SearchState.FAILED, error=str(err), finished_at=self._clock())
            outcome = {"outcome": "failed", "error": str(err)}
        details = {**_period(job), **outcome, "objects_stored": found}
        self._audit.append(
            AuditEvent(
                job.requested_by,
                AuditAction.CASE_SEARCH_FINISHED,
                f"case:{job.case_id}",
                details,
                at=job.finished_at or self._clock(),
            )
        )

    # --- reading -----------------------------------------------------------------------------------------------

    def objects(self, principal: Principal, query: ObjectQuery) -> ObjectPage:
        """A page of the objects found for the case (audited ``case.objects_read``: the filters, never the
        objects)."""
        principal.require(Permission.READ_CASES)
        self._cases.require_visible(principal, query.case_id)
        page = self._objects.query(query)
        details = {"resource": "objects", **_filters(query), "answered": len(page.objects)}
        self._audit.append(
            AuditEvent(
                principal.actor, AuditAction.CASE_OBJECTS_READ, f"case:{query.case_id}", details, at=self._clock()
            )
        )
        return page

    def object_thumbnail(self, principal: Principal, case_id: int, object_id: int) -> bytes:
        """A JPEG of the object's box at its thumbnail instant, read from the recording (audited
        ``case.objects_read``)."""
        principal.require(Permission.READ_CASES)
        case = self._cases.require_visible(principal, case_id)
        found = self._objects.get(case_id, object_id)
        if found is None or not principal.sees_camera(found.camera_id):
            raise NotVisibleError(f"no object {object_id} among the objects of case {case_id}")
        try:
            jpeg = self._analysis.thumbnail(found.camera_id, found.thumbnail_at, found.box)
        except ValueError as err:  # the analysis's "segment unreadable" (analytics errors are ValueErrors)
            raise FootageGoneError(
                f"the recording of object {object_id} at {format_time(found.thumbnail_at)} cannot be read ({err}): "
                "place the case's holds so that its footage is kept"
            ) from err
        details = {
            "resource": "thumbnail",
            "object_id": object_id,
            "camera_id": found.camera_id,
            "at": format_time(found.thumbnail_at),
            "case_reference": case.reference,
        }
        self._audit.append(
            AuditEvent(principal.actor, AuditAction.CASE_OBJECTS_READ, f"case:{case_id}", details, at=self._clock())
        )
        return jpeg


def _period(job: SearchJob) -> dict[str, object]:
    return {
        "case_id": job.case_id,
        "job_id": job.id,
        "camera_ids": list(job.camera_ids),
        "start": format_time(job.start),
        "end": format_time(job.end),
    }


def _filters(query: ObjectQuery) -> dict[str, object]:
    out: dict[str, object] = {}
    if query.classes:
        out["classes"] = sorted(c.value for c in query.classes)
    if query.colours:
        out["colours"] = sorted(c.value for c in query.colours)
    if query.camera_ids:
        out["camera_ids"] = sorted(query.camera_ids)
    if query.start is not None:
        out["start"] = format_time(query.start)
    if query.end is not None:
        out["end"] = format_time(query.end)
    for name in ("direction", "zone", "line", "min_dwell_seconds"):
        value = getattr(query, name)
        if value is not None:
            out[name] = str(value)
    return out
