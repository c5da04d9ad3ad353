"""A dome's auto-tracking as the PTZ service sees it: the session under way, how the last one ended, and its audit.

Auto-tracking (``ptz_autotracking``) drives a dome as the system, below every person
(:class:`vigie.services.ptz.PtzService`): the runtime's :class:`TrackingRunner` reads the picture and asks the
governance gate; the service carries out its moves only while its session is the dome's current one, and ends it
first whenever a person commands the dome. One session's start and end are two audit entries
(``autotracking.started``/``autotracking.ended``); its moves, several a second, are counted in the end entry. Nothing
of the target is written (no picture, no description): who designated it, the box, the activation, why it ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.geometry import Box

TRACKING_MODULE: Final = "ptz_autotracking"
SYSTEM_TRACKING: Final = "system:autotracking"
"""The actor of a tracking session's end that no person caused (target lost, time up, activation closed)."""
PERSON_COMMAND: Final = "person_command"
"""Why a tracking session ended when a person commanded its dome."""
NEW_TARGET: Final = "new_target"


class TrackingRefusedError(PermissionError):
    """Auto-tracking may not start on this dome now (no activation of ``ptz_autotracking`` covering it, a stop
    switch, no picture); the message says why and what to do."""


class TrackingBusyError(RuntimeError):
    """The service already follows as many targets as it may at once; the message says how to free one."""


class TrackingRunner(Protocol):
    """What carries out auto-tracking for the service (built by the runtime: it reads the dome's picture and asks
    the governance gate). ``start`` designates the target boxed (normalised) on the dome's picture for ``by``, or
    raises :class:`TrackingRefusedError` / :class:`TrackingBusyError`; ``stop`` ends it for ``by`` (the dome
    stops); ``person_took`` says a person's command already ended it (the dome is theirs: nothing is sent)."""

    def start(self, camera_id: str, box: Box, by: str) -> None: ...

    def stop(self, camera_id: str, by: str) -> bool: ...

    def person_took(self, camera_id: str, actor: str) -> None: ...


@dataclass(frozen=True, slots=True)
class TrackingView:
    """A dome's auto-tracking as the console shows it: the session running (who designated, since when, under
    which activation), else how the last one ended."""

    active: bool
    designated_by: str | None = None
    since: datetime | None = None
    activation_id: int | None = None
    ended_reason: str | None = None
    ended_by: str | None = None
    ended_at: datetime | None = None


@dataclass(slots=True)
class _Session:
    number: int
    designated_by: str
    activation_id: int | None
    started: datetime
    moves: int = 0


class DomeTracking:
    """One dome's tracking state (not thread-safe: guarded by the service's lock of that dome). Each change returns
    the audit entries it makes, for the service to write."""

    def __init__(self, camera_id: str) -> None:
        self._target = f"camera:{camera_id}"
        self._current: _Session | None = None
        self._last_end: TrackingView | None = None

    @property
    def active(self) -> bool:
        return self._current is not None

    def view(self) -> TrackingView:
        current = self._current
        if current is not None:
            return TrackingView(True, current.designated_by, current.started, current.activation_id)
        return self._last_end or TrackingView(False)

    def is_current(self, session: int) -> bool:
        return self._current is not None and self._current.number == session

    def moved(self) -> None:
        """The current session's move was carried out (counted for its end entry)."""
        if self._current is not None:
            self._current.moves += 1

    def begin(
        self, session: int, designated_by: str, activation_id: int | None, box: Box, now: datetime, **extra: Any
    ) -> list[AuditEvent]:
        """A new session (one under way ends first, as ``new_target``): its entries."""
        entries = self.end(NEW_TARGET, designated_by, now)
        self._current = _Session(session, designated_by, activation_id, now)
        details: dict[str, Any] = {
            "module": TRACKING_MODULE,
            "activation": activation_id,
            "box": {k: round(v, 4) for k, v in (("x", box.x), ("y", box.y), ("w", box.w), ("h", box.h))},
            "session": session,
            **extra,
        }
        entries.append(AuditEvent(designated_by, AuditAction.AUTOTRACKING_STARTED, self._target, details, now))
        return entries

    def end(self, reason: str, by: str | None, now: datetime, frames: int | None = None) -> list[AuditEvent]:
        """The current session, if any, ends for ``reason`` (``by`` the person who ended it): its entry."""
        current, self._current = self._current, None
        if current is None:
            return []
        self._last_end = TrackingView(
            False, current.designated_by, current.started, current.activation_id, reason, by, now
        )
        details: dict[str, Any] = {
            "module": TRACKING_MODULE,
            "activation": current.activation_id,
            "designated_by": current.designated_by,
            "reason": reason,
            "moves": current.moves,
            "duration_s": round((now - current.started).total_seconds(), 3),
            "session": current.number,
        }
        if by is not None:
            details["by"] = by
        if frames is not None:
            details["frames"] = frames
        return [AuditEvent(by or SYSTEM_TRACKING, AuditAction.AUTOTRACKING_ENDED, self._target, details, now)]
