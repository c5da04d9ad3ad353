"""Driving domes: moves, presets, tours, who holds a dome, and the return home — every move audited.

A supervision centre has more operators than domes. Whoever moves a dome holds it for :data:`LOCK_S` seconds after
their last command; another person may take it only with a role of higher priority (:data:`ROLE_PRIORITY`:
supervisor over operator), else the command is refused with who holds it and until when. A tour (a patrol between
presets, each held ``dwell_s``) and the return home after inactivity act as the system, below every person: any
person's command stops the tour and takes the dome. Each command is one ``ptz.moved`` audit entry naming who, the
camera, the command and its values (the vocabulary had the action and nothing emitted it); storing or removing a
preset is ``config.changed``.

The service drives :class:`vigie.domain.ptz.PtzDevice` objects (the ONVIF client for cameras, the simulated dome
for the demo and tests) and keeps its state in memory: locks and tours do not survive a restart (a dome returns
home after its inactivity delay anyway). :meth:`PtzService.tick` is called by the service's periodic jobs.

Auto-tracking (``ptz_autotracking``) drives a dome through the same service, as the system and below every person:
a person designates the target (:meth:`PtzService.track`, which the :class:`TrackingRunner` the runtime attaches
carries out under the governance gate), the runner's moves go through :meth:`PtzService.tracking_move` while the
session is the dome's current one, and any person's command ends the session first (``autotracking.ended``,
reason ``person_command``) and takes the dome at once. A session's start and end are audited
(``autotracking.started``/``autotracking.ended``); its moves, several a second, are counted in the end entry.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.clock import Clock
from vigie.domain.geometry import Box
from vigie.domain.ports import AuditSink
from vigie.domain.ptz import PtzDevice, PtzError, PtzPreset, PtzStatus, PtzVector, check_position, check_velocity
from vigie.domain.users import Permission, Role
from vigie.services.access import Principal
from vigie.services.ptz_tracking import (
    PERSON_COMMAND,
    DomeTracking,
    TrackingRefusedError,
    TrackingRunner,
    TrackingView,
)

log = logging.getLogger(__name__)

LOCK_S: Final = 30.0
"""How long a person holds a dome after their last command."""
HOME_AFTER_S: Final = 300.0
"""A dome nobody drives and no tour moves goes back to its home position after this long."""
MAX_TOUR_PRESETS: Final = 32
MIN_DWELL_S: Final = 2.0
MAX_DWELL_S: Final = 3600.0
DIRECTION_FRESH_S: Final = 1.0
"""A dome's direction read for the maps is read again past this many seconds (:meth:`PtzService.directions`)."""
SYSTEM: Final = "system:ptz"
ROLE_PRIORITY: Final[dict[Role, int]] = {Role.SUPERVISOR: 30, Role.OPERATOR: 20, Role.INVESTIGATOR: 20}
"""Who may take a dome from whom: a higher number takes it from a lower one; equals wait for the lock to lapse."""
SYSTEM_PRIORITY: Final = 0


class PtzCommandKind(StrEnum):
    CONTINUOUS = "continuous"
    ABSOLUTE = "absolute"
    RELATIVE = "relative"
    STOP = "stop"
    PRESET = "preset"
    HOME = "home"


@dataclass(frozen=True, slots=True)
class PtzCommand:
    """One command: ``vector`` is the velocity (continuous), the position (absolute) or the translation (relative);
    ``preset`` the token to recall; ``speed`` in [0, 1] per axis (absent: the dome's top speed)."""

    kind: PtzCommandKind
    vector: PtzVector | None = None
    speed: PtzVector | None = None
    preset: str | None = None
    timeout_s: float | None = None

    def details(self) -> dict[str, Any]:
        out: dict[str, Any] = {"command": self.kind.value}
        if self.vector is not None:
            out["pan"], out["tilt"], out["zoom"] = (
                round(v, 4) for v in (self.vector.pan, self.vector.tilt, self.vector.zoom)
            )
        if self.speed is not None:
            out["speed"] = [round(v, 3) for v in (self.speed.pan, self.speed.tilt, self.speed.zoom)]
        if self.preset is not None:
            out["preset"] = self.preset
        if self.timeout_s is not None:
            out["timeout_s"] = self.timeout_s
        return out


class PtzUnavailableError(LookupError):
    """The camera is no dome Vigie drives (not a PTZ camera, or its dome is not reachable now)."""


class DomeUnreachableError(RuntimeError):
    """The dome did not answer (network, its ONVIF service, its account); the message names the camera and why."""


class PtzLockedError(RuntimeError):
    """Someone of equal or higher priority holds the dome; the message says who and until when."""


@dataclass(frozen=True, slots=True)
class PtzLock:
    holder: str
    role: str
    priority: int
    until: datetime


@dataclass(slots=True)
class _Tour:
    tokens: tuple[str, ...]
    dwell_s: float
    started_by: str
    index: int = 0
    next_at: datetime | None = None


@dataclass(slots=True)
class _Dome:
    device: PtzDevice
    home_after_s: float
    lock: PtzLock | None = None
    tour: _Tour | None = None
    last_command: datetime | None = None
    at_home: bool = True
    last_audited: tuple[str, dict[str, Any], datetime] | None = None
    renewals: int = 0
    """Continuous moves renewed unchanged since the last audited command (a held joystick renews its move)."""
    tracking: DomeTracking = field(default_factory=lambda: DomeTracking(""))
    mutex: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True, slots=True)
class PtzView:
    """What the console shows of a dome: where it is, its presets, who holds it, the tour running."""

    camera_id: str
    status: PtzStatus
    presets: tuple[PtzPreset, ...]
    lock: PtzLock | None
    tour: tuple[str, ...] | None
    tour_dwell_s: float | None
    tracking: TrackingView


class PtzService:
    """The domes of the installation, by camera id."""

    def __init__(
        self,
        devices: Mapping[str, PtzDevice],
        audit: AuditSink,
        clock: Clock,
        *,
        lock_s: float = LOCK_S,
        home_after_s: Mapping[str, float] | None = None,
    ) -> None:
        self._audit = audit
        self._clock = clock
        self._lock_s = lock_s
        homes = home_after_s or {}
        self._domes = {
            cid: _Dome(device, homes.get(cid, HOME_AFTER_S), tracking=DomeTracking(cid))
            for cid, device in devices.items()
        }
        self._runner: TrackingRunner | None = None
        self._sessions = 0
        self._sessions_lock = threading.Lock()
        self._directions: dict[str, tuple[float, PtzVector | None]] = {}
        self._directions_lock = threading.Lock()

    def attach_tracking(self, runner: TrackingRunner) -> None:
        """The runtime's auto-tracking (without one, designating a target is refused as not available here)."""
        self._runner = runner

    @property
    def cameras(self) -> list[str]:
        return sorted(self._domes)

    # --- on behalf of a person ------------------------------------------------------------------------------------

    def view(self, viewer: Principal, camera_id: str) -> PtzView:
        dome = self._dome(viewer, camera_id, Permission.CONTROL_PTZ)
        now = self._clock()
        with dome.mutex:
            lock = dome.lock if dome.lock is not None and dome.lock.until > now else None
            tour = dome.tour
            return PtzView(
                camera_id,
                dome.device.status(),
                tuple(dome.device.presets()),
                lock,
                tour.tokens if tour else None,
                tour.dwell_s if tour else None,
                dome.tracking.view(),
            )

    def command(self, viewer: Principal, camera_id: str, command: PtzCommand) -> PtzStatus:
        """Carry out ``command`` for ``viewer`` (who then holds the dome); audited."""
        dome = self._dome(viewer, camera_id, Permission.CONTROL_PTZ)
        _check(command)
        now = self._clock()
        with dome.mutex:
            taken = self._take(dome, viewer, now)
            stopped_tour = dome.tour is not None
            dome.tour = None
            tracked = self._end_tracking_for(dome, viewer.actor, now)
            self._apply(dome.device, command)
            dome.last_command, dome.at_home = now, command.kind is PtzCommandKind.HOME
            details = command.details()
            renewal = _is_renewal(dome.last_audited, viewer.actor, details, now)
            if taken is not None:
                details["taken_from"] = taken
            if stopped_tour:
                details["tour_stopped"] = True
            if renewal:
                dome.renewals += 1
            else:
                if dome.renewals:
                    details["renewals_before"] = dome.renewals
                dome.renewals = 0
                self._audit.append(AuditEvent(viewer.actor, AuditAction.PTZ_MOVED, f"camera:{camera_id}", details))
            dome.last_audited = (viewer.actor, command.details(), now)
            status = dome.device.status()
        if tracked:
            self._person_took(camera_id, viewer.actor)
        return status

    def release(self, viewer: Principal, camera_id: str) -> None:
        """Give the dome back before the lock lapses (only its holder does)."""
        dome = self._dome(viewer, camera_id, Permission.CONTROL_PTZ)
        with dome.mutex:
            if dome.lock is not None and dome.lock.holder == viewer.actor:
                dome.lock = None

    def set_preset(self, viewer: Principal, camera_id: str, name: str, token: str | None = None) -> str:
        dome = self._dome(viewer, camera_id, Permission.MANAGE_PTZ)
        name = name.strip()
        if not name or len(name) > 64 or not name.isprintable():
            raise PtzError("a preset name is 1–64 printable characters")
        with dome.mutex:
            stored = dome.device.set_preset(name, token)
            position = dome.device.status().position
        details = {"change": "preset stored", "preset": stored, "name": name, "pan": position.pan}
        details |= {"tilt": position.tilt, "zoom": position.zoom}
        self._audit.append(AuditEvent(viewer.actor, AuditAction.CONFIG_CHANGED, f"camera:{camera_id}", details))
        return stored

    def remove_preset(self, viewer: Principal, camera_id: str, token: str) -> None:
        dome = self._dome(viewer, camera_id, Permission.MANAGE_PTZ)
        with dome.mutex:
            if dome.tour is not None and token in dome.tour.tokens:
                raise PtzError(f"preset {token} is in the tour running on {camera_id}: stop the tour first")
            dome.device.remove_preset(token)
        details = {"change": "preset removed", "preset": token}
        self._audit.append(AuditEvent(viewer.actor, AuditAction.CONFIG_CHANGED, f"camera:{camera_id}", details))

    def set_home(self, viewer: Principal, camera_id: str) -> None:
        dome = self._dome(viewer, camera_id, Permission.MANAGE_PTZ)
        with dome.mutex:
            dome.device.set_home()
            dome.at_home = True
        details = {"change": "home position stored"}
        self._audit.append(AuditEvent(viewer.actor, AuditAction.CONFIG_CHANGED, f"camera:{camera_id}", details))

    def start_tour(self, viewer: Principal, camera_id: str, tokens: Sequence[str], dwell_s: float) -> None:
        """Patrol between ``tokens`` (each held ``dwell_s`` once reached), until a person moves the dome or stops
        the tour; the tour acts as the system, so starting it gives the dome back."""
        dome = self._dome(viewer, camera_id, Permission.CONTROL_PTZ)
        if not 2 <= len(tokens) <= MAX_TOUR_PRESETS:
            raise PtzError(f"a tour visits 2 to {MAX_TOUR_PRESETS} presets")
        if not MIN_DWELL_S <= dwell_s <= MAX_DWELL_S:
            raise PtzError(f"a tour holds each preset {MIN_DWELL_S:g} to {MAX_DWELL_S:g} s")
        now = self._clock()
        with dome.mutex:
            known = {p.token for p in dome.device.presets()}
            unknown = [t for t in tokens if t not in known]
            if unknown:
                raise PtzError(f"no preset {', '.join(unknown)} on {camera_id}: store it first")
            self._take(dome, viewer, now)
            tracked = self._end_tracking_for(dome, viewer.actor, now)
            dome.lock = None  # the tour runs as the system: anyone may take the dome from it
            dome.tour = _Tour(tuple(tokens), dwell_s, viewer.actor)
            dome.device.goto_preset(tokens[0])
            dome.last_command, dome.at_home = now, False
        if tracked:
            self._person_took(camera_id, viewer.actor)
        details = {"command": "tour started", "presets": list(tokens), "dwell_s": dwell_s}
        self._audit.append(AuditEvent(viewer.actor, AuditAction.PTZ_MOVED, f"camera:{camera_id}", details))

    def stop_tour(self, viewer: Principal, camera_id: str) -> bool:
        dome = self._dome(viewer, camera_id, Permission.CONTROL_PTZ)
        with dome.mutex:
            running, dome.tour = dome.tour is not None, None
            if running:
                dome.device.stop()
        if running:
            details = {"command": "tour stopped"}
            self._audit.append(AuditEvent(viewer.actor, AuditAction.PTZ_MOVED, f"camera:{camera_id}", details))
        return running

    # --- auto-tracking ----------------------------------------------------------------------------------------------

    def track(self, viewer: Principal, camera_id: str, box: Box) -> TrackingView:
        """Have the dome follow what ``box`` (normalised, on its picture now) holds, designated by ``viewer``: as
        for a move, ``control_ptz`` on the camera and no one of equal or higher priority holding the dome. The
        runner refuses without an activation of ``ptz_autotracking`` covering the camera."""
        dome = self._dome(viewer, camera_id, Permission.CONTROL_PTZ)
        runner = self._runner
        if runner is None:
            raise TrackingRefusedError(
                f"auto-tracking is not available in this process: it runs in `vigie serve`, which reads the dome's "
                f"picture (camera {camera_id})"
            )
        with dome.mutex:
            self._holder_above(dome, viewer, self._clock())  # refused while someone of higher priority drives it
        runner.start(camera_id, box, viewer.actor)
        with dome.mutex:
            return dome.tracking.view()

    def untrack(self, viewer: Principal, camera_id: str) -> bool:
        """End the dome's tracking session (the dome stops where it is); False when none ran."""
        self._dome(viewer, camera_id, Permission.CONTROL_PTZ)
        runner = self._runner
        return runner.stop(camera_id, viewer.actor) if runner is not None else False

    def directions(self, viewer: Principal, camera_ids: Sequence[str]) -> dict[str, PtzVector]:
        """Where each dome of ``camera_ids`` looks, for the map of a person who sees the camera (``view_cameras``;
        driving it is not needed to see where it points): domes that do not answer are left out. Each dome is read
        at most once a second whoever asks (every map shown polls every 2 s; a dome's ONVIF service is not a
        database), on the monotonic clock, which only paces the reads."""
        viewer.require(Permission.VIEW_CAMERAS)
        found: dict[str, PtzVector] = {}
        for camera_id in viewer.visible_cameras([c for c in dict.fromkeys(camera_ids) if c in self._domes]):
            with self._directions_lock:
                read = self._directions.get(camera_id)
            if read is None or time.monotonic() - read[0] >= DIRECTION_FRESH_S:
                try:
                    position: PtzVector | None = self._domes[camera_id].device.status().position
                except (DomeUnreachableError, PtzError, OSError) as err:
                    log.debug("dome %s: no direction for the map: %s", camera_id, err)
                    position = None
                read = (time.monotonic(), position)
                with self._directions_lock:
                    self._directions[camera_id] = read
            if read[1] is not None:
                found[camera_id] = read[1]
        return found

    def position_of(self, camera_id: str) -> PtzStatus:
        """The dome's status, for the runtime's tracker (a system read: no person, not audited)."""
        return self._domes[camera_id].device.status()

    def begin_tracking(
        self, camera_id: str, designated_by: str, activation_id: int | None, box: Box, at: datetime | None = None
    ) -> int:
        """The runner starts a session: the dome is driven by the system for it from now (a tour stops, the
        designator's lock is given up, a session before it ends as ``new_target``); audited. Its session number,
        which :meth:`tracking_move` and :meth:`end_tracking` name."""
        dome = self._domes[camera_id]
        now = self._clock() if at is None else at
        with self._sessions_lock:
            self._sessions += 1
            session = self._sessions
        with dome.mutex:
            stopped_tour, dome.tour = dome.tour is not None, None
            dome.lock = None  # the system drives: any person's command takes the dome back at once
            extra = {"tour_stopped": True} if stopped_tour else {}
            entries = dome.tracking.begin(session, designated_by, activation_id, box, now, **extra)
            dome.last_command, dome.at_home = now, False
        for entry in entries:
            self._audit.append(entry)
        return session

    def tracking_move(self, camera_id: str, session: int, command: PtzCommand) -> bool:
        """Carry out the tracker's ``command`` (a continuous move or a stop) as the system, only while ``session``
        is the dome's current one: False when it is not (a person took the dome; nothing was sent). Counted in the
        session's end entry, not audited one by one (several a second)."""
        dome = self._domes[camera_id]
        if command.kind not in (PtzCommandKind.CONTINUOUS, PtzCommandKind.STOP):
            raise PtzError(f"the tracker sends continuous moves and stops, not {command.kind.value}")
        _check(command)
        with dome.mutex:
            if not dome.tracking.is_current(session):
                return False
            self._apply(dome.device, command)
            dome.tracking.moved()
            dome.last_command, dome.at_home = self._clock(), False
            return True

    def end_tracking(
        self,
        camera_id: str,
        session: int,
        reason: str,
        *,
        by: str | None = None,
        frames: int | None = None,
        at: datetime | None = None,
    ) -> bool:
        """The runner ended ``session`` (lost target, operator's stop, closed gate, …): audited once; False when it
        had already ended (a person's command ended it first, and said so)."""
        dome = self._domes[camera_id]
        now = self._clock() if at is None else at
        with dome.mutex:
            if not dome.tracking.is_current(session):
                return False
            entries = dome.tracking.end(reason, by, now, frames)
        for entry in entries:
            self._audit.append(entry)
        return True

    def _end_tracking_for(self, dome: _Dome, actor: str, now: datetime) -> bool:
        """A person commands the dome (under its mutex): its tracking session, if any, ends first (audited)."""
        entries = dome.tracking.end(PERSON_COMMAND, actor, now)
        for entry in entries:
            self._audit.append(entry)
        return bool(entries)

    def _person_took(self, camera_id: str, actor: str) -> None:
        runner = self._runner
        if runner is not None:
            try:
                runner.person_took(camera_id, actor)
            except Exception:  # the person's command is done; the runner's own session ends at its next frame
                log.exception("ptz: %s: the tracker could not be told that %s took the dome", camera_id, actor)

    # --- the system ------------------------------------------------------------------------------------------------

    def system_preset(self, camera_id: str, preset: str, actor: str, reason: Mapping[str, Any]) -> str:
        """Send a dome to ``preset`` (its name or token) for a rule of the configuration (a sensor's link, issue
        21), as the system and below every person: not while a person holds the dome or it follows a target. The
        move is audited as ``ptz.moved`` by ``actor`` with ``reason``; returns ``done`` or why it was not done."""
        dome = self._domes.get(camera_id)
        if dome is None:
            return f"not done: camera {camera_id} is not a dome Vigie drives"
        now = self._clock()
        with dome.mutex:
            if dome.lock is not None and dome.lock.until > now:
                return f"not done: {dome.lock.holder} drives the dome"
            if dome.tracking.active:
                return "not done: the dome follows a target a person designated"
            token = next((p.token for p in dome.device.presets() if preset in (p.name, p.token)), None)
            if token is None:
                return f"not done: the dome has no preset named {preset}"
            dome.device.goto_preset(token)
            dome.last_command, dome.at_home = now, False
        details = {"command": "preset", "preset": token, **reason}
        self._audit.append(AuditEvent(actor, AuditAction.PTZ_MOVED, f"camera:{camera_id}", details))
        return "done"

    def tick(self, now: datetime | None = None) -> None:
        """Advance the tours (the next preset once the dome is still and the dwell is over) and send home the domes
        nobody drove for their inactivity delay; both audited as :data:`SYSTEM`."""
        now = self._clock() if now is None else now
        for camera_id, dome in self._domes.items():
            try:
                self._tick_dome(camera_id, dome, now)
            except (PtzError, OSError, RuntimeError) as err:  # one dome's failure never stops the others (unreachable)
                log.warning("ptz: %s: %s", camera_id, err)

    def _tick_dome(self, camera_id: str, dome: _Dome, now: datetime) -> None:
        with dome.mutex:
            if dome.lock is not None and dome.lock.until <= now:
                dome.lock = None
            tour = dome.tour
            if tour is not None:
                if dome.device.status().moving:
                    return
                if tour.next_at is None:
                    tour.next_at = now + timedelta(seconds=tour.dwell_s)
                    return
                if now < tour.next_at:
                    return
                tour.index = (tour.index + 1) % len(tour.tokens)
                tour.next_at = None
                token = tour.tokens[tour.index]
                dome.device.goto_preset(token)
                dome.last_command = now
                details: dict[str, Any] = {"command": "tour", "preset": token}
            elif (
                dome.lock is None
                and not dome.tracking.active
                and not dome.at_home
                and dome.last_command is not None
                and (now - dome.last_command).total_seconds() >= dome.home_after_s
            ):
                dome.device.goto_home()
                dome.at_home, dome.last_command = True, now
                details = {"command": "home", "after_idle_s": dome.home_after_s}
            else:
                return
        self._audit.append(AuditEvent(SYSTEM, AuditAction.PTZ_MOVED, f"camera:{camera_id}", details))

    # --- helpers ---------------------------------------------------------------------------------------------------

    def _dome(self, viewer: Principal, camera_id: str, permission: Permission) -> _Dome:
        viewer.require(permission)
        viewer.require_camera(camera_id)
        dome = self._domes.get(camera_id)
        if dome is None:
            raise PtzUnavailableError(f"camera {camera_id} is not a dome Vigie drives (no PTZ configured)")
        return dome

    def _take(self, dome: _Dome, viewer: Principal, now: datetime) -> str | None:
        """Give ``viewer`` the dome (or refuse); the holder it was taken from, if any."""
        taken = self._holder_above(dome, viewer, now)
        priority, role = _priority(viewer)
        dome.lock = PtzLock(viewer.actor, role, priority, now + timedelta(seconds=self._lock_s))
        return taken

    @staticmethod
    def _holder_above(dome: _Dome, viewer: Principal, now: datetime) -> str | None:
        """Refuse ``viewer`` the dome while someone else of equal or higher priority holds it; the holder of lower
        priority ``viewer`` would take it from, if any."""
        priority, _ = _priority(viewer)
        held = dome.lock
        if held is None or held.until <= now or held.holder == viewer.actor:
            return None
        if priority <= held.priority:
            raise PtzLockedError(
                f"{held.holder} ({held.role}) drives this dome until {held.until.strftime('%H:%M:%S')} UTC; "
                "wait, or ask a supervisor"
            )
        return held.holder

    @staticmethod
    def _apply(device: PtzDevice, command: PtzCommand) -> None:
        kind = command.kind
        if kind is PtzCommandKind.CONTINUOUS:
            assert command.vector is not None
            device.continuous_move(command.vector, command.timeout_s)
        elif kind is PtzCommandKind.ABSOLUTE:
            assert command.vector is not None
            device.absolute_move(command.vector, command.speed)
        elif kind is PtzCommandKind.RELATIVE:
            assert command.vector is not None
            device.relative_move(command.vector, command.speed)
        elif kind is PtzCommandKind.STOP:
            device.stop()
        elif kind is PtzCommandKind.PRESET:
            assert command.preset is not None
            device.goto_preset(command.preset, command.speed)
        else:
            device.goto_home(command.speed)


RENEWAL_WITHIN_S: Final = 5.0
"""A continuous move repeated unchanged by the same person within this time renews the one under way (a console
holding a joystick button renews its move about every second, so that a lost release never leaves the dome
turning): it is counted, not audited again; the next command audited says how many renewals came before it."""


def _is_renewal(
    last: tuple[str, dict[str, Any], datetime] | None, actor: str, details: dict[str, Any], now: datetime
) -> bool:
    if last is None or details.get("command") != PtzCommandKind.CONTINUOUS.value:
        return False
    last_actor, last_details, at = last
    return last_actor == actor and last_details == details and (now - at).total_seconds() <= RENEWAL_WITHIN_S


def _priority(viewer: Principal) -> tuple[int, str]:
    ranked = sorted(((ROLE_PRIORITY.get(r, 10), r.value) for r in viewer.user.roles), reverse=True)
    return ranked[0] if ranked else (10, "none")


def _check(command: PtzCommand) -> None:
    """Refuse a command that is incomplete or out of range, naming what is wrong."""
    kind, vector = command.kind, command.vector
    if kind in (PtzCommandKind.CONTINUOUS, PtzCommandKind.ABSOLUTE, PtzCommandKind.RELATIVE) and vector is None:
        raise PtzError(f"a {kind.value} move needs pan, tilt and zoom")
    if kind is PtzCommandKind.PRESET and not command.preset:
        raise PtzError("a preset recall needs the preset's token")
    if vector is not None:
        if kind is PtzCommandKind.ABSOLUTE:
            check_position(vector)
        elif kind is PtzCommandKind.CONTINUOUS:
            check_velocity(vector)
        elif not (abs(vector.pan) <= 2 and abs(vector.tilt) <= 2 and abs(vector.zoom) <= 1):
            raise PtzError("a relative move is at most ±2 in pan and tilt and ±1 in zoom (generic translation space)")
    if command.speed is not None:
        s = command.speed
        if not all(0.0 <= v <= 1.0 for v in (s.pan, s.tilt, s.zoom)):
            raise PtzError("a speed is between 0 and 1 on each axis")
    if command.timeout_s is not None and not 0.0 < command.timeout_s <= 60.0:
        raise PtzError("a continuous move's timeout is 0 to 60 s")
