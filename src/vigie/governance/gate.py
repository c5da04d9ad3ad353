"""The runtime gate: the only thing that lets an analysis module run on a camera.

Analysis pipelines ask ``gate.allows(module, camera_id, at)`` before every batch of frames. :class:`ClosedGate`
is the state of a fresh install (nothing runs, L22); :class:`ActivationGate` opens a module on a camera only under
an approved, unrevoked activation within its own and its framework's end dates, and never while a stop switch is
engaged. Every opening and closing is reported (``on_transition``) and audited by the runtime.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final, Protocol

from vigie.config.models import CameraPlacement, CommuneKind, VigieConfig
from vigie.domain.activation import GovernanceSnapshot
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.governance.activation import effective_end, engaged_stops, is_approved
from vigie.governance.catalogue import Catalogue, Framework
from vigie.governance.seal import SealVerifier

log = logging.getLogger(__name__)


class ClosedGate:
    """Denies every module on every camera: the state of a fresh install (L22)."""

    def allows(self, module: str, camera_id: str, at: datetime) -> bool:
        return False

    def zones(self, module: str, camera_id: str) -> tuple[str, ...]:
        return ()


# --- Activations (issue #3) ---------------------------------------------------------------------------------
#
# ActivationGate is the gate of real cameras: a module runs on a camera at ``at`` only when no stop switch is
# engaged (global or on that camera) and an approved, non-revoked activation covers (module, camera, at), with
# ``at`` before the activation's end and before its framework's statutory end. Rules are read from storage at
# most every ``cache_ttl_s`` seconds (one gate is shared by every pipeline of a process), and compiled into end
# times that ``at`` is compared with exactly: expiry is exact, revocation and stops are seen within the TTL.

DEFAULT_CACHE_TTL_S: Final = 0.25
GATE_ACTOR: Final = "vigie:gate"


class SnapshotSource(Protocol):
    """Where the gate reads its records (implemented by ``vigie.storage.SqlGovernanceStore``)."""

    def active_rules(self, now: datetime) -> GovernanceSnapshot: ...


@dataclass(frozen=True, slots=True)
class Window:
    """One activation's time window on one (module, camera): ``starts_at <= at < ends_at``."""

    activation_id: int
    starts_at: datetime
    ends_at: datetime
    zone_ids: tuple[str, ...] = ()
    """The analysis zones the activation is limited to (empty: the whole image)."""


@dataclass(frozen=True, slots=True)
class GateRules:
    """Compiled, checked rules: what the gate compares frames' times with."""

    global_stop: bool = False
    stopped_cameras: frozenset[str] = frozenset()
    windows: Mapping[tuple[str, str], tuple[Window, ...]] = field(default_factory=dict)
    revoked: frozenset[int] = frozenset()
    unverified: Mapping[int, GateRefusal] = field(default_factory=dict)
    """Activations refused because their seals do not verify, by id (audited once per gate)."""


class RulesSource(Protocol):
    def rules(self, now: datetime) -> GateRules: ...


@dataclass(frozen=True, slots=True)
class GateTransition:
    """A module starting or stopping on a camera; the runtime audits it (``gate.opened`` / ``gate.closed``)."""

    module: str
    camera_id: str
    opened: bool
    activation_id: int | None
    reason: str
    """``started`` when opening; ``expired``, ``revoked``, ``stopped``, ``withdrawn`` or ``rules_unavailable``."""
    at: datetime


@dataclass(frozen=True, slots=True)
class GateRefusal:
    """An activation the gate refuses because its records do not verify (forged or altered rows); the runtime
    audits it (``activation.unverified``)."""

    activation_id: int
    module: str
    camera_ids: tuple[str, ...]
    reason: str
    at: datetime
    camera_id: str = ""
    """The camera whose worker saw it (set by the worker: the gate serves any camera)."""


def refusal_event(refusal: GateRefusal) -> AuditEvent:
    """The audit event of a refused, unverified activation."""
    return AuditEvent(
        actor=GATE_ACTOR,
        action=AuditAction.ACTIVATION_UNVERIFIED,
        target=f"activation:{refusal.activation_id}",
        details={"module": refusal.module, "cameras": list(refusal.camera_ids), "reason": refusal.reason},
        at=refusal.at,
    )


def transition_event(transition: GateTransition) -> AuditEvent:
    """The audit event of a transition, in the shape the compliance report reads."""
    return AuditEvent(
        actor=GATE_ACTOR,
        action=AuditAction.GATE_OPENED if transition.opened else AuditAction.GATE_CLOSED,
        target=f"{transition.module}@{transition.camera_id}",
        details={
            "module": transition.module,
            "camera_id": transition.camera_id,
            "activation_id": "" if transition.activation_id is None else str(transition.activation_id),
            "reason": transition.reason,
        },
        at=transition.at,
    )


def compile_rules(
    snapshot: GovernanceSnapshot, catalogue: Catalogue, config: VigieConfig, now: datetime, verifier: SealVerifier
) -> GateRules:
    """Check every activation again — its seals and its approvals' seals, approvals, revocation, framework and its
    end date, tenant, camera setting — and keep only what may run. A row written straight into the database
    proves nothing by itself: without the governance service's seals it is refused (``unverified``)."""
    global_stop, stopped = engaged_stops(snapshot.stops)
    revoked = frozenset(i for i, at in snapshot.revocations.items() if at <= now)
    cameras = {p.camera.id: p for p in config.placements()}
    windows: dict[tuple[str, str], list[Window]] = {}
    unverified: dict[int, GateRefusal] = {}
    for activation in snapshot.activations:
        if activation.id in revoked:
            continue
        mine = [a for a in snapshot.approvals if a.activation_id == activation.id]
        reason = verifier.unverified_reason(activation, mine)
        if reason is not None:
            unverified[activation.id] = GateRefusal(
                activation.id, activation.module, activation.camera_ids, reason, now
            )
            continue
        if not is_approved(activation, mine):
            continue
        module = catalogue.module(activation.module)
        framework = catalogue.framework(activation.framework)
        end = effective_end(activation, catalogue)
        if module is None or framework is None or end is None or framework.id not in module.frameworks:
            continue
        for camera_id in activation.camera_ids:
            placement = cameras.get(camera_id)
            if placement is None or not _camera_may_run(placement, activation.tenant, framework, module.tenant_kinds):
                continue
            window = Window(activation.id, activation.starts_at, end, activation.zone_ids)
            windows.setdefault((module.id, camera_id), []).append(window)
    return GateRules(global_stop, stopped, {k: tuple(v) for k, v in windows.items()}, revoked, unverified)


def _camera_may_run(
    placement: CameraPlacement, tenant: str, framework: Framework, module_kinds: tuple[CommuneKind, ...]
) -> bool:
    kind = placement.commune.kind
    return (
        placement.commune.id == tenant
        and placement.camera.setting in framework.settings
        and kind in framework.tenant_kinds
        and kind in module_kinds
    )


class CheckedRules:
    """A :class:`RulesSource` over storage: reads the snapshot and compiles it against the catalogue and the
    configuration (recompiling only when the snapshot changed)."""

    def __init__(
        self, source: SnapshotSource, catalogue: Catalogue, config: VigieConfig, verifier: SealVerifier
    ) -> None:
        self._source = source
        self._catalogue = catalogue
        self._config = config
        self._verifier = verifier
        self._last: tuple[GovernanceSnapshot, datetime, GateRules] | None = None

    def rules(self, now: datetime) -> GateRules:
        snapshot = self._source.active_rules(now)
        last = self._last
        if last is not None and last[0] == snapshot and not _revocation_between(snapshot, last[1], now):
            return last[2]
        rules = compile_rules(snapshot, self._catalogue, self._config, now, self._verifier)
        self._last = (snapshot, now, rules)
        return rules


def _revocation_between(snapshot: GovernanceSnapshot, before: datetime, now: datetime) -> bool:
    return any(before < at <= now for at in snapshot.revocations.values())


class ActivationGate:
    """The gate of real cameras (see the section comment above). Thread-safe; share one per process."""

    def __init__(
        self,
        rules_source: RulesSource,
        clock: Callable[[], datetime],
        *,
        cache_ttl_s: float = DEFAULT_CACHE_TTL_S,
        on_transition: Callable[[GateTransition | GateRefusal], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 <= cache_ttl_s < 1:
            raise ValueError(f"cache_ttl_s must be in [0, 1) so that a stop is seen within a second: {cache_ttl_s}")
        self._source = rules_source
        self._clock = clock
        self._ttl = cache_ttl_s
        self._on_transition = on_transition
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._rules = GateRules()
        self._loaded_at: float | None = None
        self._unavailable = False
        self._open: dict[tuple[str, str], Window] = {}
        """Open (module, camera) pairs only: bounded by the activations' perimeters."""
        self._refused: set[int] = set()
        """Unverified activations already reported (bounded by the activations read)."""

    def allows(self, module: str, camera_id: str, at: datetime) -> bool:
        with self._lock:
            rules = self._current_rules()
            window = None if self._unavailable else _covering(rules, module, camera_id, at)
            key = (module, camera_id)
            previous = self._open.get(key)
            if window is not None:
                if previous is None:
                    self._notify(GateTransition(module, camera_id, True, window.activation_id, "started", at))
                self._open[key] = window
                return True
            if previous is not None:
                del self._open[key]
                reason = self._close_reason(rules, camera_id, previous, at)
                self._notify(GateTransition(module, camera_id, False, previous.activation_id, reason, at))
            return False

    def zones(self, module: str, camera_id: str) -> tuple[str, ...]:
        """The zones of the window open for (module, camera) at the last :meth:`allows`; empty: whole image."""
        with self._lock:
            window = self._open.get((module, camera_id))
            return () if window is None else window.zone_ids

    def refresh(self) -> None:
        """Read the rules now, whatever the cache age (after a change made in this process)."""
        with self._lock:
            self._loaded_at = None
            self._current_rules()

    def _current_rules(self) -> GateRules:
        tick = self._monotonic()
        if self._loaded_at is not None and tick - self._loaded_at < self._ttl:
            return self._rules
        try:
            self._rules = self._source.rules(self._clock())
            self._unavailable = False
            for activation_id, refusal in self._rules.unverified.items():
                if activation_id not in self._refused:
                    self._refused.add(activation_id)
                    self._notify(refusal)
        except Exception:
            # Fail closed: rules that cannot be read cannot prove a revocation or a stop did not happen.
            log.exception("governance rules unavailable; every module is stopped until they can be read")
            self._rules = GateRules()
            self._unavailable = True
        self._loaded_at = tick
        return self._rules

    def _close_reason(self, rules: GateRules, camera_id: str, previous: Window, at: datetime) -> str:
        if self._unavailable:
            return "rules_unavailable"
        if rules.global_stop or camera_id in rules.stopped_cameras:
            return "stopped"
        if previous.activation_id in rules.revoked:
            return "revoked"
        if at >= previous.ends_at:
            return "expired"
        return "withdrawn"

    def _notify(self, transition: GateTransition | GateRefusal) -> None:
        if self._on_transition is not None:
            self._on_transition(transition)


def _covering(rules: GateRules, module: str, camera_id: str, at: datetime) -> Window | None:
    """The window that lets the module run (the one ending last), limited to the union of the covering
    activations' zones — or to nothing less than the whole image when one of them has no zone."""
    if rules.global_stop or camera_id in rules.stopped_cameras:
        return None
    covering = [w for w in rules.windows.get((module, camera_id), ()) if w.starts_at <= at < w.ends_at]
    if not covering:
        return None
    best = max(covering, key=lambda w: w.ends_at)
    if any(not w.zone_ids for w in covering):
        return replace(best, zone_ids=())
    return replace(best, zone_ids=tuple(sorted({z for w in covering for z in w.zone_ids})))
