"""Moving a dome after a target: the dome's calibrated move-time model, and the velocity that keeps the target centred.

Like Frigate's autotracker, the dome is first measured, not assumed: :func:`calibrate` issues relative moves of
several sizes on each axis, times each until the dome reports it idle, and fits ``time = latency + distance /
rate`` (least squares), so a slow or sluggish dome is driven as it really is. :class:`Pursuit` then turns where the
target is into a continuous move: the target's angular velocity (fed forward, so a walker at constant pace is
followed without lag) plus its angular offset from the centre times a gain, the offset taken ``latency`` ahead
(where the target will be, less where the dome will be at the velocity it was last sent); the
generic velocity is that rate over the measured top rate of the axis. Zoom keeps the target's height between two
fractions of the frame with hysteresis: it starts when the height leaves ``[zoom_low, zoom_high]`` and stops once
back near the middle, and zooms in only while the target is in the central third. Commands are continuous moves
with a short timeout, re-sent at most every ``command_interval_s`` and only when the velocity changed, so a dome
whose tracker stops (crash, network) halts by itself within the timeout.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np

from vigie.analytics.autotrack_target import Sighting
from vigie.domain.ptz import DomeOptics, PtzDevice, PtzVector, View, wrap_deg

STILL_POLLS = 3
"""A dome that reports no move status (some ONVIF domes always say IDLE or always MOVING) is taken as arrived when
its position has not changed for this many polls."""


IDLE_VELOCITY = 0.003
"""A velocity below this on every axis (0.36°/s of pan on the default optics) is a stop: a still target in the centre
does not keep the dome ticking between stop and crawl."""


class CalibrationError(RuntimeError):
    """The dome's moves could not be timed; the message says which axis and why."""


@dataclass(frozen=True, slots=True)
class AxisTiming:
    """How long one axis takes: ``latency_s`` (command to motion, and settling) plus distance over ``rate``
    (generic units per second at full speed)."""

    latency_s: float
    rate: float

    def time(self, distance: float) -> float:
        return self.latency_s + abs(distance) / self.rate


@dataclass(frozen=True, slots=True)
class MoveModel:
    """A dome's measured move times per axis (generic units)."""

    pan: AxisTiming
    tilt: AxisTiming
    zoom: AxisTiming

    @classmethod
    def nominal(cls, optics: DomeOptics) -> MoveModel:
        """The model the optics' data sheet gives (no latency): a placeholder until the dome is calibrated."""
        return cls(
            AxisTiming(0.0, optics.pan_speed_generic()),
            AxisTiming(0.0, optics.tilt_speed_generic()),
            AxisTiming(0.0, optics.zoom_speed_generic()),
        )

    def move_time(self, translation: PtzVector) -> float:
        """Seconds a relative move takes (the slowest axis)."""
        return max(
            self.pan.time(translation.pan) if translation.pan else 0.0,
            self.tilt.time(translation.tilt) if translation.tilt else 0.0,
            self.zoom.time(translation.zoom) if translation.zoom else 0.0,
        )


def calibrate(
    device: PtzDevice,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    *,
    poll_s: float = 0.05,
    max_wait_s: float = 20.0,
) -> MoveModel:
    """Time relative moves of the dome on each axis (there and back, two or three sizes) and fit its move model;
    the dome is sent back where it was. ``clock`` and ``sleep`` are the caller's (seconds): a test passes a clock it
    moves. Raises :class:`CalibrationError` when a move does not end or longer moves do not take longer.

    Takes about ten seconds of the dome's time: run it when the dome is commissioned, not while someone drives it."""
    timer = _MoveTimer(device, clock, sleep, poll_s, max_wait_s)
    start = device.status().position
    signs = {"pan": 1.0, "tilt": 1.0 if start.tilt <= 0.0 else -1.0, "zoom": 1.0 if start.zoom <= 0.5 else -1.0}
    plans: dict[str, tuple[float, ...]] = {"pan": (0.05, 0.15, 0.4), "tilt": (0.1, 0.3, 0.6), "zoom": (0.1, 0.3)}
    timings = {}
    for axis, sizes in plans.items():
        samples: list[tuple[float, float]] = []
        for size in sizes:
            for direction in (signs[axis], -signs[axis]):  # there and back: the axis ends where it began
                parts = {name: (direction * size if name == axis else 0.0) for name in ("pan", "tilt", "zoom")}
                move = partial(device.relative_move, PtzVector(**parts))
                samples.append((size, timer.timed(move, axis)))
        timings[axis] = _fit(axis, samples)
    end = device.status().position
    if max(abs(end.pan - start.pan), abs(end.tilt - start.tilt), abs(end.zoom - start.zoom)) > 1e-6:
        timer.timed(partial(device.absolute_move, start), "return")
    return MoveModel(timings["pan"], timings["tilt"], timings["zoom"])


@dataclass(frozen=True, slots=True)
class _MoveTimer:
    device: PtzDevice
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    poll_s: float
    max_wait_s: float

    def timed(self, move: Callable[[], None], axis: str) -> float:
        """Seconds ``move`` took, from the command to rest (a dome that answers late first says IDLE: it is
        waited for until it starts)."""
        began = self.clock()
        before = self.device.status().position
        move()
        while True:
            status = self.device.status()
            if status.moving or status.position != before:
                break
            if self.clock() - began > self.max_wait_s:
                raise CalibrationError(
                    f"the dome did not start a {axis} move within {self.max_wait_s:g} s: check that it accepts "
                    "relative and absolute moves in the generic spaces and reports its position"
                )
            self.sleep(self.poll_s)
        return self.wait_idle(axis) - began

    def wait_idle(self, axis: str) -> float:
        """The time the dome came to rest: midway between the last poll that saw it moving and the first that did
        not (so the poll period does not bias the fit), or when it last moved for a dome whose position has not
        changed for ``STILL_POLLS`` polls (one that always reports MOVING)."""
        began = previous_at = self.clock()
        previous = None
        still = 0
        while True:
            self.sleep(self.poll_s)
            now = self.clock()
            status = self.device.status()
            if not status.moving:
                return (previous_at + now) / 2.0
            still = still + 1 if status.position == previous else 0
            if still >= STILL_POLLS:
                return previous_at - (STILL_POLLS - 1) * self.poll_s
            previous, previous_at = status.position, now
            if now - began > self.max_wait_s:
                raise CalibrationError(
                    f"the dome still reports moving {self.max_wait_s:g} s after a {axis} move: check its PTZ status "
                    "(move status) and that nothing else drives it during calibration"
                )


def _fit(axis: str, samples: list[tuple[float, float]]) -> AxisTiming:
    distances = np.array([d for d, _ in samples])
    durations = np.array([t for _, t in samples])
    slope, intercept = (float(v) for v in np.polyfit(distances, durations, 1))
    if not slope > 0 or not math.isfinite(slope):
        raise CalibrationError(
            f"the dome's {axis} moves did not take longer for longer distances (durations "
            f"{', '.join(f'{t:.2f}' for t in durations)} s): it may ignore relative moves on that axis"
        )
    return AxisTiming(max(0.0, intercept), 1.0 / slope)


@dataclass(frozen=True, slots=True)
class DomeCommand:
    """What the tracker asks of the dome: a continuous move (``vector`` a velocity in [-1, 1] per axis, stopping by
    itself after ``timeout_s``) or a stop. Same kinds as :class:`vigie.services.ptz.PtzCommandKind`."""

    kind: Literal["continuous", "stop"]
    vector: PtzVector | None = None
    timeout_s: float | None = None

    def apply(self, device: PtzDevice) -> None:
        if self.kind == "stop" or self.vector is None:
            device.stop()
        else:
            device.continuous_move(self.vector, self.timeout_s)


@dataclass(frozen=True, slots=True)
class PursuitSettings:
    gain_per_s: float = 2.0
    """Share of the angular offset from the centre corrected per second."""
    zoom_low: float = 0.2
    zoom_high: float = 0.5
    zoom_gain_per_s: float = 1.0
    command_interval_s: float = 0.2
    move_timeout_s: float = 1.0
    min_change: float = 0.02
    """A new velocity differing by less than this (per axis) from the one sent is not sent."""


class Pursuit:
    """Velocity commands that keep a target centred and sized (one per tracking session)."""

    def __init__(self, optics: DomeOptics, model: MoveModel, settings: PursuitSettings) -> None:
        self.optics = optics
        self.model = model
        self.settings = settings
        self._sent: PtzVector | None = None
        self._sent_at = -math.inf
        self._history: deque[tuple[float, PtzVector]] = deque()
        """Velocities sent (time, velocity; a stop is zero) over the last latency: what the dome will still do."""
        self._zooming = False

    def step(self, sighting: Sighting, view: View, at: float) -> DomeCommand | None:
        """The command to send now for ``sighting`` seen through ``view`` at ``at`` (s), or None to leave the dome
        as it goes."""
        settings, optics, model = self.settings, self.optics, self.model
        # where the target and the dome will be when a command sent now takes effect (a Smith predictor): the dome
        # will carry out what was sent during the last latency, in order, before this command
        lead = max(model.pan.latency_s, model.tilt.latency_s)
        pan_units = optics.pan_range_deg / 2.0
        tilt_units = (optics.tilt_max_deg - optics.tilt_min_deg) / 2.0
        pan_in_flight, tilt_in_flight = self._in_flight(at, lead)
        dome_pan = view.pan_deg + pan_in_flight * model.pan.rate * pan_units
        dome_tilt = view.tilt_deg + tilt_in_flight * model.tilt.rate * tilt_units
        pan_ahead = sighting.pan_deg + sighting.pan_rate_deg_s * lead
        tilt_ahead = sighting.tilt_deg + sighting.tilt_rate_deg_s * lead
        pan_rate = sighting.pan_rate_deg_s + settings.gain_per_s * wrap_deg(pan_ahead - dome_pan)
        tilt_rate = sighting.tilt_rate_deg_s + settings.gain_per_s * (tilt_ahead - dome_tilt)
        velocity = PtzVector(
            _clip(pan_rate / pan_units / model.pan.rate),
            _clip(tilt_rate / tilt_units / model.tilt.rate),
            self._zoom_velocity(sighting, view),
        )
        return self._send(velocity, at)

    def _in_flight(self, at: float, lead: float) -> tuple[float, float]:
        """Pan and tilt (generic velocity × seconds) the dome has been sent in the last ``lead`` seconds and has yet
        to carry out: each velocity sent holds until the next one."""
        history = self._history
        start = at - lead
        while len(history) > 1 and history[1][0] <= start:
            history.popleft()
        pan = tilt = 0.0
        if lead <= 0:
            return pan, tilt
        entries = list(history)
        for index, (sent_at, velocity) in enumerate(entries):
            until = entries[index + 1][0] if index + 1 < len(entries) else at
            span = min(until, at) - max(sent_at, start)
            if span > 0:
                pan += velocity.pan * span
                tilt += velocity.tilt * span
        return pan, tilt

    def _zoom_velocity(self, sighting: Sighting, view: View) -> float:
        settings = self.settings
        if not sighting.found:
            self._zooming = False
            return -0.2  # coasting: widen the view a little so the search can find the target again
        x, y, w, h = sighting.box
        fraction = h / view.height
        off_x = abs(x + w / 2 - view.width / 2) / view.width
        off_y = abs(y + h / 2 - view.height / 2) / view.height
        middle = (settings.zoom_low + settings.zoom_high) / 2.0
        if not self._zooming and not settings.zoom_low <= fraction <= settings.zoom_high:
            self._zooming = True
        elif self._zooming and abs(fraction - middle) <= 0.1 * middle:
            self._zooming = False
        if not self._zooming or (fraction < middle and max(off_x, off_y) > 1 / 6):
            return 0.0
        # zoom is logarithmic in magnification: the generic change that scales the target by middle/fraction
        change = math.log(middle / fraction) / math.log(self.optics.magnification)
        return _clip(change * settings.zoom_gain_per_s / self.model.zoom.rate)

    def _send(self, velocity: PtzVector, at: float) -> DomeCommand | None:
        settings = self.settings
        if at - self._sent_at < settings.command_interval_s:
            return None
        idle = max(abs(velocity.pan), abs(velocity.tilt), abs(velocity.zoom)) < IDLE_VELOCITY
        previous = self._sent
        if idle:
            if previous is None:
                return None
            self._sent, self._sent_at = None, at
            self._history.append((at, PtzVector(0.0, 0.0, 0.0)))
            return DomeCommand("stop")
        changed = (
            previous is None
            or max(
                abs(velocity.pan - previous.pan), abs(velocity.tilt - previous.tilt), abs(velocity.zoom - previous.zoom)
            )
            >= settings.min_change
        )
        if not changed and at - self._sent_at < settings.move_timeout_s / 2.0:
            return None  # the move sent still runs; re-sent before its timeout stops it
        self._sent, self._sent_at = velocity, at
        self._history.append((at, velocity))
        return DomeCommand("continuous", velocity, settings.move_timeout_s)

    def halt(self) -> DomeCommand | None:
        """A stop if the dome was sent moving; None otherwise."""
        if self._sent is None:
            return None
        self._sent = None
        return DomeCommand("stop")


def _clip(value: float) -> float:
    return min(1.0, max(-1.0, value))
