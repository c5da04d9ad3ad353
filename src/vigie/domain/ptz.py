"""PTZ domes as the platform sees them: positions in the ONVIF generic spaces, what a dome does, and its optics.

Positions travel as :class:`PtzVector` in the ONVIF generic spaces (pan and tilt in [-1, 1], zoom in [0, 1]),
the spaces every ONVIF dome supports, so a position read from a camera, stored in a preset or sent by the console
means the same thing everywhere. :class:`DomeOptics` turns them into world angles (pan and tilt in degrees, the
horizontal field of view) for whatever needs geometry: the simulated dome's renderer, privacy masks projected into
each frame, auto-tracking. The projection between world angles and pixels lives here too, so the renderer and the
masks use the same one (a mask drawn with another projection than the picture would slide off its window).

World angles: pan in degrees clockwise seen from above (0 = the dome's reference direction, wrapping at ±180),
tilt in degrees above the horizon (negative below, -90 = straight down). Image coordinates: x to the right, y
down, in pixels, pixel ``i`` covering ``[i, i + 1)`` (its centre at ``i + 0.5``). Pure: standard library and numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class PtzError(ValueError):
    """A PTZ command a dome cannot carry out as given; the message names the value and the accepted range."""


class UnknownPresetError(PtzError, KeyError):
    """No preset with this token on this dome (ONVIF fault ``ter:NoToken``)."""

    def __str__(self) -> str:  # KeyError quotes its argument; the message is for a person
        return str(self.args[0]) if self.args else ""


class PresetLimitError(PtzError):
    """The dome holds as many presets as it can (ONVIF fault ``ter:TooManyPresets``)."""


@dataclass(frozen=True, slots=True)
class PtzVector:
    """A position (pan, tilt in [-1, 1], zoom in [0, 1]), a velocity (each in [-1, 1]), a translation or a
    speed, in the ONVIF generic spaces."""

    pan: float
    tilt: float
    zoom: float


@dataclass(frozen=True, slots=True)
class PtzStatus:
    """Where a dome is: ``moving`` while pan/tilt or zoom still moves (ONVIF MoveStatus MOVING, else IDLE);
    ``at`` is the dome's clock (seconds) when ``position`` was true."""

    position: PtzVector
    moving: bool
    at: float


@dataclass(frozen=True, slots=True)
class PtzPreset:
    """A stored position, recalled by its token."""

    token: str
    name: str
    position: PtzVector


class PtzDevice(Protocol):
    """What a dome does: the simulated dome implements it, the ONVIF client too.

    Velocities are in [-1, 1] per axis; speeds in [0, 1] (a fraction of the axis's top speed; absent means top
    speed). A position out of its generic range is refused with :class:`PtzError`.
    """

    def continuous_move(self, velocity: PtzVector, timeout_s: float | None = None) -> None: ...

    def absolute_move(self, position: PtzVector, speed: PtzVector | None = None) -> None: ...

    def relative_move(self, translation: PtzVector, speed: PtzVector | None = None) -> None: ...

    def stop(self) -> None: ...

    def status(self) -> PtzStatus: ...

    def presets(self) -> list[PtzPreset]: ...

    def set_preset(self, name: str, token: str | None = None) -> str: ...

    def goto_preset(self, token: str, speed: PtzVector | None = None) -> None: ...

    def remove_preset(self, token: str) -> None: ...

    def goto_home(self, speed: PtzVector | None = None) -> None: ...

    def set_home(self) -> None: ...


def check_position(position: PtzVector) -> None:
    """Refuse a position outside the generic spaces (pan, tilt in [-1, 1], zoom in [0, 1]) or not a number."""
    for axis, value, low in (("pan", position.pan, -1.0), ("tilt", position.tilt, -1.0), ("zoom", position.zoom, 0.0)):
        if not (low <= value <= 1.0):
            raise PtzError(f"{axis} position {value} is outside the generic space [{low:g}, 1]")


def check_velocity(velocity: PtzVector) -> None:
    """Refuse a velocity outside [-1, 1] on any axis, or not a number."""
    for axis, value in (("pan", velocity.pan), ("tilt", velocity.tilt), ("zoom", velocity.zoom)):
        if not (-1.0 <= value <= 1.0):
            raise PtzError(f"{axis} velocity {value} is outside [-1, 1]")


@dataclass(frozen=True, slots=True)
class DomeOptics:
    """A dome's mechanics and lens, and the conversion between generic positions and world angles.

    Pan: generic ``p`` is ``p * pan_range_deg / 2`` degrees (a 360° range is endless: ±1 is the same direction).
    Tilt: generic -1..1 maps linearly onto ``tilt_min_deg..tilt_max_deg``. Zoom: generic 0..1 maps onto the
    magnification logarithmically (zoom 0.5 of a 20× lens is √20×), so a constant zoom speed looks constant; the
    horizontal field of view is ``2·atan(tan(hfov_wide/2) / magnification)``.
    """

    pan_range_deg: float = 360.0
    tilt_min_deg: float = -90.0
    tilt_max_deg: float = 10.0
    hfov_wide_deg: float = 60.0
    hfov_tele_deg: float = 3.0
    max_pan_tilt_speed_deg_s: float = 120.0
    zoom_full_range_s: float = 3.0

    def __post_init__(self) -> None:
        if not 0 < self.pan_range_deg <= 360:
            raise ValueError(f"pan_range_deg {self.pan_range_deg} must be in (0, 360]")
        if not -90 <= self.tilt_min_deg < self.tilt_max_deg <= 90:
            raise ValueError(
                f"tilt range {self.tilt_min_deg}..{self.tilt_max_deg}° must be increasing and within -90..90°"
            )
        if not 0 < self.hfov_tele_deg <= self.hfov_wide_deg < 180:
            raise ValueError(
                f"fields of view {self.hfov_wide_deg}° (wide) and {self.hfov_tele_deg}° (tele) must satisfy "
                "0 < tele <= wide < 180"
            )
        if self.max_pan_tilt_speed_deg_s <= 0 or self.zoom_full_range_s <= 0:
            raise ValueError("max_pan_tilt_speed_deg_s and zoom_full_range_s must be positive")

    @property
    def endless_pan(self) -> bool:
        """Whether pan turns without end (a 360° range)."""
        return self.pan_range_deg >= 360.0

    @property
    def magnification(self) -> float:
        """The optical zoom ratio between zoom 0 and zoom 1 (about 22× for 60° and 3°)."""
        return _tan_half(self.hfov_wide_deg) / _tan_half(self.hfov_tele_deg)

    def pan_deg(self, pan: float) -> float:
        """World pan (degrees, in [-180, 180) for an endless dome) of a generic pan."""
        degrees = pan * self.pan_range_deg / 2.0
        return wrap_deg(degrees) if self.endless_pan else degrees

    def tilt_deg(self, tilt: float) -> float:
        """World tilt (degrees above the horizon) of a generic tilt."""
        return self.tilt_min_deg + (tilt + 1.0) / 2.0 * (self.tilt_max_deg - self.tilt_min_deg)

    def hfov_deg(self, zoom: float) -> float:
        """Horizontal field of view (degrees) at a generic zoom."""
        return 2.0 * math.degrees(math.atan(_tan_half(self.hfov_wide_deg) / self.magnification**zoom))

    def to_angles(self, position: PtzVector) -> tuple[float, float, float]:
        """``(pan_deg, tilt_deg, hfov_deg)`` of a generic position."""
        return self.pan_deg(position.pan), self.tilt_deg(position.tilt), self.hfov_deg(position.zoom)

    def from_angles(self, pan_deg: float, tilt_deg: float, hfov_deg: float) -> PtzVector:
        """The generic position looking at ``(pan_deg, tilt_deg)`` with this field of view, each axis clamped to
        what the dome reaches (pan wrapped on an endless dome)."""
        half = self.pan_range_deg / 2.0
        pan_world = wrap_deg(pan_deg) if self.endless_pan else min(max(pan_deg, -half), half)
        pan = pan_world / half
        tilt = (tilt_deg - self.tilt_min_deg) / (self.tilt_max_deg - self.tilt_min_deg) * 2.0 - 1.0
        hfov = min(max(hfov_deg, self.hfov_tele_deg), self.hfov_wide_deg)
        zoom = math.log(_tan_half(self.hfov_wide_deg) / _tan_half(hfov)) / math.log(self.magnification)
        return PtzVector(pan, min(max(tilt, -1.0), 1.0), min(max(zoom, 0.0), 1.0))

    def pan_speed_generic(self) -> float:
        """Top pan speed in generic units per second."""
        return self.max_pan_tilt_speed_deg_s / (self.pan_range_deg / 2.0)

    def tilt_speed_generic(self) -> float:
        """Top tilt speed in generic units per second."""
        return self.max_pan_tilt_speed_deg_s / ((self.tilt_max_deg - self.tilt_min_deg) / 2.0)

    def zoom_speed_generic(self) -> float:
        """Top zoom speed in generic units per second."""
        return 1.0 / self.zoom_full_range_s


def wrap_deg(degrees: float) -> float:
    """An angle in [-180, 180)."""
    return (degrees + 180.0) % 360.0 - 180.0


def _tan_half(fov_deg: float) -> float:
    return math.tan(math.radians(fov_deg) / 2.0)


@dataclass(frozen=True, slots=True)
class View:
    """A rectilinear (pinhole) view: where it looks, its horizontal field of view, its size in pixels."""

    pan_deg: float
    tilt_deg: float
    hfov_deg: float
    width: int
    height: int

    @property
    def focal_px(self) -> float:
        """Focal length in pixels (the same horizontally and vertically: square pixels)."""
        return self.width / 2.0 / _tan_half(self.hfov_deg)

    @property
    def vfov_deg(self) -> float:
        """Vertical field of view (degrees)."""
        return 2.0 * math.degrees(math.atan(self.height / 2.0 / self.focal_px))

    def basis(self) -> FloatArray:
        """Rows: the camera's right, up and forward unit vectors in world coordinates (x east, y up, z north)."""
        return camera_basis(self.pan_deg, self.tilt_deg)


def camera_basis(pan_deg: float, tilt_deg: float) -> FloatArray:
    """Right, up and forward unit vectors (rows) of a camera looking at ``(pan_deg, tilt_deg)``; no roll."""
    p, t = math.radians(pan_deg), math.radians(tilt_deg)
    forward = (math.cos(t) * math.sin(p), math.sin(t), math.cos(t) * math.cos(p))
    right = (math.cos(p), 0.0, -math.sin(p))
    up = (-math.sin(t) * math.sin(p), math.cos(t), -math.sin(t) * math.cos(p))
    return np.array([right, up, forward], dtype=np.float64)


def directions(pan_deg: npt.ArrayLike, tilt_deg: npt.ArrayLike) -> FloatArray:
    """Unit vectors (…×3, world coordinates) of world angles."""
    p = np.radians(np.asarray(pan_deg, dtype=np.float64))
    t = np.radians(np.asarray(tilt_deg, dtype=np.float64))
    cos_t = np.cos(t)
    return np.stack([cos_t * np.sin(p), np.sin(t), cos_t * np.cos(p)], axis=-1)


def angles(vectors: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """World angles ``(pan_deg, tilt_deg)`` of vectors (…×3, need not be unit)."""
    v = np.asarray(vectors, dtype=np.float64)
    norm = np.linalg.norm(v, axis=-1)
    pan = np.degrees(np.arctan2(v[..., 0], v[..., 2]))
    tilt = np.degrees(np.arcsin(np.clip(v[..., 1] / norm, -1.0, 1.0)))
    return pan, tilt


def to_camera(view: View, vectors: npt.ArrayLike) -> FloatArray:
    """World vectors (…×3) in the camera's coordinates (…×3: right, up, forward)."""
    return np.asarray(vectors, dtype=np.float64) @ view.basis().T


def project(view: View, pan_deg: npt.ArrayLike, tilt_deg: npt.ArrayLike) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Image coordinates ``(x, y)`` of world angles in ``view`` and whether each is in front of the camera
    (a point behind it has no image; its x, y are then meaningless)."""
    cam = to_camera(view, directions(pan_deg, tilt_deg))
    return (*image_of_camera(view, cam), cam[..., 2] > 1e-9)


def image_of_camera(view: View, cam: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Image coordinates of camera-space vectors in front of the camera (forward component > 0)."""
    depth = np.where(cam[..., 2] > 1e-9, cam[..., 2], 1e-9)
    f = view.focal_px
    return view.width / 2.0 + f * cam[..., 0] / depth, view.height / 2.0 - f * cam[..., 1] / depth


def rays(view: View, x: npt.ArrayLike, y: npt.ArrayLike) -> FloatArray:
    """Camera-space rays (…×3, not unit) through image coordinates ``(x, y)``."""
    f = view.focal_px
    cx = (np.asarray(x, dtype=np.float64) - view.width / 2.0) / f
    cy = (view.height / 2.0 - np.asarray(y, dtype=np.float64)) / f
    return np.stack([cx, cy, np.ones_like(cx)], axis=-1)


def unproject(view: View, x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """World angles ``(pan_deg, tilt_deg)`` seen at image coordinates ``(x, y)`` of ``view``."""
    return angles(rays(view, x, y) @ view.basis())
