"""Alerts: what an event module raises, and what a person decides about it (L28, L31).

An alert carries only the event type, the camera, the time, the image region, the score and the model version
(L28, L30). It is born ``pending``; only a person moves it on — confirmed (a real event, to act on) or dismissed
with a verdict (false positive, real but nothing to do, duplicate) — and only a confirmed alert is ever
dispatched outside the console (message, loudspeaker, notification): nothing acts on its own (art. 10 of the
2023-380 law; AI Act art. 14). Verdicts make the false-positive rate per module and camera (L31).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
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


class AlertPriority(enum.StrEnum):
    """How soon a pending alert should be looked at: the operators' queue shows the most urgent first (issue 24).
    A priority orders what a person looks at; it never decides anything."""

    CRITICAL = "critical"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for the most urgent."""
        return list(AlertPriority).index(self)


DEFAULT_PRIORITIES: Mapping[str, AlertPriority] = {
    # a threat to life first (décret 2023-828's weapon, fire start, person on the ground), then what may become one
    "weapon": AlertPriority.CRITICAL,
    "fire_start": AlertPriority.CRITICAL,
    "person_on_ground": AlertPriority.HIGH,
    "crowd_movement": AlertPriority.HIGH,
    "intrusion": AlertPriority.HIGH,
    "abandoned_object": AlertPriority.HIGH,
    "plate_reading": AlertPriority.HIGH,  # a vehicle on a hit list
}
"""The priority of each module's alerts unless the configuration (``alerts.priorities``) says otherwise."""


@dataclass(frozen=True, slots=True)
class AlertPriorities:
    """The priority of an alert, by its module: the configuration's choice, else :data:`DEFAULT_PRIORITIES`, else
    ``default``."""

    overrides: Mapping[str, AlertPriority] = field(default_factory=dict)
    default: AlertPriority = AlertPriority.NORMAL

    def of(self, alert: Alert) -> AlertPriority:
        return self.overrides.get(alert.module) or DEFAULT_PRIORITIES.get(alert.module) or self.default

    def check_modules(self, known: Collection[str]) -> None:
        """Refuse a priority given to a module the legal catalogue does not know (a typo would go unnoticed)."""
        unknown = sorted(set(self.overrides) - set(known))
        if unknown:
            raise ValueError(
                f"alerts.priorities names {', '.join(unknown)}: no such module in the legal catalogue; "
                f"use one of {', '.join(sorted(known))}"
            )


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
