"""Auto-tracking ("suivi automatique"): the dome follows one person or vehicle an operator boxed on its picture.

It is algorithmic processing of the picture, so it is an analysis module of the legal catalogue
(``ptz_autotracking``), off by default, running only while the governance gate allows it on the camera: the gate is
asked at every step (designation and every frame), like every module; when it closes, the target is forgotten at
once, the dome is stopped and the session ends (``gate_closed``). What is followed is the boxed patch of pixels,
found again frame after frame around where it should be (:mod:`vigie.analytics.autotrack_target`): no detector, no
recognition of anyone, nothing about the target outlives the session (L25).

The module acts as the system, below every person: a person's command on the dome ends the session
(:meth:`AutoTracking.person_command`, or the ``held_by_person`` hook, asked at every frame), and so do a target lost
for ``lost_after_frames`` frames and the session's ``max_duration_s``. Each start and end is returned as an
:class:`AutoTrackingEvent` (who designated, when, under which activation, why it ended) for the audit.

The module returns :class:`~vigie.analytics.autotrack_control.DomeCommand` objects; the runtime carries them out
as the system (``vigie.services.ptz``), so the person/system priority and the audit of moves stay in one place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

import cv2
import numpy as np
from pydantic import Field, model_validator

from vigie.analytics.autotrack_control import DomeCommand, MoveModel, Pursuit, PursuitSettings
from vigie.analytics.autotrack_target import Image, TargetTracker
from vigie.analytics.plates import ActivationAware
from vigie.analytics.rules.base import RuleConfig
from vigie.domain.clock import Clock
from vigie.domain.geometry import Box
from vigie.domain.ports import Gate
from vigie.domain.ptz import DomeOptics, PtzVector, View

log = logging.getLogger(__name__)

MODULE: Final = "ptz_autotracking"


class AutoTrackingConfig(RuleConfig):
    """Settings of ``ptz_autotracking`` on one dome."""

    max_duration_s: float = Field(
        default=120.0,
        gt=0.0,
        le=1800.0,
        title="Maximum duration",
        description="A tracking session ends after this long; the operator designates the target again to go on.",
    )
    lost_after_frames: int = Field(
        default=15,
        ge=1,
        le=250,
        title="Lost after",
        description="Frames in a row without a good match after which the target is lost and the dome given back.",
    )
    min_match: float = Field(
        default=0.5,
        gt=0.0,
        lt=1.0,
        title="Minimum match",
        description="Normalised correlation below which the target is not taken as found in a frame.",
    )
    zoom_low: float = Field(
        default=0.2,
        gt=0.0,
        lt=1.0,
        title="Zoom in below",
        description="The dome zooms in when the target's height is below this fraction of the frame height.",
    )
    zoom_high: float = Field(
        default=0.5,
        gt=0.0,
        lt=1.0,
        title="Zoom out above",
        description="The dome zooms out when the target's height is above this fraction of the frame height.",
    )
    gain_per_s: float = Field(
        default=2.0,
        gt=0.0,
        le=10.0,
        title="Centring gain",
        description="Share of the target's angular offset from the centre corrected per second.",
    )
    command_interval_s: float = Field(
        default=0.2,
        ge=0.04,
        le=2.0,
        title="Command interval",
        description="Least time between two commands sent to the dome.",
    )
    analysis_width: int = Field(
        default=640,
        ge=160,
        le=3840,
        title="Analysis width",
        description="Frames wider than this are scaled down to it before the target is looked for (the cost grows "
        "with the target's size in pixels, its precision hardly).",
    )
    move_timeout_s: float = Field(
        default=1.0,
        gt=0.0,
        le=10.0,
        title="Move timeout",
        description="Each continuous move stops by itself after this long unless renewed (the dome halts if the "
        "tracker stops).",
    )

    @model_validator(mode="after")
    def _band(self) -> AutoTrackingConfig:
        if self.zoom_low >= self.zoom_high:
            raise ValueError(f"zoom_low {self.zoom_low} must be below zoom_high {self.zoom_high}")
        if self.move_timeout_s <= self.command_interval_s:
            raise ValueError(f"move_timeout_s {self.move_timeout_s} must exceed command_interval_s")
        return self


class StopReason(StrEnum):
    LOST = "target_lost"
    TIMEOUT = "max_duration"
    PERSON = "person_command"
    GATE_CLOSED = "gate_closed"
    ENDED = "ended_by_operator"
    REDESIGNATED = "new_target"
    NO_PICTURE = "no_picture"
    """The dome's stream could not be read (the runtime ends the session)."""
    DOME_UNREACHABLE = "dome_unreachable"
    SERVICE_STOPPED = "service_stopped"


class AutoTrackingRefused(PermissionError):
    """Tracking cannot start now; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class AutoTrackingEvent:
    """A session started or ended, for the audit: the camera, when, who designated the target, under which
    activation, and for an end why and after how long. No picture, no description of the target."""

    kind: str
    """``autotracking.started`` or ``autotracking.ended`` (the audit actions of the session)"""
    camera_id: str
    at: datetime
    designated_by: str
    activation_id: int | None
    box: Box | None = None
    """The designated box (normalised), on start."""
    reason: StopReason | None = None
    by: str | None = None
    """The person whose command ended the session, when one did."""
    duration_s: float | None = None
    frames: int | None = None


@dataclass(slots=True)
class _Session:
    designated_by: str
    started: datetime
    activation_id: int | None
    tracker: TargetTracker
    pursuit: Pursuit
    frames: int = 0


class AutoTracking:
    """Auto-tracking on one dome (not thread-safe: one per dome, driven from one thread; the runtime serialises
    :meth:`designate`, :meth:`person_command` and :meth:`end` with :meth:`process`)."""

    def __init__(
        self,
        camera_id: str,
        config: AutoTrackingConfig,
        gate: Gate,
        optics: DomeOptics,
        clock: Clock,
        *,
        move_model: MoveModel | None = None,
        held_by_person: Callable[[], str | None] | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.config = config
        self.optics = optics
        self.move_model = move_model or MoveModel.nominal(optics)
        """The dome's measured move times (:func:`~vigie.analytics.autotrack_control.calibrate`); the optics'
        nominal speeds until then."""
        self._gate = gate
        self._clock = clock
        self._held_by_person = held_by_person
        self._session: _Session | None = None
        self._pending: list[AutoTrackingEvent] = []

    @property
    def tracking(self) -> bool:
        return self._session is not None

    def designate(self, box: Box, at: datetime, *, by: str, frame: Image, position: PtzVector) -> None:
        """Follow what ``box`` (normalised, on ``frame`` seen at the dome's ``position``) holds, for ``by`` (the
        person's actor id). Refused with :class:`AutoTrackingRefused` when the gate does not allow the module on this
        camera now; a box too small or off the picture is a ``ValueError`` saying so."""
        if not self._gate.allows(MODULE, self.camera_id, at):
            self._forget(at, StopReason.GATE_CLOSED)  # a move under way stops by itself within move_timeout_s
            raise AutoTrackingRefused(
                f"auto-tracking is not activated on camera {self.camera_id} now: it needs an activation of "
                f"{MODULE} covering this camera (governance), and no stop switch engaged"
            )
        if not (0.0 <= box.x < 1.0 and 0.0 <= box.y < 1.0 and 0.0 < box.w <= 1.0 and 0.0 < box.h <= 1.0):
            raise ValueError(f"box {box} is not a box of the picture (normalised x, y in [0, 1), w, h in (0, 1])")
        self._end(at, StopReason.REDESIGNATED)
        frame = self._scaled(frame)
        height, width = frame.shape[:2]
        view = self._view(position, width, height)
        tracker = TargetTracker(min_score=self.config.min_match, lost_after=self.config.lost_after_frames)
        tracker.start(frame, view, (box.x * width, box.y * height, box.w * width, box.h * height), at.timestamp())
        settings = PursuitSettings(
            gain_per_s=self.config.gain_per_s,
            zoom_low=self.config.zoom_low,
            zoom_high=self.config.zoom_high,
            command_interval_s=self.config.command_interval_s,
            move_timeout_s=self.config.move_timeout_s,
        )
        activation = self._activation()
        self._session = _Session(by, at, activation, tracker, Pursuit(self.optics, self.move_model, settings))
        self._pending.append(AutoTrackingEvent("autotracking.started", self.camera_id, at, by, activation, box=box))

    def process(self, frame: Image, position: PtzVector, at: datetime) -> list[DomeCommand]:
        """One frame of the dome (BGR), its reported ``position`` when the frame was taken, at ``at``: the commands
        to carry out now (none while nobody designated a target or the gate is closed; a stop when a session ends
        while the dome was moving). Starts and ends are collected by :meth:`events`."""
        if not self._gate.allows(MODULE, self.camera_id, at):
            return self._forget(at, StopReason.GATE_CLOSED)
        session = self._session
        if session is None:
            return []
        holder = self._held_by_person() if self._held_by_person is not None else None
        if holder is not None:
            self._end(at, StopReason.PERSON, by=holder)
            return []
        if (at - session.started).total_seconds() >= self.config.max_duration_s:
            return self._forget(at, StopReason.TIMEOUT)
        session.frames += 1
        frame = self._scaled(frame)
        height, width = frame.shape[:2]
        view = self._view(position, width, height)
        now = at.timestamp()
        sighting = session.tracker.update(frame, view, now)
        if session.tracker.lost:
            return self._forget(at, StopReason.LOST)
        command = session.pursuit.step(sighting, view, now)
        return [command] if command is not None else []

    def person_command(self, actor: str, at: datetime | None = None) -> None:
        """A person commanded the dome: the session ends at once, no stop sent (the person's command is the dome's
        next move)."""
        self._end(at or self._clock(), StopReason.PERSON, by=actor)

    def end(self, by: str, at: datetime | None = None) -> list[DomeCommand]:
        """The operator ends the session: the dome stops where it is."""
        session = self._session
        if session is None:
            return []
        halt = session.pursuit.halt()
        self._end(at or self._clock(), StopReason.ENDED, by=by)
        return [halt] if halt is not None else []

    def events(self) -> list[AutoTrackingEvent]:
        """The starts and ends not yet collected (each returned once)."""
        out, self._pending = self._pending, []
        return out

    # --- internals --------------------------------------------------------------------------------------------

    def _forget(self, at: datetime, reason: StopReason) -> list[DomeCommand]:
        """End the session (if any) for ``reason`` and forget the target; a stop if the dome was sent moving."""
        session = self._session
        if session is None:
            return []
        halt = session.pursuit.halt()
        self._end(at, reason)
        return [halt] if halt is not None else []

    def _end(self, at: datetime, reason: StopReason, *, by: str | None = None) -> None:
        session, self._session = self._session, None  # the template and every estimate go with it
        if session is None:
            return
        event = AutoTrackingEvent(
            "autotracking.ended",
            self.camera_id,
            at,
            session.designated_by,
            session.activation_id,
            reason=reason,
            by=by,
            duration_s=round((at - session.started).total_seconds(), 3),
            frames=session.frames,
        )
        log.info("autotracking: %s stopped (%s) after %.1f s", self.camera_id, reason.value, event.duration_s or 0.0)
        self._pending.append(event)

    def _activation(self) -> int | None:
        gate = self._gate
        return gate.activation_id(MODULE, self.camera_id) if isinstance(gate, ActivationAware) else None

    def _scaled(self, frame: Image) -> Image:
        height, width = frame.shape[:2]
        target = self.config.analysis_width
        if width <= target:
            return frame
        size = (target, max(1, round(height * target / width)))
        return np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), np.uint8)

    def _view(self, position: PtzVector, width: int, height: int) -> View:
        pan, tilt, hfov = self.optics.to_angles(position)
        return View(pan, tilt, hfov, width, height)
