"""The redacted copies of access requests being made (L19): one worker thread, the process's name on each copy it
holds, its heartbeat, and the copies a stopped process left behind failed.

A copy decodes and encodes every frame of its scope: a second one at once would only halve the speed of the first,
so one is made at a time and at most ``MAX_WAITING`` wait in this process. The request records the process making
its copy (``host:pid:token``), which says it is alive every ``HEARTBEAT_EVERY_S``; a copy whose process stopped
(gone from this host, or silent for ``STALE_AFTER``) is failed by the next process that reads it, saying so. A copy
that ends after its request moved on (refused, or failed by another process) writes nothing and is deleted.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from vigie.domain.access_requests import (
    AccessRequest,
    AccessRequestError,
    AccessRequestRepo,
    AccessRequestState,
    CopyMaker,
)
from vigie.domain.audit import AuditAction, AuditEvent, format_time
from vigie.domain.ports import AuditSink
from vigie.services.host import runner_gone

__all__ = ["MAX_WAITING", "NEVER_STARTED", "STOPPED", "AccessRequestBusyError", "CopyJobs", "scope_details"]

log = logging.getLogger(__name__)

HEARTBEAT_EVERY_S: Final = 5.0
"""How often a process preparing copies says so in the database."""
STALE_AFTER: Final = timedelta(seconds=60)
"""A copy whose process has not said it is alive for this long is failed by the next process that reads it."""
PROGRESS_EVERY_S: Final = 0.5
"""Least time between two writes of a copy's progress."""
MAX_WAITING: Final = 8
"""Copies this process holds (one made, the others waiting their turn); more are refused until one ends."""
STOPPED: Final = "the server stopped while the copy was being made: prepare it again"
NEVER_STARTED: Final = "the server stopped before the copy was started: prepare it again"
_PREPARING: Final = frozenset({AccessRequestState.PREPARING})


class AccessRequestBusyError(Exception):
    """Too many copies are being made on this server: try again when one has ended."""


class _LostError(RuntimeError):
    """The request moved on elsewhere while its copy was made (failed by another process, refused): stop."""


class CopyJobs:
    """Making copies in the background for :class:`vigie.services.access_requests.AccessRequestService`."""

    def __init__(
        self,
        requests: AccessRequestRepo,
        audit: AuditSink,
        clock: Callable[[], datetime],
        maker: CopyMaker,
        root: Path,
    ) -> None:
        """``root``: the folder under which every copy is written (nothing outside it is ever deleted)."""
        self._requests, self._audit, self._clock, self._maker, self._root = requests, audit, clock, maker, root
        self.runner = f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"
        """This process's name on the copies it makes: host and pid make a dead process's copies known, the token
        makes it unique across restarts (a pid comes back in a container)."""
        self._lock = threading.Lock()
        self._mine: dict[int, AccessRequest] = {}
        """Copies in this process's hands not yet ended (at most ``MAX_WAITING``)."""
        self._running: int | None = None
        self._beating: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="access-copy")
        self._closed = threading.Event()

    @property
    def idle(self) -> bool:
        with self._lock:
            return not self._mine

    def require_room(self) -> None:
        """Raise :class:`AccessRequestBusyError` when this process holds ``MAX_WAITING`` copies already."""
        with self._lock:
            if len(self._mine) >= MAX_WAITING:
                raise AccessRequestBusyError(
                    f"{MAX_WAITING} copies are being made on this server: try again when one has ended"
                )

    def submit(self, request: AccessRequest, folder: Path) -> bool:
        """Make the copy of ``request`` (stored preparing, with this process as its runner) into ``folder``;
        False when the server is stopping (the copy is then failed)."""
        with self._lock:
            self._mine[_id(request)] = request
            if self._beating is None:
                self._beating = threading.Thread(target=self._heartbeat, name="access-copy-beat", daemon=True)
                self._beating.start()
        try:
            self._pool.submit(self._run, request, folder)
        except RuntimeError:  # closed meanwhile: the server is stopping
            with self._lock:
                self._mine.pop(_id(request), None)
            self._failed(request, NEVER_STARTED)
            return False
        return True

    def close(self) -> None:
        """Stop: copies waiting are failed (never started); the one being made is failed when it returns."""
        self._closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            waiting = [r for request_id, r in self._mine.items() if request_id != self._running]
            for request in waiting:
                self._mine.pop(_id(request), None)
        for request in waiting:
            self._failed(request, NEVER_STARTED)

    def fail_abandoned(self) -> int:
        """At a start: the copies a stopped process left preparing failed (audited). How many."""
        failed = sum(self.settled(r) is not r for r in self._requests.preparing())
        if failed:
            log.warning("%d access request copie(s) left unfinished by a stopped server marked failed", failed)
        return failed

    def settled(self, request: AccessRequest) -> AccessRequest:
        """``request``, or, when the process preparing its copy stopped, the request with its copy failed."""
        if request.state is not AccessRequestState.PREPARING or request.runner == self.runner:
            return request
        if not self._gone(request):
            return request
        failed = self._failed(request, STOPPED)
        if failed is not None:
            return failed
        return self._requests.get(_id(request)) or request

    def _run(self, request: AccessRequest, folder: Path) -> None:
        with self._lock:
            if _id(request) not in self._mine:  # failed by close() meanwhile
                return
            self._running = _id(request)
        try:
            if self._closed.is_set():
                self._failed(request, NEVER_STARTED)
                return
            self._make(request, folder)
        finally:
            with self._lock:
                self._running = None
                self._mine.pop(_id(request), None)

    def _make(self, request: AccessRequest, folder: Path) -> None:
        maker, scope = self._maker, request.scope
        if scope is None:  # pragma: no cover - checked when the copy was asked
            return
        written = [0.0]

        def progress(done: int, total: int) -> None:
            if time.monotonic() - written[0] < PROGRESS_EVERY_S:
                return
            written[0] = time.monotonic()
            stepped = replace(request, progress=(max(0, int(done)), max(0, int(total))), heartbeat_at=self._clock())
            if not self._requests.save(stepped, if_states=_PREPARING, if_runner=self.runner):
                raise _LostError(f"access request {request.id} moved on elsewhere")

        try:
            copy = maker.prepare(_id(request), scope, str(folder), progress)
        except _LostError:
            log.warning("access request %s moved on while its copy was made: stopped here", request.id)
            return
        except AccessRequestError as err:
            self._failed(request, str(err))
            return
        except Exception as err:
            log.exception("the copy of access request %s failed", request.id)
            self._failed(request, f"the copy could not be made ({type(err).__name__}); the server's log says more")
            return
        if self._closed.is_set():
            self._failed(request, STOPPED)
            return
        now = self._clock()
        ready = replace(
            request, state=AccessRequestState.IN_REVIEW, copy=copy, progress=None, runner=None, heartbeat_at=None
        )
        if not self._requests.save(ready, if_states=_PREPARING, if_runner=self.runner):
            log.warning("access request %s moved on while its copy was made: the copy is dropped", request.id)
            delete_folder(self._root, folder)
            return
        details = {
            **scope_details(ready),
            "outcome": "done",
            "copy": request.copies,
            "files": {f.name: f.sha256 for f in copy.files},
            "frames": copy.frames,
            "detector": copy.detector,
            "source_manifest_sha256": copy.source_manifest_sha256,
        }
        self._log(request.prepared_by or "service", ready, details, now)

    def _failed(self, request: AccessRequest, error: str, *, if_runner: str | None = None) -> AccessRequest | None:
        """The copy failed, written once (back to received, ``copy_error`` saying why) and audited; None when the
        request had moved on (another process wrote it)."""
        now = self._clock()
        failed = replace(
            request,
            state=AccessRequestState.RECEIVED,
            copy=None,
            copy_error=error,
            progress=None,
            runner=None,
            heartbeat_at=None,
        )
        try:
            if not self._requests.save(failed, if_states=_PREPARING, if_runner=if_runner or request.runner):
                return None
        except Exception:  # the database is away: failed when found stale
            log.exception("could not record that the copy of access request %s failed", request.id)
            return None
        details = {**scope_details(failed), "outcome": "failed", "copy": request.copies, "error": error}
        self._log(request.prepared_by or "service", failed, details, now)
        return failed

    def _gone(self, request: AccessRequest) -> bool:
        return runner_gone(request.runner or "", request.heartbeat_at, self._clock(), STALE_AFTER)

    def _heartbeat(self) -> None:
        while not self._closed.wait(HEARTBEAT_EVERY_S):
            with self._lock:
                if not self._mine:
                    self._beating = None
                    return
            try:
                self._requests.beat(self.runner, self._clock())
            except Exception:  # the database is away: the copies go stale, and fail, if it stays away
                log.warning("access requests: could not say this process is alive", exc_info=True)
        with self._lock:
            self._beating = None

    def _log(self, actor: str, request: AccessRequest, details: dict[str, object], at: datetime) -> None:
        target = f"access_request:{request.id}"
        self._audit.append(AuditEvent(actor, AuditAction.ACCESS_REQUEST_COPY_FINISHED, target, details, at=at))


def delete_folder(root: Path, folder: str | Path) -> None:
    """Delete ``folder`` with what is in it, when it lies under ``root`` (only ever what the service wrote)."""
    path = Path(folder)
    if path.resolve().is_relative_to(root.resolve()):
        shutil.rmtree(path, ignore_errors=True)


def scope_details(request: AccessRequest) -> dict[str, object]:
    """What the audit says of a request's scope: its id, cameras and period (never who asked, L19)."""
    out: dict[str, object] = {"request_id": request.id}
    if request.scope is not None:
        out["camera_ids"] = list(request.scope.camera_ids)
        out["start"] = format_time(request.scope.start)
        out["end"] = format_time(request.scope.end)
    return out


def _id(request: AccessRequest) -> int:
    if request.id is None:
        raise ValueError("a stored access request has an id")
    return request.id
