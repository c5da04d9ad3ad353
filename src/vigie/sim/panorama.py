"""The world a simulated PTZ dome looks at: a large equirectangular panorama, drawn procedurally from a seed.

The panorama covers the whole turn of pan (-180..180°, x to the right) and tilt from ``tilt_top_deg`` down to
the nadir (y down), at the same angular step on both axes (8192 px for 360°: 0.044°/px). It shows a square seen
from a dome on a pole: sky and clouds, a ring of numbered buildings with windows, shop signs and doors, then
pavements, a road with lane markings and crossings, and a ground texture. Every part differs from every other
(random facades, signs, a grid of labelled survey markers every 15°, multi-scale noise) so a test can tell from
the pixels where a view points. Identical for identical arguments; built once per process and cached.

People walking on the square (:func:`walkers_at`) are not painted into the panorama: the dome draws them into each
frame at their world position (:func:`draw_walkers`), so they move while the panorama stays read-only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache

import cv2
import numpy as np
import numpy.typing as npt

from vigie.domain.ptz import View, project, wrap_deg

Image = npt.NDArray[np.uint8]
WRAP_PAD = 4
"""Columns copied from each side to the other, so interpolation across the ±180° seam reads real neighbours."""

FACADE_TOP_DEG = 24.0
GROUND_DEG = -9.0
"""The foot of the buildings; the ground (pavement, road, square) lies below this tilt."""


@dataclass(frozen=True, slots=True)
class PanoramaSpec:
    """Size and seed of a panorama; the tilt range is derived so pixels are square in degrees."""

    width: int = 8192
    height: int = 3072
    seed: int = 19

    def __post_init__(self) -> None:
        if self.width < 512 or self.height < 128:
            raise ValueError(f"panorama {self.width}×{self.height} is too small: at least 512×128")
        if self.height * 360.0 / self.width > 180.0:
            raise ValueError(f"panorama {self.width}×{self.height} spans more than 180° of tilt: use height <= width/2")

    @property
    def deg_per_px(self) -> float:
        return 360.0 / self.width

    @property
    def tilt_top_deg(self) -> float:
        """Tilt of the top edge: the panorama ends at the nadir (-90°) and rises by ``height`` square pixels."""
        return -90.0 + self.height * self.deg_per_px


class Panorama:
    """A drawn panorama and its image pyramid (each level half the previous, padded for the seam)."""

    def __init__(self, spec: PanoramaSpec) -> None:
        self.spec = spec
        self.image: Image = _draw(spec)
        self.image.setflags(write=False)

    def pixel_of(self, pan_deg: npt.ArrayLike, tilt_deg: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Continuous panorama coordinates (x in [0, width), y from the top) of world angles."""
        spec = self.spec
        pan = (np.asarray(pan_deg, dtype=np.float64) + 180.0) % 360.0
        return pan / spec.deg_per_px, (spec.tilt_top_deg - np.asarray(tilt_deg, dtype=np.float64)) / spec.deg_per_px

    def angles_of(self, x: float, y: float) -> tuple[float, float]:
        """World angles of continuous panorama coordinates."""
        spec = self.spec
        return wrap_deg(x * spec.deg_per_px - 180.0), spec.tilt_top_deg - y * spec.deg_per_px

    @cached_property
    def _levels(self) -> list[Image]:
        levels = [self.image]
        while levels[-1].shape[1] > 1024:
            levels.append(np.asarray(cv2.pyrDown(levels[-1]), dtype=np.uint8))
        padded = []
        for level in levels:
            wrapped = np.concatenate([level[:, -WRAP_PAD:], level, level[:, :WRAP_PAD]], axis=1)
            wrapped.setflags(write=False)
            padded.append(wrapped)
        return padded

    def level(self, index: int) -> Image:
        """Pyramid level ``index`` (0 = full size, clamped to the smallest), with ``WRAP_PAD`` columns of the
        other side on each side."""
        levels = self._levels
        return levels[min(max(index, 0), len(levels) - 1)]

    def level_count(self) -> int:
        return len(self._levels)


@lru_cache(maxsize=2)
def panorama(spec: PanoramaSpec | None = None) -> Panorama:
    """The panorama of ``spec`` (default 8192×3072, seed 19), drawn once per process (about a second)."""
    return Panorama(spec or PanoramaSpec())


# --- drawing -----------------------------------------------------------------------------------------------------


def _draw(spec: PanoramaSpec) -> Image:
    """Draw the panorama in uint8, band by band where float arithmetic is needed (a float copy of the whole
    image would take 300 MB)."""
    rng = np.random.default_rng([spec.seed, 19])
    width, height = spec.width, spec.height

    def row(tilt_deg: float) -> int:
        return round((spec.tilt_top_deg - tilt_deg) / spec.deg_per_px)

    canvas = np.empty((height, width, 3), np.uint8)
    sky_rows = max(1, row(0.0))
    shade = np.linspace(0.0, 1.0, sky_rows, dtype=np.float32)[:, None]
    gradient = np.array([205, 150, 95], np.float32) * (1 - shade) + np.array([230, 205, 180], np.float32) * shade
    clouds = np.clip(
        _smooth_noise(rng, width, sky_rows, cell=96) + 0.5 * _smooth_noise(rng, width, sky_rows, 24), 0, None
    )
    for channel in range(3):
        canvas[:sky_rows, :, channel] = np.clip(gradient[:, channel, None] + 40.0 * clouds, 0, 255).astype(np.uint8)
    del clouds
    ground_row = row(GROUND_DEG)
    _ground(rng, canvas, spec, ground_row, row)
    _buildings(rng, canvas, spec, row(FACADE_TOP_DEG), ground_row)
    _markers(canvas, spec, row)
    fine = _smooth_noise(rng, width, height, cell=6)
    coarse = _smooth_noise(rng, width, height, cell=40)
    for top in range(0, height, 256):
        band = slice(top, top + 256)
        texture = (fine[band] * 7.0 + coarse[band] * 9.0)[..., None]
        canvas[band] = np.clip(canvas[band].astype(np.float32) + texture, 0, 255).astype(np.uint8)
    return canvas


def _smooth_noise(rng: np.random.Generator, width: int, height: int, cell: int) -> npt.NDArray[np.float32]:
    """Noise of unit amplitude varying over about ``cell`` pixels."""
    small = rng.normal(0.0, 1.0, size=(max(2, height // cell), max(2, width // cell))).astype(np.float32)
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC), dtype=np.float32)


def _ground(
    rng: np.random.Generator, canvas: Image, spec: PanoramaSpec, ground_row: int, row: Callable[[float], int]
) -> None:
    height, width = canvas.shape[:2]
    px = 1.0 / spec.deg_per_px
    canvas[ground_row:] = (150, 152, 155)  # pavement
    road_top, road_bottom, square = row(-14.0), row(-34.0), row(-36.0)
    canvas[road_top:road_bottom] = (78, 80, 84)
    canvas[road_bottom:] = (120, 135, 128)  # the square, stone with moss
    thickness = max(2, int(0.25 * px))
    for y, dashed in ((row(-14.6), False), (row(-22.0), True), (row(-33.4), False)):
        if dashed:
            for x in range(0, width, int(4 * px)):
                canvas[y : y + thickness, x : x + int(2 * px)] = (225, 225, 225)
        else:
            canvas[y : y + thickness] = (215, 215, 215)
    for crossing in range(9):  # a pedestrian crossing every 40°, shifted at random
        centre = int(((crossing * 40.0 + rng.uniform(5, 30)) % 360.0) * px)
        for stripe in range(7):
            x = centre + int((stripe - 3) * 0.9 * px)
            cv2.rectangle(canvas, (x, road_top + 4), (x + int(0.5 * px), road_bottom - 4), (230, 230, 230), -1)
    for _ in range(120):  # bollards, bins and lamp posts on the pavement
        x = int(rng.uniform(0, width))
        base = row(float(rng.uniform(-13.5, -10.0)))
        tall, wide = int(rng.uniform(0.8, 4.0) * px), int(rng.uniform(0.15, 0.6) * px)
        colour = tuple(int(c) for c in rng.integers(20, 230, 3))
        cv2.rectangle(canvas, (x, base - tall), (x + wide, base), colour, -1)
    for y in range(square, height, max(8, int(2.5 * px))):  # paving joints
        canvas[y : y + 2] = (95, 110, 103)
    for _ in range(260):  # manholes, planters, benches: at random places, each its own colour and size
        x, y = int(rng.uniform(0, width)), int(rng.uniform(square, height - 4))
        radius = int(rng.uniform(0.3, 1.6) * px)
        colour = tuple(int(c) for c in rng.integers(30, 200, 3))
        for shifted in (x - width, x, x + width):  # drawn on both sides of the seam, clipped by OpenCV
            cv2.circle(canvas, (shifted, y), radius, colour, -1)
            cv2.circle(canvas, (shifted, y), max(1, radius // 2), tuple(int(c * 0.6) for c in colour), 2)


def _buildings(rng: np.random.Generator, canvas: Image, spec: PanoramaSpec, top_row: int, ground_row: int) -> None:
    px = 1.0 / spec.deg_per_px
    x, number = 0, 1
    width = spec.width
    while x < width:
        facade = min(int(rng.uniform(2.5, 7.0) * px), width - x)
        if width - x - facade < 1.5 * px:
            facade = width - x
        roof = int(top_row + rng.uniform(0.0, 0.6) * (ground_row - top_row))
        colour = tuple(int(c) for c in rng.integers(60, 210, 3))
        cv2.rectangle(canvas, (x, roof), (x + facade - 1, ground_row), colour, -1)
        cv2.rectangle(canvas, (x, roof), (x + facade - 1, roof + max(3, int(0.4 * px))), (60, 60, 70), -1)
        _windows(rng, canvas, (x, roof, facade, ground_row - roof), px)
        sign = "".join(chr(int(c)) for c in rng.integers(65, 91, 4)) + f" {number}"
        sign_y = ground_row - int(2.6 * px)
        sign_colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(canvas, (x + 4, sign_y - int(0.9 * px)), (x + facade - 5, sign_y + 4), sign_colour, -1)
        scale = max(0.4, 0.035 * px)
        cv2.putText(canvas, sign, (x + 8, sign_y - 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 2)
        door = x + int(rng.uniform(0.2, 0.7) * facade)
        cv2.rectangle(canvas, (door, ground_row - int(1.6 * px)), (door + int(0.8 * px), ground_row), (40, 30, 25), -1)
        x += facade
        number += 1


def _windows(rng: np.random.Generator, canvas: Image, box: tuple[int, int, int, int], px: float) -> None:
    x, roof, facade, tall = box
    ground = roof + tall
    step_x, step_y = int(rng.uniform(0.9, 1.6) * px), int(rng.uniform(1.4, 2.2) * px)
    win_w, win_h = int(step_x * rng.uniform(0.4, 0.7)), int(step_y * rng.uniform(0.4, 0.7))
    for wy in range(roof + int(1.0 * px), ground - int(3.8 * px), step_y):
        for wx in range(x + int(0.5 * px), x + facade - win_w - int(0.3 * px), step_x):
            lit = rng.random() < 0.35
            colour = (90, 210, 245) if lit else tuple(int(c) for c in rng.integers(20, 90, 3))
            cv2.rectangle(canvas, (wx, wy), (wx + win_w, wy + win_h), colour, -1)
            if rng.random() < 0.3:  # a curtain or a plant: a mark of its own
                cv2.line(canvas, (wx, wy + win_h // 2), (wx + win_w, wy + win_h // 2), (200, 200, 200), 2)


def _markers(canvas: Image, spec: PanoramaSpec, row: Callable[[float], int]) -> None:
    """Survey markers every 15° of pan and tilt, each a ring with its angles written beside it."""
    px = 1.0 / spec.deg_per_px
    tilt = -75.0
    while tilt <= spec.tilt_top_deg - 5.0:
        for pan in range(-180, 180, 15):
            x = round((pan + 180.0) * px)
            y = int(row(tilt))
            radius = max(4, int(0.35 * px))
            label = f"P{pan:+04d} T{int(tilt):+03d}"
            for shifted in (x - spec.width, x, x + spec.width):  # both sides of the seam, clipped by OpenCV
                cv2.circle(canvas, (shifted, y), radius, (0, 0, 255), -1)
                cv2.circle(canvas, (shifted, y), radius // 2, (255, 255, 255), -1)
            cv2.putText(canvas, label, (x + radius + 3, y + radius), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 4)
            cv2.putText(canvas, label, (x + radius + 3, y + radius), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
        tilt += 15.0


# --- people --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WalkerPath:
    """A person crossing the square: feet at ``tilt_deg`` (plus a slow sway), pan moving at ``pan_speed_deg_s``
    from ``start_pan_deg`` at time 0, ``height_deg`` tall."""

    start_pan_deg: float
    pan_speed_deg_s: float
    tilt_deg: float
    height_deg: float
    colour: tuple[int, int, int]
    sway_deg: float = 0.0
    sway_period_s: float = 20.0


@dataclass(frozen=True, slots=True)
class Walker:
    """Where a person is at one instant: feet at ``(pan_deg, tilt_deg)``."""

    pan_deg: float
    tilt_deg: float
    height_deg: float
    colour: tuple[int, int, int]


DEFAULT_WALKERS = (
    WalkerPath(start_pan_deg=-150.0, pan_speed_deg_s=2.0, tilt_deg=-12.0, height_deg=4.0, colour=(40, 40, 200)),
    WalkerPath(
        start_pan_deg=30.0,
        pan_speed_deg_s=-3.5,
        tilt_deg=-40.0,
        height_deg=9.0,
        colour=(200, 90, 30),
        sway_deg=6.0,
        sway_period_s=40.0,
    ),
)


def walkers_at(t: float, paths: tuple[WalkerPath, ...] = DEFAULT_WALKERS) -> tuple[Walker, ...]:
    """The people on the square at time ``t`` (seconds of the dome's clock), ground truth for auto-tracking."""
    return tuple(
        Walker(
            wrap_deg(path.start_pan_deg + path.pan_speed_deg_s * t),
            path.tilt_deg + path.sway_deg * math.sin(2 * math.pi * t / path.sway_period_s),
            path.height_deg,
            path.colour,
        )
        for path in paths
    )


def draw_walkers(frame: Image, view: View, walkers: tuple[Walker, ...]) -> None:
    """Draw each walker in front of the camera into ``frame`` (in place) at its projected place and size."""
    for walker in walkers:
        h = walker.height_deg
        w = h * 0.28
        # silhouette in world angles (feet at tilt 0 of the person's frame): legs, body, shoulders
        outline = np.array(
            [
                (-w / 2, 0.0),
                (-w / 4, 0.0),
                (0.0, 0.45 * h),
                (w / 4, 0.0),
                (w / 2, 0.0),
                (w / 2, 0.8 * h),
                (-w / 2, 0.8 * h),
            ]
        )
        pans = walker.pan_deg + outline[:, 0] / max(math.cos(math.radians(walker.tilt_deg)), 0.05)
        tilts = walker.tilt_deg + outline[:, 1]
        x, y, front = project(view, pans, tilts)
        if not front.all():
            continue
        points = np.stack([x, y], axis=-1)
        if np.abs(points).max() > 1e5:
            continue
        # fillPoly's integer coordinates are pixel centres, at +0.5 in image coordinates
        cv2.fillPoly(frame, [np.round((points - 0.5) * 16).astype(np.int32)], walker.colour, cv2.LINE_AA, shift=4)
        hx, hy, head_front = project(view, walker.pan_deg, walker.tilt_deg + 0.9 * h)
        if head_front:
            radius = view.focal_px * math.radians(0.1 * h)
            centre = (round((float(hx) - 0.5) * 16), round((float(hy) - 0.5) * 16))
            cv2.circle(frame, centre, max(16, int(radius * 16)), (150, 180, 220), -1, cv2.LINE_AA, shift=4)
