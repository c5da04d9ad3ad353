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

    def activation_id(self, module: str, camera_id: str) -> int | None:
        return None


# --- Activations (issue #3) ---------------------------------------------------------------------------------
#
# ActivationGate is the gate of real cameras: a module runs on a camera at ``at`` only when no stop switch is
# engaged (global or on that camera) and an approved, non-revoked activation covers (module, camera, at), with
# ``at`` before the activation's end and before its framework's statutory end. Rules are compiled into end times
# that ``at`` is compared with exactly, at every ``allows`` and without the database: expiry is exact.
#
# Rules are pushed, not polled (issue 16). The database keeps a governance version that its own triggers bump on
# every change to the governance tables; the gate confirms it at least every ``cache_ttl_s`` seconds (one
# single-row query) and re-reads the full snapshot only when it moved (CheckedRules with ``versions``). On
# PostgreSQL a LISTEN connection wakes the gate at once (``wake``); the periodic check stays as the heartbeat.
# Fail-closed: a check that fails closes every module at once, and so does a check that has not succeeded for
# CONFIRM_DEADLINE_S (a database that hangs rather than answers). One gate is shared by every camera thread of a
# process: one thread checks at a time, the others answer from the confirmed rules meanwhile.

DEFAULT_CACHE_TTL_S: Final = 0.25
"""How often the gate confirms its rules (the version check, or the full read without a version source)."""
CONFIRM_DEADLINE_S: Final = 1.0
"""Every module closes when the rules have not been confirmed for this long (a database that hangs rather than
fails); a check that fails closes them at once."""
DEFAULT_RESYNC_S: Final = 60.0
"""Even when the version has not moved, the full snapshot is read again this often: a backstop against triggers
dropped by hand (a change they would have announced is then seen within this time, and re-checked as always)."""
GATE_ACTOR: Final = "vigie:gate"


class SnapshotSource(Protocol):
    """Where the gate reads its records (implemented by ``vigie.storage.SqlGovernanceStore``)."""

    def active_rules(self, now: datetime) -> GovernanceSnapshot: ...


class VersionSource(Protocol):
    """The database's governance version (implemented by ``vigie.storage.SqlGovernanceStore``): a counter that
    moves on every change to what :meth:`SnapshotSource.active_rules` reads."""

    def governance_version(self) -> int:
        """One cheap query; raises when the version cannot be read."""
        ...


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
    configuration (recompiling only when the snapshot changed, or when a revocation's time has come).

    With ``versions``, each call first reads the database's governance version and reads the snapshot again only
    when it moved (or every ``resync_s``, :data:`DEFAULT_RESYNC_S`); without, every call reads the snapshot. The
    version is read before the snapshot, so a change committed between the two is read again at the next call,
    never missed. Not thread-safe by itself: the gate calls it from one thread at a time."""

    def __init__(
        self,
        source: SnapshotSource,
        catalogue: Catalogue,
        config: VigieConfig,
        verifier: SealVerifier,
        *,
        versions: VersionSource | None = None,
        resync_s: float = DEFAULT_RESYNC_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._catalogue = catalogue
        self._config = config
        self._verifier = verifier
        self._versions = versions
        self._resync_s = resync_s
        self._monotonic = monotonic
        self._last: tuple[GovernanceSnapshot, datetime, GateRules] | None = None
        self._read: tuple[int, float] | None = None
        """The version the last snapshot was read under, and when (monotonic)."""

    def rules(self, now: datetime) -> GateRules:
        snapshot, read = self._snapshot(now)
        last = self._last
        if last is not None and last[0] == snapshot and not _revocation_between(snapshot, last[1], now):
            rules = last[2]
        else:
            rules = compile_rules(snapshot, self._catalogue, self._config, now, self._verifier)
            self._last = (snapshot, now, rules)
        if read is not None:
            self._read = read
        return rules

    def _snapshot(self, now: datetime) -> tuple[GovernanceSnapshot, tuple[int, float] | None]:
        """The snapshot to compile, and (version, when) when it was read just now under a version."""
        if self._versions is None:
            return self._source.active_rules(now), None
        version = self._versions.governance_version()
        tick = self._monotonic()
        read, last = self._read, self._last
        if last is not None and read is not None and read[0] == version and tick - read[1] < self._resync_s:
            return last[0], None
        return self._source.active_rules(now), (version, tick)


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
        if not 0 <= cache_ttl_s < CONFIRM_DEADLINE_S:
            raise ValueError(f"cache_ttl_s must be in [0, 1) so that a stop is seen within a second: {cache_ttl_s}")
        self._source = rules_source
        self._clock = clock
        self._ttl = cache_ttl_s
        self._on_transition = on_transition
        self._monotonic = monotonic
        self._lock = threading.Lock()
        """Guards the state below; never held while the database is read."""
        self._checking = threading.Lock()
        """Held by the one thread that confirms the rules (reads the database)."""
        self._rules = GateRules()
        self._checked_at: float | None = None
        """When the rules were last checked, successfully or not (monotonic); None: never."""
        self._confirmed_at: float | None = None
        """When the rules were last confirmed (monotonic); None: never, or the last check failed."""
        self._woken = False
        self._check_started: float | None = None
        """When the check under way started (monotonic); None: no check under way."""
        self._open: dict[tuple[str, str], Window] = {}
        """Open (module, camera) pairs only: bounded by the activations' perimeters."""
        self._refused: set[int] = set()
        """Unverified activations already reported (bounded by the activations read)."""

    def allows(self, module: str, camera_id: str, at: datetime) -> bool:
        self._confirm_if_due()
        self._await_check_under_way()
        with self._lock:
            unavailable = not self._confirmed(self._monotonic())
            rules = GateRules() if unavailable else self._rules
            window = _covering(rules, module, camera_id, at)
            key = (module, camera_id)
            previous = self._open.get(key)
            if window is not None:
                if previous is None:
                    self._notify(GateTransition(module, camera_id, True, window.activation_id, "started", at))
                self._open[key] = window
                return True
            if previous is not None:
                del self._open[key]
                reason = "rules_unavailable" if unavailable else self._close_reason(rules, camera_id, previous, at)
                self._notify(GateTransition(module, camera_id, False, previous.activation_id, reason, at))
            return False

    def zones(self, module: str, camera_id: str) -> tuple[str, ...]:
        """The zones of the window open for (module, camera) at the last :meth:`allows`; empty: whole image."""
        with self._lock:
            window = self._open.get((module, camera_id))
            return () if window is None else window.zone_ids

    def activation_id(self, module: str, camera_id: str) -> int | None:
        """The activation of the window open for (module, camera) at the last :meth:`allows`; None: closed. What a
        module's results carry to name the authority they were made under (plate reads, L35)."""
        with self._lock:
            window = self._open.get((module, camera_id))
            return None if window is None else window.activation_id

    def refresh(self) -> None:
        """Confirm the rules now, whatever their age (after a change made in this process); waits for a check
        another thread is making."""
        with self._checking:
            self._check()

    def wake(self) -> None:
        """Something changed (a PostgreSQL notification): the next :meth:`allows` confirms the rules first.
        Cheap and safe from any thread; a stray call only costs one version check."""
        with self._lock:
            self._woken = True

    def _confirmed(self, tick: float) -> bool:
        return self._confirmed_at is not None and tick - self._confirmed_at < CONFIRM_DEADLINE_S

    def _due(self) -> bool:
        with self._lock:
            checked_at = self._checked_at
            return self._woken or checked_at is None or self._monotonic() - checked_at >= self._ttl

    def _confirm_if_due(self) -> None:
        if not self._due():
            return
        # One thread checks; the others answer from the confirmed rules meanwhile (closed once they are older
        # than CONFIRM_DEADLINE_S) — except before the first check, when they wait for it (and then use it).
        if not self._checking.acquire(blocking=self._checked_at is None):
            return
        try:
            if self._due():
                self._check()
        finally:
            self._checking.release()

    def _await_check_under_way(self) -> None:
        """Rules that went stale while another thread's check is under way (on a busy host that thread may just
        not have been scheduled): wait for that check, but only as long as what it confirms would still be under
        CONFIRM_DEADLINE_S old — rather than close every module for a moment and open it again, each closing and
        opening an audit entry. A check that does not end in time leaves the modules to close as before."""
        with self._lock:
            started, now = self._check_started, self._monotonic()
            if started is None or self._confirmed(now):
                return
            budget = CONFIRM_DEADLINE_S - (now - started)
        if budget > 0 and self._checking.acquire(timeout=budget):
            self._checking.release()

    def _check(self) -> None:
        started = self._monotonic()  # the rules read hold from here: what their age is counted from
        with self._lock:
            self._woken = False
            self._check_started = started
        try:
            rules = self._source.rules(self._clock())
        except Exception:
            # Fail closed: rules that cannot be confirmed cannot prove a revocation or a stop did not happen.
            log.exception("governance rules unavailable; every module is stopped until they can be read")
            with self._lock:
                self._rules = GateRules()
                self._checked_at = self._monotonic()
                self._confirmed_at = None
                self._check_started = None
            return
        with self._lock:
            self._rules = rules
            self._confirmed_at = started
            self._checked_at = self._monotonic()
            self._check_started = None
            for activation_id, refusal in rules.unverified.items():
                if activation_id not in self._refused:
                    self._refused.add(activation_id)
                    self._notify(refusal)

    def _close_reason(self, rules: GateRules, camera_id: str, previous: Window, at: datetime) -> str:
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
