"""The alert lifecycle (L28, L31): event modules raise, a person decides, and only then anything is dispatched.

``raise_alert`` stores an observation of an event module as a *pending* alert and audits it; nothing leaves the
console at that point. ``confirm`` and ``dismiss`` record a person's verdict (who, in which role, when, why),
audit it, and — for a confirmation only — hand the alert to the dispatchers (a message to a patrol, a recorded
loudspeaker announcement…). A dispatcher that fails never undoes the verdict: the failure is logged and audited.
``statistics`` gives, per module and camera, how many alerts were raised and decided and the false-positive
rate from the verdicts (what the CNIL and the 2025 evaluation asked of every deployment).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from vigie.domain.actor import Actor
from vigie.domain.alerts import (
    DISMISSALS,
    Alert,
    AlertDispatcher,
    AlertPriorities,
    AlertPriority,
    AlertRepo,
    AlertState,
    Verdict,
)
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.observation import Observation
from vigie.domain.ports import AuditSink
from vigie.domain.users import Permission
from vigie.services.access import NotVisibleError, Principal

log = logging.getLogger(__name__)

DECIDING_ROLES = frozenset({"operator", "supervisor"})
"""Who may give a verdict: the people watching the supervision centre's screens."""


class AlertRefusedError(ValueError):
    """The verdict cannot be recorded as asked; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class ModuleStatistics:
    """Alerts of one module on one camera and what people decided about them (L31)."""

    module: str
    camera_id: str
    raised: int
    pending: int
    confirmed: int
    false_positives: int
    not_actionable: int
    duplicates: int

    @property
    def decided(self) -> int:
        return self.raised - self.pending

    @property
    def false_positive_rate(self) -> float | None:
        """False positives among decided alerts (duplicates left out: they are neither right nor wrong)."""
        judged = self.decided - self.duplicates
        return None if judged <= 0 else self.false_positives / judged


class AlertService:
    def __init__(
        self,
        repo: AlertRepo,
        audit: AuditSink,
        clock: Callable[[], datetime],
        dispatchers: Sequence[AlertDispatcher] = (),
        on_verdict: Callable[[Alert], None] | None = None,
        *,
        priorities: AlertPriorities | None = None,
    ) -> None:
        """``on_verdict(alert)`` is told of each verdict recorded (the metrics count them per module);
        ``priorities`` orders the operators' queue (default: the built-in priority of each module)."""
        self._repo = repo
        self._audit = audit
        self._clock = clock
        self._dispatchers = tuple(dispatchers)
        self._on_verdict = on_verdict
        self._priorities = priorities or AlertPriorities()

    def priority_of(self, alert: Alert) -> AlertPriority:
        """How soon a person should look at ``alert`` (by its module, as configured)."""
        return self._priorities.of(alert)

    def raise_alert(self, observation: Observation) -> Alert:
        """Store ``observation`` as a pending alert (one region: the observation's first) and audit it."""
        if not observation.regions:
            raise ValueError("an alert needs the image region of what was seen")
        alert = self._repo.add(
            Alert(
                camera_id=observation.camera_id,
                module=observation.module,
                kind=observation.kind,
                at=observation.at,
                region=observation.regions[0],
                score=observation.score,
                model_version=observation.model_version,
            )
        )
        self._audit.append(
            AuditEvent(
                actor=f"vigie:{observation.module}",
                action=AuditAction.ALERT_RAISED,
                target=observation.camera_id,
                details={
                    "alert": alert.id,
                    "kind": alert.kind,
                    "score": alert.score,
                    "model_version": alert.model_version,
                },
                at=observation.at,
            )
        )
        return alert

    def confirm(self, alert_id: int, *, by: Actor, note: str = "") -> Alert:
        """A person confirms the alert: recorded, audited, then dispatched."""
        alert = self._decide(alert_id, Verdict.CONFIRMED, by=by, note=note)
        for dispatcher in self._dispatchers:
            try:
                dispatcher.dispatch(alert)
            except Exception as err:  # the verdict stands; the failure is traced
                log.exception("dispatch of alert %s failed", alert.id)
                self._audit.append(
                    AuditEvent(
                        actor="vigie:dispatch",
                        action=AuditAction.ALERT_VERDICT,
                        target=alert.camera_id,
                        details={"alert": alert.id, "dispatch_failed": type(dispatcher).__name__, "error": str(err)},
                    )
                )
        return alert

    def dismiss(self, alert_id: int, *, by: Actor, verdict: Verdict = Verdict.FALSE_POSITIVE, note: str = "") -> Alert:
        """A person dismisses the alert with a verdict; nothing is dispatched."""
        if verdict not in DISMISSALS:
            raise AlertRefusedError(
                f"dismiss with one of {', '.join(sorted(v.value for v in DISMISSALS))}, not {verdict.value}"
            )
        return self._decide(alert_id, verdict, by=by, note=note)

    def _decide(self, alert_id: int, verdict: Verdict, *, by: Actor, note: str) -> Alert:
        name, role = by.name.strip(), by.role
        if not by.person:
            raise AlertRefusedError("a verdict needs the name of the person who gives it")
        if role not in DECIDING_ROLES:
            raise AlertRefusedError(f"role {role!r} cannot decide alerts; one of {', '.join(sorted(DECIDING_ROLES))}")
        now = self._clock()
        alert = self._repo.decide(alert_id, verdict, by=name, role=role, at=now, note=note.strip())
        self._audit.append(
            AuditEvent(
                actor=name,
                action=AuditAction.ALERT_VERDICT,
                target=alert.camera_id,
                details={"alert": alert_id, "verdict": verdict.value, "role": role, "module": alert.module},
                at=now,
            )
        )
        if self._on_verdict is not None:
            try:
                self._on_verdict(alert)
            except Exception:  # counting a verdict never undoes it
                log.exception("counting the verdict of alert %s failed", alert_id)
        return alert

    def pending(self, camera_ids: Sequence[str] | None = None, limit: int = 100) -> Sequence[Alert]:
        return self._repo.list(state=AlertState.PENDING, camera_ids=camera_ids, limit=limit)

    def search(
        self,
        *,
        state: AlertState | None = None,
        camera_ids: Sequence[str] | None = None,
        module: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[Alert]:
        """Alerts, newest first (``camera_ids`` limits them to the cameras the caller may see)."""
        return self._repo.list(
            state=state, camera_ids=camera_ids, module=module, since=since, limit=limit, offset=offset
        )

    # --- on behalf of a logged-in person: permission and tenant checked here, for every route ---------------------

    def list_for(
        self,
        viewer: Principal,
        *,
        state: AlertState | None = None,
        camera_id: str | None = None,
        module: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[Alert]:
        """Alerts of the cameras ``viewer`` may see, newest first."""
        viewer.require(Permission.READ_ALERTS)
        if camera_id is not None:
            viewer.require_camera(camera_id)
        cameras = [camera_id] if camera_id is not None else viewer.visible_cameras()
        return self.search(state=state, camera_ids=cameras, module=module, since=since, limit=limit, offset=offset)

    def get_for(self, viewer: Principal, alert_id: int) -> Alert:
        viewer.require(Permission.READ_ALERTS)
        alert = self._repo.get(alert_id)
        if alert is None or not viewer.sees_camera(alert.camera_id):
            raise NotVisibleError(f"no alert {alert_id} among the alerts you may see")
        return alert

    def confirm_as(self, viewer: Principal, alert_id: int, *, note: str = "") -> Alert:
        role = self._deciding_role(viewer, alert_id)
        return self.confirm(alert_id, by=Actor(viewer.actor, role, viewer.user.commune_id), note=note)

    def dismiss_as(
        self, viewer: Principal, alert_id: int, *, verdict: Verdict = Verdict.FALSE_POSITIVE, note: str = ""
    ) -> Alert:
        role = self._deciding_role(viewer, alert_id)
        return self.dismiss(alert_id, by=Actor(viewer.actor, role, viewer.user.commune_id), verdict=verdict, note=note)

    def _deciding_role(self, viewer: Principal, alert_id: int) -> str:
        viewer.require(Permission.DECIDE_ALERTS)
        self.get_for(viewer, alert_id)
        role = viewer.role_for(DECIDING_ROLES)
        if role is None:  # DECIDE_ALERTS comes only with a deciding role; kept as a guard
            raise AlertRefusedError("none of your roles can decide alerts")
        return role

    def statistics_for(self, viewer: Principal, since: datetime | None = None) -> list[ModuleStatistics]:
        viewer.require(Permission.READ_ALERTS)
        return [s for s in self.statistics(since) if viewer.sees_camera(s.camera_id)]

    def statistics(self, since: datetime | None = None) -> list[ModuleStatistics]:
        table: dict[tuple[str, str], dict[Verdict | None, int]] = {}
        for count in self._repo.counts(since=since):
            table.setdefault((count.module, count.camera_id), {})[count.verdict] = count.count
        return [
            ModuleStatistics(
                module=module,
                camera_id=camera_id,
                raised=sum(by_verdict.values()),
                pending=by_verdict.get(None, 0),
                confirmed=by_verdict.get(Verdict.CONFIRMED, 0),
                false_positives=by_verdict.get(Verdict.FALSE_POSITIVE, 0),
                not_actionable=by_verdict.get(Verdict.NOT_ACTIONABLE, 0),
                duplicates=by_verdict.get(Verdict.DUPLICATE, 0),
            )
            for (module, camera_id), by_verdict in sorted(table.items())
        ]
