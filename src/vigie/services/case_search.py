"""Forensic search within a case (issue 22): the recordings of a case's scope analysed on demand — for objects, by
the shared detector and the tracker, or for motion in a region drawn on one camera, without a detector — the
results stored for that case only, then read (objects by class, vehicle colour, direction, zone, line, time and
dwell; motion hits in time order).

Every search asks :meth:`CaseService.require_in_scope` first, for each camera over the period (a camera or a time
outside the requisition, a closed case, or a person without ``manage_cases`` is refused, the refusal audited).
A search runs in the background — one at a time in this process, others wait their turn — and answers a job at
once: its kind, its state (queued, running, done, failed), its progress and how many results it stored.

Jobs live in the database (:class:`vigie.domain.case_searches.CaseSearches`): any API process, and a restarted
server, answers them; they are the case's history (who searched what, when) and stay when the case closes. The
process running a job says it is alive every ``HEARTBEAT_EVERY_S``; a job whose process stopped (killed, or gone
for ``STALE_AFTER``) is failed by the next process that starts or reads it, saying so. Progress is written at most
every ``PROGRESS_EVERY_S``.

An object search of a camera over [start, end) replaces the case's objects of that camera first seen in that window
(one transaction): searching a window again leaves one set, not two. When the case closes, its results (objects and
motion hits) are purged (:meth:`CaseSearchService.purge_case`, a close step of the case service); a search of the
case still running stops, and stores nothing.

Audited (L11): ``case.search_started`` and ``case.search_finished`` name the case, the kind, the cameras and the
period (and a motion search's region and thresholds), and how many results were stored — never what they are (a
person is a class, never described, L25); ``case.objects_read`` for every page read (the filters asked, the number
answered), every thumbnail opened and every page of motion hits read.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from vigie.analytics.forensics.motion_region import MotionSearchError, MotionSearchParams, MotionSpan, region_polygon
from vigie.domain.audit import AuditAction, AuditEvent, format_time
from vigie.domain.case_objects import CaseObject, CaseObjects, ObjectPage, ObjectQuery
from vigie.domain.case_searches import CaseSearches, MotionHit, SearchJob, SearchKind, SearchState
from vigie.domain.cases import Case
from vigie.domain.geometry import Box, Point
from vigie.domain.ports import AuditSink
from vigie.domain.users import Permission
from vigie.services.access import NotVisibleError, Principal
from vigie.services.cases import CaseRefusedError, CaseService, CasesUnavailableError
from vigie.services.host import runner_gone

__all__ = [
    "CaseSearchService",
    "FootageGoneError",
    "MotionAnalysis",
    "ObjectAnalysis",
    "SearchJob",
    "SearchKind",
    "SearchState",
]

log = logging.getLogger(__name__)

HEARTBEAT_EVERY_S: Final = 5.0
"""How often a process with searches in its hands says so in the database."""
STALE_AFTER: Final = timedelta(seconds=60)
"""A search whose process has not said it is alive for this long is failed by the next process that looks."""
PROGRESS_EVERY_S: Final = 0.5
"""Least time between two writes of a search's progress (the analysis reports it after every batch)."""
STOPPED: Final = "the server stopped during the search: start it again"
NEVER_STARTED: Final = "the server stopped before the search started: start it again"
CASE_CLOSED: Final = "the case was closed during the search: its results are purged with it"
MAX_REGION_POINTS: Final = 32
DEFAULT_MOTION = MotionSearchParams()
"""The motion search's defaults (``min_changed_fraction``, ``min_span_seconds``): those of the analysis."""


class ObjectAnalysis(Protocol):
    """What analyses recordings for objects (``vigie.analytics.forensics.object_search.FootageObjectSearch``)."""

    def search(
        self,
        case_id: int,
        camera_id: str,
        start: datetime,
        end: datetime,
        progress: Callable[[float], None] | None = None,
    ) -> Sequence[CaseObject]: ...

    def thumbnail(self, camera_id: str, at: datetime, box: Box) -> bytes: ...


class MotionAnalysis(Protocol):
    """What searches recordings for motion in a region (``vigie.analytics.forensics.motion_footage``)."""

    def search(  # noqa: PLR0917 — the search's own terms
        self,
        camera_id: str,
        start: datetime,
        end: datetime,
        region: Sequence[Point],
        params: MotionSearchParams,
        progress: Callable[[float], None] | None = None,
    ) -> Sequence[MotionSpan]: ...


class FootageGoneError(LookupError):
    """The recording an object was found in is no longer there (purged at the end of its retention, no hold)."""


class SearchStoppedError(RuntimeError):
    """The server stopped, or the case closed, while the search ran."""


class _LostError(RuntimeError):
    """Another process failed this job meanwhile (it took this one for dead): this one stops writing it."""


class CaseSearchService:
    """Starting searches of a case's recordings, following them, reading what they found."""

    def __init__(
        self,
        cases: CaseService,
        objects: CaseObjects,
        analysis: ObjectAnalysis,
        audit: AuditSink,
        clock: Callable[[], datetime],
        *,
        jobs: CaseSearches,
        motion: MotionAnalysis | None = None,
    ) -> None:
        """``jobs``: where the jobs and the motion hits are kept (the database, shared by every API process);
        ``motion``: the motion-in-region search (None: motion searches answer :class:`CasesUnavailableError`)."""
        self._cases, self._objects, self._analysis, self._motion = cases, objects, analysis, motion
        self._audit, self._clock, self._jobs = audit, clock, jobs
        self._runner = f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"
        """This process's name in the job rows: host and pid make a dead process's jobs known at the next start,
        the token makes it unique across restarts (a pid comes back in a container)."""
        self._lock = threading.Lock()
        self._mine: dict[int, SearchJob] = {}
        """Jobs of this process not yet ended (bounded by what was asked and not yet run)."""
        self._running: int | None = None
        self._closing_cases: set[int] = set()
        """Cases closed while a job of theirs was in this process's hands (emptied as those jobs end)."""
        self._beating: threading.Thread | None = None
        # one search at a time: the detector is shared with nothing else here, and a second search would only
        # halve the speed of the first
        self._runner_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="case-search")
        self._closed = threading.Event()

    def close(self) -> None:
        """Stop: searches waiting fail (they never started), the one running stops at its next batch (failed)."""
        self._closed.set()
        self._runner_pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            waiting = [job for job_id, job in self._mine.items() if job_id != self._running]
            for job in waiting:
                self._mine.pop(_id(job), None)
        for job in waiting:
            self._end(job, error=NEVER_STARTED)

    def fail_abandoned(self) -> int:
        """At a start: the jobs a stopped process left queued or running failed (each audited
        ``case.search_finished``, outcome failed). How many."""
        failed = 0
        for job in self._jobs.active():
            failed += self._settled(job) is not job
        if failed:
            log.warning("%d search(es) of cases left unfinished by a stopped server marked failed", failed)
        return failed

    # --- searching ---------------------------------------------------------------------------------------------

    def search(
        self,
        principal: Principal,
        case_id: int,
        camera_ids: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> SearchJob:
        """Start an object search of ``camera_ids`` (default: the case's cameras) over [start, end) (default: the
        case's period); it runs in the background. Refusals as :meth:`CaseService.require_in_scope`."""
        principal.require(Permission.MANAGE_CASES)
        case = self._cases.require_open_case(principal, case_id)
        cameras = list(dict.fromkeys(camera_ids)) if camera_ids else list(case.camera_ids)
        if camera_ids is not None and not cameras:
            raise CaseRefusedError("camera_ids is empty: name cameras of the case's scope, or leave it out for all")
        begin, finish = start or case.start, end or case.end
        for camera in cameras:
            self._cases.require_in_scope(principal, case_id, camera, begin, finish)
        return self._submit(principal, case, SearchKind.OBJECTS, cameras, begin, finish, {})

    def search_motion(  # noqa: PLR0917 — the search's own terms, each named once
        self,
        principal: Principal,
        case_id: int,
        camera_id: str,
        start: datetime,
        end: datetime,
        region: Sequence[Sequence[float]],
        *,
        min_changed: float | None = None,
        min_seconds: float | None = None,
    ) -> SearchJob:
        """Start a search of motion in ``region`` (normalised points, 3 to 32) of ``camera_id`` over [start, end);
        it runs in the background. Refusals as :meth:`CaseService.require_in_scope`, and
        :class:`CaseRefusedError` for a region or threshold that cannot work."""
        principal.require(Permission.MANAGE_CASES)
        case = self._cases.require_open_case(principal, case_id)
        if self._motion is None:
            raise CasesUnavailableError("this server has no recordings: no motion search can run here")
        parameters = _motion_parameters(region, min_changed, min_seconds)
        self._cases.require_in_scope(principal, case_id, camera_id, start, end)
        return self._submit(principal, case, SearchKind.MOTION, [camera_id], start, end, parameters)

    def _submit(  # noqa: PLR0917
        self,
        principal: Principal,
        case: Case,
        kind: SearchKind,
        cameras: Sequence[str],
        start: datetime,
        end: datetime,
        parameters: Mapping[str, Any],
    ) -> SearchJob:
        now = self._clock()
        asked = SearchJob(
            case_id=case.id or 0,
            camera_ids=tuple(cameras),
            start=start,
            end=end,
            requested_by=principal.actor,
            requested_at=now,
            kind=kind,
            parameters=dict(parameters),
            runner=self._runner,
            heartbeat_at=now,
        )
        job = self._jobs.add(asked)
        self._audit.append(
            AuditEvent(principal.actor, AuditAction.CASE_SEARCH_STARTED, f"case:{job.case_id}", _period(job), at=now)
        )
        with self._lock:
            self._mine[_id(job)] = job
            if self._beating is None:
                self._beating = threading.Thread(target=self._heartbeat, name="case-search-beat", daemon=True)
                self._beating.start()
        try:
            self._runner_pool.submit(self._run, _id(job))
        except RuntimeError:  # closed meanwhile: the server is stopping
            with self._lock:
                self._mine.pop(_id(job), None)
            self._end(job, error=NEVER_STARTED)
            raise CasesUnavailableError("the server is stopping: start the search again in a moment") from None
        return job

    # --- following ---------------------------------------------------------------------------------------------

    def job(self, principal: Principal, case_id: int, job_id: int) -> SearchJob:
        """Where a search of the case stands."""
        principal.require(Permission.READ_CASES)
        self._cases.require_visible(principal, case_id)
        job = self._jobs.get(case_id, job_id)
        if job is None:
            raise NotVisibleError(f"no search {job_id} of case {case_id}")
        return self._settled(job)

    def jobs(self, principal: Principal, case_id: int, *, limit: int = 100, offset: int = 0) -> list[SearchJob]:
        """The case's searches, newest first: who searched what, when, how it ended."""
        principal.require(Permission.READ_CASES)
        self._cases.require_visible(principal, case_id)
        return [self._settled(job) for job in self._jobs.list(case_id, limit=limit, offset=offset)]

    def _settled(self, job: SearchJob) -> SearchJob:
        """``job``, or, when the process running it stopped (it is gone from this host, or silent for
        ``STALE_AFTER``), the job failed saying so (audited, once: only one process writes it)."""
        if not job.active or job.runner == self._runner or not self._gone(job):
            return job
        return self._end(job, error=STOPPED, if_runner=False) or job

    def _gone(self, job: SearchJob) -> bool:
        return runner_gone(job.runner, job.heartbeat_at, self._clock(), STALE_AFTER)

    def _heartbeat(self) -> None:
        while not self._closed.wait(HEARTBEAT_EVERY_S):
            with self._lock:
                if not self._mine:
                    self._beating = None
                    return
            try:
                self._jobs.beat(self._runner, self._clock())
            except Exception:  # the database is away: the jobs go stale, and fail, if it stays away
                log.warning("case searches: could not say this process is alive", exc_info=True)
        with self._lock:
            self._beating = None

    # --- running -----------------------------------------------------------------------------------------------

    def _run(self, job_id: int) -> None:
        with self._lock:
            job = self._mine.get(job_id)
            self._running = job_id
        if job is None:
            return
        try:
            self._work(job)
        finally:
            with self._lock:
                self._running = None
                self._mine.pop(job_id, None)
                if not any(j.case_id == job.case_id for j in self._mine.values()):
                    self._closing_cases.discard(job.case_id)

    def _work(self, job: SearchJob) -> None:
        found = 0
        try:
            self._check_going_on(job)
            job = self._save(replace(job, state=SearchState.RUNNING))
            span = len(job.camera_ids)
            for n, camera in enumerate(job.camera_ids):
                written = [time.monotonic()]

                def progress(
                    fraction: float, n: int = n, written: list[float] = written, job: SearchJob = job, done: int = found
                ) -> None:
                    self._check_going_on(job)
                    if time.monotonic() - written[0] >= PROGRESS_EVERY_S:
                        written[0] = time.monotonic()
                        self._save(replace(job, progress=round((n + fraction) / span, 4), found=done))

                found += self._analyse(job, camera, progress)
                job = self._save(replace(job, progress=round((n + 1) / span, 4), found=found))
            self._end(job, found=found)
        except _LostError:
            log.warning("search %s of case %s was failed by another process: stopped here", job.id, job.case_id)
        except Exception as err:
            if not isinstance(err, SearchStoppedError):
                log.exception("search %s of case %s failed", job.id, job.case_id)
            self._end(job, found=found, error=str(err))

    def _analyse(self, job: SearchJob, camera: str, progress: Callable[[float], None]) -> int:
        """Search one camera for the job; store what was found; how many."""
        if job.kind is SearchKind.MOTION:
            if self._motion is None:
                raise CasesUnavailableError("this server has no recordings: no motion search can run here")
            params = _params(job.parameters)
            region = [(float(x), float(y)) for x, y in job.parameters["region"]]
            spans = self._motion.search(camera, job.start, job.end, region, params, progress)
            hits = [MotionHit(job.case_id, _id(job), camera, s.start, s.end, s.peak, s.score) for s in spans]
            with self._lock:  # a close of the case purges under the same lock: nothing is stored after it
                self._check_going_on(job)
                return self._jobs.add_hits(hits)
        objects = list(self._analysis.search(job.case_id, camera, job.start, job.end, progress))
        with self._lock:
            self._check_going_on(job)
            self._objects.replace_window(job.case_id, camera, job.start, job.end, objects)
        return len(objects)

    def _check_going_on(self, job: SearchJob) -> None:
        if self._closed.is_set():
            raise SearchStoppedError(STOPPED)
        if job.case_id in self._closing_cases:
            raise SearchStoppedError(CASE_CLOSED)

    def _save(self, job: SearchJob) -> SearchJob:
        """Write where the job stands (and that this process is alive); :class:`_LostError` when another process
        ended it meanwhile."""
        job = replace(job, heartbeat_at=self._clock())
        if not self._jobs.save(job):
            raise _LostError(f"search {job.id} ended elsewhere")
        with self._lock:
            if job.id in self._mine:
                self._mine[_id(job)] = job
        return job

    def _end(
        self, job: SearchJob, *, found: int | None = None, error: str | None = None, if_runner: bool = True
    ) -> SearchJob | None:
        """The job done (no ``error``) or failed, written once and audited ``case.search_finished``; None when it
        had already ended (another process wrote its end)."""
        now = self._clock()
        ended = replace(
            job,
            state=SearchState.FAILED if error is not None else SearchState.DONE,
            progress=job.progress if error is not None else 1.0,
            found=job.found if found is None else found,
            error=error,
            finished_at=now,
            heartbeat_at=now if if_runner else job.heartbeat_at,
        )
        try:
            if not self._jobs.save(ended):
                return None
        except Exception:  # the database is away: the job stays active, and is failed when found stale
            log.exception("could not record the end of search %s of case %s", job.id, job.case_id)
            return None
        outcome: dict[str, object] = {"outcome": "done"} if error is None else {"outcome": "failed", "error": error}
        stored = "hits_stored" if job.kind is SearchKind.MOTION else "objects_stored"
        details = {**_period(ended), **outcome, stored: ended.found}
        self._audit.append(
            AuditEvent(job.requested_by, AuditAction.CASE_SEARCH_FINISHED, f"case:{job.case_id}", details, at=now)
        )
        return ended

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

    def motion_hits(
        self, principal: Principal, case_id: int, job_id: int, *, limit: int = 500, offset: int = 0
    ) -> list[MotionHit]:
        """A page of a motion search's hits, in time order (audited ``case.objects_read``, resource
        ``motion_hits``: the search and how many were answered)."""
        principal.require(Permission.READ_CASES)
        case = self._cases.require_visible(principal, case_id)
        job = self._jobs.get(case_id, job_id)
        if job is None or not all(principal.sees_camera(c) for c in job.camera_ids):
            raise NotVisibleError(f"no search {job_id} of case {case_id}")
        if job.kind is not SearchKind.MOTION:
            raise NotVisibleError(
                f"search {job_id} of case {case_id} is an object search: read what it found with "
                f"GET /api/cases/{case_id}/objects"
            )
        hits = self._jobs.hits(case_id, job_id, limit=limit, offset=offset)
        details = {
            "resource": "motion_hits",
            "job_id": job_id,
            "camera_ids": list(job.camera_ids),
            "offset": offset,
            "answered": len(hits),
            "case_reference": case.reference,
        }
        self._audit.append(
            AuditEvent(principal.actor, AuditAction.CASE_OBJECTS_READ, f"case:{case_id}", details, at=self._clock())
        )
        return hits

    # --- the end of a case -------------------------------------------------------------------------------------

    def purge_case(self, case: Case) -> Mapping[str, object]:
        """A close step of :class:`CaseService`: the case's results (objects, motion hits) deleted, its searches
        still running in this process stopped (they store nothing more); the jobs stay (the case's history).
        Answers the counts, written by the case service into ``case.closed`` (``results_purged``)."""
        case_id = _case_id(case)
        with self._lock:
            if any(j.case_id == case_id for j in self._mine.values()):
                self._closing_cases.add(case_id)
        # the case's searches still queued or running, here or in another API process, fail now (audited): the
        # process running one stops at its next write of progress, before storing anything more
        for job in self._jobs.list(case_id, limit=1000, offset=0):
            if job.active:
                self._end(job, error=CASE_CLOSED, if_runner=False)
        with self._lock:  # a search storing its results holds this lock: the purge comes wholly before or after
            objects = self._objects.purge(case_id)
            hits = self._jobs.purge_hits(case_id)
        return {"results_purged": {"objects": objects, "motion_hits": hits}}


def _id(job: SearchJob) -> int:
    if job.id is None:
        raise ValueError("a stored search has an id")
    return job.id


def _case_id(case: Case) -> int:
    if case.id is None:
        raise ValueError("a stored case has an id")
    return case.id


def _motion_parameters(
    region: Sequence[Sequence[float]], min_changed: float | None, min_seconds: float | None
) -> dict[str, Any]:
    """The parameters of a motion search as stored with its job, checked (:class:`CaseRefusedError` naming what is
    wrong)."""
    if not 3 <= len(region) <= MAX_REGION_POINTS:
        raise CaseRefusedError(f"region has {len(region)} point(s): draw a polygon of 3 to {MAX_REGION_POINTS} points")
    try:
        polygon = region_polygon([tuple(p) for p in region])  # type: ignore[misc]
        params = MotionSearchParams(
            min_changed_fraction=DEFAULT_MOTION.min_changed_fraction if min_changed is None else min_changed,
            min_span_seconds=DEFAULT_MOTION.min_span_seconds if min_seconds is None else min_seconds,
        )
    except MotionSearchError as err:
        raise CaseRefusedError(
            str(err).replace("min_changed_fraction", "min_changed").replace("min_span_seconds", "min_seconds")
        ) from err
    return {
        "region": [[x, y] for x, y in polygon],
        "min_changed": params.min_changed_fraction,
        "min_seconds": params.min_span_seconds,
    }


def _params(parameters: Mapping[str, Any]) -> MotionSearchParams:
    return MotionSearchParams(
        min_changed_fraction=float(parameters["min_changed"]), min_span_seconds=float(parameters["min_seconds"])
    )


def _period(job: SearchJob) -> dict[str, object]:
    out: dict[str, object] = {
        "case_id": job.case_id,
        "job_id": job.id,
        "kind": job.kind.value,
        "camera_ids": list(job.camera_ids),
        "start": format_time(job.start),
        "end": format_time(job.end),
    }
    if job.kind is SearchKind.MOTION:  # what was searched: a region of the picture, never anything about a person
        out["parameters"] = dict(job.parameters)
    return out


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
