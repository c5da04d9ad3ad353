"""Alerts: what an event module raises, and what a person decides about it (L28, L31).

An alert carries only the event type, the camera, the time, the image region, the score and the model version
(L28, L30). It is born ``pending``; only a person moves it on — confirmed (a real event, to act on) or dismissed
with a verdict (false positive, real but nothing to do, duplicate) — and only a confirmed alert is ever
dispatched outside the console (message, loudspeaker, notification): nothing acts on its own (art. 10 of the
2023-380 law; AI Act art. 14). Verdicts make the false-positive rate per module and camera (L31).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from vigie.domain.geometry import Box


class AlertState(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class Verdict(enum.StrEnum):
    """What the person who looked at the alert decided."""

    CONFIRMED = "confirmed"
    """A real event, to act on: the only verdict that dispatches the alert."""
    FALSE_POSITIVE = "false_positive"
    """Not what the module said (a shadow, a sleeping person taken for a bag…)."""
    NOT_ACTIONABLE = "not_actionable"
    """A real event, but nothing to do (already handled, harmless)."""
    DUPLICATE = "duplicate"
    """The same incident as another alert."""


DISMISSALS = frozenset({Verdict.FALSE_POSITIVE, Verdict.NOT_ACTIONABLE, Verdict.DUPLICATE})


@dataclass(frozen=True, slots=True)
class Alert:
    camera_id: str
    module: str
    kind: str
    at: datetime
    """When the event was seen (the analysed frame's time)."""
    region: Box
    score: float
    model_version: str
    state: AlertState = AlertState.PENDING
    verdict: Verdict | None = None
    decided_by: str | None = None
    decided_role: str | None = None
    decided_at: datetime | None = None
    note: str = ""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AlertCount:
    """How many alerts of one module on one camera have one verdict (None = still pending)."""

    module: str
    camera_id: str
    verdict: Verdict | None
    count: int


class AlertNotFoundError(LookupError):
    """No alert has this id."""


class AlertAlreadyDecidedError(ValueError):
    """The alert has a verdict already; verdicts are never overwritten."""


class AlertRepo(Protocol):
    def add(self, alert: Alert) -> Alert:
        """Store a new pending alert; return it with its id."""
        ...

    def get(self, alert_id: int) -> Alert | None: ...

    def decide(self, alert_id: int, verdict: Verdict, *, by: str, role: str, at: datetime, note: str = "") -> Alert:
        """Record the verdict of a pending alert (``AlertNotFoundError``, ``AlertAlreadyDecidedError``)."""
        ...

    def list(
        self,
        *,
        state: AlertState | None = None,
        camera_ids: Sequence[str] | None = None,
        module: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[Alert]:
        """Newest first."""
        ...

    def counts(self, *, since: datetime | None = None) -> Sequence[AlertCount]: ...


class AlertDispatcher(Protocol):
    """Something outside the console that acts on confirmed alerts (a message, a loudspeaker, a radio bridge)."""

    def dispatch(self, alert: Alert) -> None: ...
