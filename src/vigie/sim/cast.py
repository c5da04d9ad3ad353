"""The cast of a scene: every actor with a resolved id, pixel size, colour and path, plus what to score.

Scene files describe actors loosely (optional sizes and colours, situations that expand into many actors); the
cast is the fully resolved, immutable form the renderer works from.  Ids are allocated in a fixed order
(explicit actors first, then situations in file order) so the same scene always gives the same ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from vigie.sim.fire import Fire
from vigie.sim.scene import ActorKind, NormBox, Scene, Size, SizeUnit, VehicleView
from vigie.sim.siv import random_siv

DEFAULT_SIZES: dict[ActorKind, tuple[float, float]] = {
    ActorKind.PERSON: (0.03, 0.16),
    ActorKind.VEHICLE: (0.16, 0.13),
    ActorKind.BAG: (0.016, 0.035),
}
"""Default (width, height) of each kind, as fractions of the frame width and height."""

_VEHICLE_COLOURS: tuple[tuple[int, int, int], ...] = (
    (40, 40, 200),
    (200, 80, 30),
    (30, 160, 30),
    (20, 180, 220),
    (150, 40, 150),
    (30, 90, 180),
    (160, 160, 40),
)


@dataclass(frozen=True, slots=True)
class Track:
    """One actor of the cast: where its foot point is at any time, and how it looks."""

    id: int
    kind: ActorKind
    width_px: int
    height_px: int
    colour: tuple[int, int, int]
    times: tuple[float, ...]
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    appear_s: float
    disappear_s: float | None = None
    fall_s: float | None = None
    view: VehicleView = VehicleView.SIDE
    plate: str | None = None
    """The SIV number on the plate of a vehicle seen from the rear (``AB-123-CD``), else None."""

    def present(self, t: float) -> bool:
        """Whether the actor exists at time ``t`` (it may still be outside the frame)."""
        return t >= self.appear_s and (self.disappear_s is None or t < self.disappear_s)

    def position(self, t: float) -> tuple[float, float]:
        """Normalised foot point at time ``t``: linear between waypoints, clamped before/after."""
        return float(np.interp(t, self.times, self.xs)), float(np.interp(t, self.times, self.ys))

    def moving(self, t: float) -> bool:
        index = int(np.searchsorted(self.times, t, side="right"))
        if index <= 0 or index >= len(self.times):
            return False
        return self.xs[index] != self.xs[index - 1] or self.ys[index] != self.ys[index - 1]

    def fallen(self, t: float) -> bool:
        return self.fall_s is not None and t >= self.fall_s


@dataclass(frozen=True, slots=True)
class EventSpec:
    """How to derive one ground-truth event from the rendered boxes.

    The event covers the first contiguous run of frames where: the time is within [start_s, end_s] (when set),
    the primary actor (``actor_ids[0]``) is visible (when there are actors), and its box's bottom-centre is in
    ``zone`` (when set).  Its region is the union of the boxes of ``region_ids`` over that run, or ``region``.
    """

    kind: str
    actor_ids: tuple[int, ...]
    region_ids: tuple[int, ...]
    start_s: float | None = None
    end_s: float | None = None
    region: NormBox | None = None
    zone: tuple[tuple[float, float], ...] | None = None
    situation: int = 0


@dataclass(frozen=True, slots=True)
class Flicker:
    """A region whose brightness goes on and off (square wave) during [start_s, end_s)."""

    region: NormBox
    start_s: float
    end_s: float
    amplitude: float
    frequency_hz: float

    def offset(self, t: float) -> float:
        if not self.start_s <= t < self.end_s:
            return 0.0
        phase = ((t - self.start_s) * self.frequency_hz) % 1.0
        return self.amplitude if phase < 0.5 else 0.0


@dataclass(frozen=True, slots=True)
class Cast:
    tracks: tuple[Track, ...]
    events: tuple[EventSpec, ...]
    flickers: tuple[Flicker, ...]
    fires: tuple[Fire, ...] = ()


@dataclass(slots=True)
class CastBuilder:
    """Allocates ids and resolves sizes and colours deterministically from the scene seed."""

    scene: Scene
    tracks: list[Track] = field(default_factory=list)
    events: list[EventSpec] = field(default_factory=list)
    flickers: list[Flicker] = field(default_factory=list)
    fires: list[Fire] = field(default_factory=list)

    def next_id(self) -> int:
        return len(self.tracks) + 1

    def size_px(self, kind: ActorKind, size: Size | None) -> tuple[int, int]:
        if size is None:
            size = getattr(self.scene.sizes, kind.value)
        if size is None:
            w, h = DEFAULT_SIZES[kind]
            size = Size(w=w, h=h)
        if size.unit is SizeUnit.PX:
            return max(2, round(size.w)), max(2, round(size.h))
        return max(2, round(size.w * self.scene.width)), max(2, round(size.h * self.scene.height))

    def size_norm(self, kind: ActorKind, size: Size | None = None, at_y: float | None = None) -> tuple[float, float]:
        """Normalised size; with ``at_y``, as the perspective draws it with its foot point on that row."""
        w, h = self.size_px(kind, size)
        scale = 1.0 if at_y is None else scale_at(self.scene, at_y)
        return scale * w / self.scene.width, scale * h / self.scene.height

    def colour(self, kind: ActorKind, actor_id: int) -> tuple[int, int, int]:
        rng = np.random.default_rng([self.scene.seed, 2, actor_id])
        if kind is ActorKind.VEHICLE:
            return _VEHICLE_COLOURS[int(rng.integers(len(_VEHICLE_COLOURS)))]
        hue = int(rng.integers(0, 180))
        sat = int(rng.integers(150, 256))
        val = int(rng.integers(110, 200) if kind is ActorKind.PERSON else rng.integers(60, 120))
        bgr = cv2.cvtColor(np.array([[[hue, sat, val]]], dtype=np.uint8), cv2.COLOR_HSV2BGR)[0, 0]
        return int(bgr[0]), int(bgr[1]), int(bgr[2])

    def add(
        self,
        kind: ActorKind,
        path: list[tuple[float, float, float]],
        *,
        size: Size | None = None,
        colour: tuple[int, int, int] | None = None,
        appear_s: float | None = None,
        disappear_s: float | None = None,
        fall_s: float | None = None,
        view: VehicleView = VehicleView.SIDE,
        plate: str | None = None,
    ) -> Track:
        """Add an actor whose path is ``[(t, x, y), ...]`` (strictly increasing t) and return it. A vehicle seen
        from the rear carries ``plate``, or a valid SIV number drawn from the scene seed and its id."""
        actor_id = self.next_id()
        if view is VehicleView.REAR and plate is None:
            plate = random_siv(np.random.default_rng([self.scene.seed, 8, actor_id]))
        w, h = self.size_px(kind, size)
        track = Track(
            id=actor_id,
            kind=kind,
            width_px=w,
            height_px=h,
            colour=colour if colour is not None else self.colour(kind, actor_id),
            times=tuple(p[0] for p in path),
            xs=tuple(_clamp(p[1]) for p in path),
            ys=tuple(_clamp(p[2]) for p in path),
            appear_s=appear_s if appear_s is not None else path[0][0],
            disappear_s=disappear_s,
            fall_s=fall_s,
            view=view,
            plate=plate,
        )
        self.tracks.append(track)
        return track

    def build(self) -> Cast:
        return Cast(tuple(self.tracks), tuple(self.events), tuple(self.flickers), tuple(self.fires))


def scale_at(scene: Scene, y: float) -> float:
    """Size factor of an actor whose foot point is on normalised row ``y`` (1 without a perspective)."""
    return 1.0 if scene.perspective is None else scene.perspective.scale(y)


def _clamp(value: float) -> float:
    return min(1.5, max(-0.5, value))
