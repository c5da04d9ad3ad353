"""Scripted scenes for the event modules: objects with paths, turned into the detections a detector would give,
tracked by the real ByteTracker, and fed to a module at 5 fps.

A scene is a list of ``Walker``s: a class, a box size, and key frames ``(t, x, y)`` of the box's bottom centre in
normalised coordinates (linear in between), present from the first to the last key time. ``missing`` lists time
intervals during which the detector misses the object (occlusion, a dip in score), ``jitter`` adds pixel noise.
This exercises the modules' logic on the boxes a detector produces, apart from detector errors; the rendered
simulator scenes (``test_situations_scene``) do the same on video.

With ``picture=True`` the module also gets the frame: the walkers drawn as filled rectangles (a grey level per
class) on a fixed textured background, optionally under a global ``gain(t)``; ``unseen`` lists classes the
detector never reports (a real COCO detector and a bag on the ground, issue 20) while they are still drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from vigie.analytics.rules.base import Rule, RuleHit, RuleInput
from vigie.analytics.track import ByteTracker
from vigie.domain.detections import Detections, ObjectClass

SIZE = (640, 360)
FPS = 5.0


@dataclass(frozen=True, slots=True)
class Walker:
    cls: ObjectClass
    keys: Sequence[tuple[float, float, float]]
    """(t seconds, x, y) of the bottom centre, normalised."""
    size: tuple[float, float] = (0.03, 0.15)
    """(w, h) normalised; a person is about 20×54 px on 640×360."""
    sizes: Sequence[tuple[float, float, float]] = ()
    """Optional (t, w, h) key frames of the size (a person falling, sitting down)."""
    missing: Sequence[tuple[float, float]] = ()
    undetected: Sequence[tuple[float, float]] = ()
    """Intervals during which the detector misses the object though it is in the picture (``missing``: hidden)."""
    score: float = 0.9

    def at(self, t: float) -> tuple[float, float, float, float] | None:
        times = [k[0] for k in self.keys]
        if t < times[0] - 1e-9 or t > times[-1] + 1e-9:
            return None
        if any(a <= t < b for a, b in self.missing):
            return None
        x = float(np.interp(t, times, [k[1] for k in self.keys]))
        y = float(np.interp(t, times, [k[2] for k in self.keys]))
        w, h = self.size
        if self.sizes:
            st = [s[0] for s in self.sizes]
            w = float(np.interp(t, st, [s[1] for s in self.sizes]))
            h = float(np.interp(t, st, [s[2] for s in self.sizes]))
        return x, y, w, h


@dataclass(slots=True)
class Run:
    hits: list[tuple[float, RuleHit]] = field(default_factory=list)

    @property
    def times(self) -> list[float]:
        return [t for t, _ in self.hits]


SHADE = {ObjectClass.PERSON: 55.0, ObjectClass.BAG: 95.0, ObjectClass.BICYCLE: 120.0}
"""Grey level each class is drawn with (others: 80) on a background around 160."""


def background(seed: int = 1) -> np.ndarray:
    """A textured pavement: smoothed noise around grey 160 (float, 0..255)."""
    noise = np.random.default_rng(seed).normal(0, 1, (SIZE[1] // 8, SIZE[0] // 8))
    texture = np.kron(noise, np.ones((8, 8)))
    return np.asarray(160 + 12 * texture, np.float64)


Light = tuple[float, tuple[float, float, float, float], float]
"""From ``t`` on, the normalised region ``(x, y, w, h)`` is lit ×gain (a shop window, a street light's pool)."""


def picture_at(
    walkers: Sequence[Walker], t: float, ground: np.ndarray, gain: float, lights: Sequence[Light] = ()
) -> np.ndarray:
    """The scene at ``t``: every walker present drawn as a filled box on ``ground``, times ``gain``, grey uint8."""
    width, height = SIZE
    image = ground.copy()
    for since, (x, y, w, h), local in lights:
        if t >= since:
            rows = slice(round(y * height), round((y + h) * height))
            image[rows, round(x * width) : round((x + w) * width)] *= local
    for walker in walkers:
        state = walker.at(t)
        if state is None:
            continue
        x, y, w, h = state
        x1, x2 = round((x - w / 2) * width), round((x + w / 2) * width)
        image[max(0, round((y - h) * height)) : round(y * height), max(0, x1) : x2] = SHADE.get(walker.cls, 80.0)
    return np.clip(image * gain, 0, 255).astype(np.uint8)


def detections_at(
    walkers: Sequence[Walker], t: float, rng: np.random.Generator, jitter: float, unseen: Collection[ObjectClass] = ()
) -> Detections:
    width, height = SIZE
    boxes, scores, classes = [], [], []
    for walker in walkers:
        state = walker.at(t)
        if state is None or walker.cls in unseen or any(a <= t < b for a, b in walker.undetected):
            continue
        x, y, w, h = state
        box = np.array([(x - w / 2) * width, (y - h) * height, (x + w / 2) * width, y * height])
        box += rng.normal(0, jitter, 4)
        boxes.append(box)
        scores.append(walker.score)
        classes.append(int(walker.cls))
    return Detections.create(np.array(boxes).reshape(-1, 4), scores, classes)


def run_scene(
    rule: Rule,
    walkers: Sequence[Walker],
    duration: float,
    *,
    jitter: float = 1.0,
    seed: int = 0,
    start: float = 0.0,
    picture: bool = False,
    unseen: Collection[ObjectClass] = (),
    gain: Callable[[float], float] = lambda t: 1.0,
    lights: Sequence[Light] = (),
) -> Run:
    """Feed ``rule`` the tracked detections of the scene at 5 fps (and its picture with ``picture``); return its
    hits with their times."""
    rng = np.random.default_rng(seed)
    tracker = ByteTracker()
    ground = background()
    run = Run()
    steps = round(duration * FPS)
    for step in range(steps + 1):
        t = start + step / FPS
        tracks = tracker.update(detections_at(walkers, t, rng, jitter, unseen), 1.0 / FPS)
        frame = picture_at(walkers, t, ground, gain(t), lights) if picture else None
        for hit in rule.update(RuleInput(t, SIZE, tracks, frame)):
            run.hits.append((t, hit))
    return run
