"""A simulated PTZ dome: ONVIF-like kinematics on an injected clock, and the picture it sees of a panorama.

The dome implements :class:`vigie.domain.ptz.PtzDevice`. Each axis moves at a constant speed (no acceleration):
a continuous move at ``velocity × top speed`` until :meth:`stop`, its timeout or the end of the axis; an
absolute or relative move at ``speed × top speed`` (full speed when absent or 0) until it reaches its target,
so every move ends in finite time. Pan turns without end on a 360° dome (an absolute move takes the short way
round, a relative move the way it was told); tilt and zoom stop at their limits. Pan/tilt speed does not
depend on zoom. The position is computed from the clock when asked (piecewise linear, exact), never integrated
in steps, so a test that moves its clock sees exactly the commanded speeds (a clock that goes back holds the
dome still until it catches up).

:meth:`frame` renders the rectilinear view at the current position from the panorama (``cv2.remap`` with maps
computed in numpy, from the pyramid level closest to the view's scale) and draws the walkers at their place.
Thread-safe: the ONVIF server calls the moves from its handlers while the RTSP feeder calls :meth:`frame`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from vigie.domain.ptz import (
    DomeOptics,
    PresetLimitError,
    PtzError,
    PtzPreset,
    PtzStatus,
    PtzVector,
    UnknownPresetError,
    View,
    check_position,
    check_velocity,
)
from vigie.sim.panorama import WRAP_PAD, Panorama, draw_walkers, walkers_at

Image = npt.NDArray[np.uint8]
MAX_PRESETS = 64


@dataclass(slots=True)
class _Axis:
    """One axis: its position at the dome's last update and its motion since, a continuous velocity or a move
    toward ``target``."""

    position: float
    low: float
    high: float
    wraps: bool = False
    velocity: float = 0.0
    """generic units per second of a continuous move (0: none)"""
    until: float | None = None
    """clock time a continuous move stops at (its timeout)"""
    target: float | None = None
    remaining: float = 0.0
    """signed distance still to travel toward ``target``"""
    speed: float = 0.0

    @property
    def moving(self) -> bool:
        return self.target is not None or self.velocity != 0.0

    def halt(self) -> None:
        self.velocity, self.until, self.target, self.remaining = 0.0, None, None, 0.0

    def advance(self, start: float, now: float) -> None:
        span = max(0.0, now - start)
        if self.target is not None:
            step = self.speed * span
            if step >= abs(self.remaining) - 1e-9:  # arrived (within rounding of the clock's arithmetic)
                self.position, self.target, self.remaining = self.target, None, 0.0
            else:
                delta = math.copysign(step, self.remaining)
                self.position, self.remaining = self._wrap(self.position + delta), self.remaining - delta
        elif self.velocity != 0.0:
            active = span if self.until is None else max(0.0, min(now, self.until) - start)
            moved = self.position + self.velocity * active
            if self.wraps:
                self.position = self._wrap(moved)
            else:
                self.position = min(max(moved, self.low), self.high)
                if self.position != moved:  # reached the end of the axis
                    self.halt()
            if self.until is not None and now >= self.until:
                self.halt()

    def aim(self, target: float, speed: float, *, shortest: bool, delta: float | None = None) -> None:
        """Move toward ``target`` (clamped; wrapped on a wrapping axis) at ``speed`` generic units per second,
        along ``delta`` when given (a relative move's direction), else the short way round on a wrapping axis."""
        self.halt()
        if self.wraps:
            target = self._wrap(target)
            if delta is None:
                delta = target - self.position
                if shortest:
                    period = self.high - self.low
                    delta = (delta + period / 2) % period - period / 2
        else:
            target = min(max(target, self.low), self.high)
            delta = target - self.position
        if delta != 0.0:
            self.target, self.remaining, self.speed = target, delta, speed

    def _wrap(self, value: float) -> float:
        if not self.wraps:
            return value
        period = self.high - self.low
        return (value - self.low) % period + self.low


class SimulatedDome:
    """A PTZ dome looking at ``panorama``, moved in time by ``clock`` (seconds, any origin)."""

    def __init__(
        self,
        optics: DomeOptics,
        panorama: Panorama,
        clock: Callable[[], float],
        *,
        home: PtzVector | None = None,
        max_presets: int = MAX_PRESETS,
        walkers: bool = True,
    ) -> None:
        self.optics = optics
        self.panorama = panorama
        self.max_presets = max_presets
        self.walkers = walkers
        self._clock = clock
        self._lock = threading.RLock()
        self._home = home if home is not None else optics.from_angles(0.0, 0.0, optics.hfov_wide_deg)
        check_position(self._home)
        self._pan = _Axis(self._home.pan, -1.0, 1.0, wraps=optics.endless_pan)
        self._tilt = _Axis(self._home.tilt, -1.0, 1.0)
        self._zoom = _Axis(self._home.zoom, 0.0, 1.0)
        self._updated = clock()
        self._presets: dict[str, PtzPreset] = {}

    # --- moves ------------------------------------------------------------------------------------------------

    def continuous_move(self, velocity: PtzVector, timeout_s: float | None = None) -> None:
        """Move each axis at ``velocity`` (each in [-1, 1] of its top speed) until :meth:`stop`, ``timeout_s``
        or the end of the axis. A zero component stops that axis."""
        check_velocity(velocity)
        if timeout_s is not None and not timeout_s > 0:
            raise PtzError(f"continuous move timeout {timeout_s} s must be positive (or absent: until stop)")
        with self._lock:
            now = self._advance()
            until = None if timeout_s is None else now + timeout_s
            for axis, value, top in self._axes(velocity):
                axis.halt()
                axis.velocity, axis.until = value * top, until if value else None

    def absolute_move(self, position: PtzVector, speed: PtzVector | None = None) -> None:
        """Move to ``position`` at ``speed`` (fractions of each axis's top speed; full speed when absent or 0)."""
        check_position(position)
        with self._lock:
            self._advance()
            speeds = self._speeds(speed)
            for (axis, target, _), axis_speed in zip(self._axes(position), speeds, strict=True):
                axis.aim(target, axis_speed, shortest=True)

    def relative_move(self, translation: PtzVector, speed: PtzVector | None = None) -> None:
        """Move by ``translation`` in the generic spaces (pan and tilt in [-1, 1], 1 being half their range, so a
        pan of 1 turns 180° on an endless dome; zoom in [-1, 1]); the result is clamped at the ends of tilt and
        zoom. Pan turns in the translation's direction."""
        for name, value in (("pan", translation.pan), ("tilt", translation.tilt), ("zoom", translation.zoom)):
            if not -1.0 <= value <= 1.0:
                raise PtzError(f"{name} translation {value} is outside [-1, 1] (1 is half the axis's range)")
        with self._lock:
            self._advance()
            speeds = self._speeds(speed)
            for (axis, delta, _), axis_speed in zip(self._axes(translation), speeds, strict=True):
                if delta != 0.0:
                    axis.aim(axis.position + delta, axis_speed, shortest=False, delta=delta if axis.wraps else None)

    def stop(self) -> None:
        """Stop every axis where it is now."""
        with self._lock:
            self._advance()
            for axis in (self._pan, self._tilt, self._zoom):
                axis.halt()

    def status(self) -> PtzStatus:
        with self._lock:
            now = self._advance()
            return PtzStatus(self._position(), self._moving(), now)

    # --- presets and home -------------------------------------------------------------------------------------

    def presets(self) -> list[PtzPreset]:
        with self._lock:
            return list(self._presets.values())

    def set_preset(self, name: str, token: str | None = None) -> str:
        """Store the current position under ``name``: a new preset (the token is chosen here), or the preset
        ``token`` overwritten. Names are unique on a dome (ONVIF ``ter:PresetExist``)."""
        with self._lock:
            self._advance()
            if token is not None and token not in self._presets:
                raise UnknownPresetError(f"no preset with token {token!r} to overwrite: omit the token to create one")
            for other in self._presets.values():
                if other.name == name and name and other.token != token:
                    raise PtzError(f"a preset named {name!r} exists already (token {other.token}): choose another name")
            if token is None:
                if len(self._presets) >= self.max_presets:
                    raise PresetLimitError(
                        f"this dome holds {self.max_presets} presets at most: remove one before storing another"
                    )
                token = next(str(n) for n in range(1, self.max_presets + 2) if str(n) not in self._presets)
            self._presets[token] = PtzPreset(token, name or f"Preset {token}", self._position())
            return token

    def goto_preset(self, token: str, speed: PtzVector | None = None) -> None:
        with self._lock:
            preset = self._preset(token)
            self.absolute_move(preset.position, speed)

    def remove_preset(self, token: str) -> None:
        with self._lock:
            self._preset(token)
            del self._presets[token]

    def goto_home(self, speed: PtzVector | None = None) -> None:
        with self._lock:
            self.absolute_move(self._home, speed)

    def set_home(self) -> None:
        with self._lock:
            self._advance()
            self._home = self._position()

    # --- picture ----------------------------------------------------------------------------------------------

    def view(self, width: int, height: int) -> View:
        """The view at the current position for a picture of ``width``×``height``."""
        with self._lock:
            self._advance()
            pan, tilt, hfov = self.optics.to_angles(self._position())
        return View(pan, tilt, hfov, width, height)

    def frame(self, width: int, height: int) -> Image:
        """The BGR picture (``height``×``width``×3) the dome sees now, walkers included."""
        with self._lock:
            now = self._advance()
            pan, tilt, hfov = self.optics.to_angles(self._position())
        view = View(pan, tilt, hfov, width, height)
        image = render(self.panorama, view)
        if self.walkers:
            draw_walkers(image, view, walkers_at(now))
        return image

    # --- internals --------------------------------------------------------------------------------------------

    def _advance(self) -> float:
        now = self._clock()
        for axis in (self._pan, self._tilt, self._zoom):
            axis.advance(self._updated, now)
        self._updated = max(self._updated, now)
        return now

    def _position(self) -> PtzVector:
        return PtzVector(self._pan.position, self._tilt.position, self._zoom.position)

    def _moving(self) -> bool:
        return self._pan.moving or self._tilt.moving or self._zoom.moving

    def _axes(self, vector: PtzVector) -> tuple[tuple[_Axis, float, float], ...]:
        optics = self.optics
        return (
            (self._pan, vector.pan, optics.pan_speed_generic()),
            (self._tilt, vector.tilt, optics.tilt_speed_generic()),
            (self._zoom, vector.zoom, optics.zoom_speed_generic()),
        )

    def _speeds(self, speed: PtzVector | None) -> tuple[float, float, float]:
        optics = self.optics
        tops = (optics.pan_speed_generic(), optics.tilt_speed_generic(), optics.zoom_speed_generic())
        if speed is None:
            return tops
        fractions = (speed.pan, speed.tilt, speed.zoom)
        for axis, value in zip(("pan", "tilt", "zoom"), fractions, strict=True):
            if not 0.0 <= value <= 1.0:
                raise PtzError(f"{axis} speed {value} is outside [0, 1] (a fraction of the top speed)")
        pan, tilt, zoom = (top * (value if value > 0 else 1.0) for top, value in zip(tops, fractions, strict=True))
        return pan, tilt, zoom

    def _preset(self, token: str) -> PtzPreset:
        try:
            return self._presets[token]
        except KeyError:
            raise UnknownPresetError(f"no preset with token {token!r} on this dome") from None


# --- rendering ---------------------------------------------------------------------------------------------------


def render(panorama: Panorama, view: View) -> Image:
    """The rectilinear picture of ``view`` from ``panorama``: each pixel reads the panorama where its ray points
    (``cv2.remap``, bilinear), from the pyramid level whose scale is closest to the view's (no aliasing when zoomed
    out, full detail when zoomed in)."""
    spec = panorama.spec
    ratio = (view.hfov_deg / view.width) / spec.deg_per_px
    index = min(panorama.level_count() - 1, max(0, math.floor(math.log2(max(ratio, 1.0)))))
    source = panorama.level(index)
    map_x, map_y = _maps(source.shape[1] - 2 * WRAP_PAD, source.shape[0], spec.tilt_top_deg, view)
    picture = cv2.remap(source, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(picture, dtype=np.uint8)


@lru_cache(maxsize=8)
def _maps(width: int, height: int, top_deg: float, view: View) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """Remap tables of a view into a panorama level ``width``×``height`` whose top edge is at ``top_deg``
    (cached: a still dome renders every frame from the same tables).

    Written for speed in float32 with in-place operations (a moving dome computes them for every frame): rays
    are not normalised (``arctan2`` needs no unit vectors), and pan from ``arctan2`` is already in [-180, 180].
    """
    u, v = _grid(view.width, view.height)
    t = math.tan(math.radians(view.hfov_deg) / 2.0)
    # world = (u·t, v·t, 1) @ basis: one row of coefficients per world axis
    right, up, forward = view.basis()
    components = []
    for axis in range(3):
        world = u * np.float32(right[axis] * t)
        world += v * np.float32(up[axis] * t)
        world += np.float32(forward[axis])
        components.append(world)
    wx, wy, wz = components
    map_x = np.arctan2(wx, wz)
    map_x *= np.float32(width / (2.0 * math.pi))
    map_x += np.float32(width / 2.0 - 0.5 + WRAP_PAD)  # remap's integer coordinates are pixel centres
    np.multiply(wx, wx, out=wx)
    np.multiply(wz, wz, out=wz)
    wx += wz
    np.sqrt(wx, out=wx)
    map_y = np.arctan2(wy, wx)
    rows_per_rad = height / math.radians(top_deg + 90.0)
    map_y *= np.float32(-rows_per_rad)
    map_y += np.float32(math.radians(top_deg) * rows_per_rad - 0.5)
    fixed: tuple[npt.NDArray[Any], npt.NDArray[Any]] = cv2.convertMaps(map_x, map_y, cv2.CV_16SC2)
    return fixed


@lru_cache(maxsize=4)
def _grid(width: int, height: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Pixel centres of a picture in units of half its width from the centre (x right, y up): a ray through a
    pixel is ``(u·tan(hfov/2), v·tan(hfov/2), 1)`` in camera coordinates."""
    half = width / 2.0
    u = ((np.arange(width, dtype=np.float64) + 0.5 - half) / half).astype(np.float32)
    v = ((height / 2.0 - (np.arange(height, dtype=np.float64) + 0.5)) / half).astype(np.float32)
    us, vs = np.meshgrid(u, v)
    us.setflags(write=False)
    vs.setflags(write=False)
    return us, vs
