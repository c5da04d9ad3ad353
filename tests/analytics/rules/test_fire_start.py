"""``fire_start`` on synthetic street scenes whose truth is known.

A growing flame must be reported once, soon, where it is; the things the 2025 official evaluation of the Paris
experiment took for fires — lit shop signs, emergency lights, reflections, warm light — must not be reported.

Every scene is drawn with numpy and OpenCV at 640×360, 5 frames per second, from a seeded ``numpy`` generator:
a textured grey-brown street (facade, windows, road, lane marks) with sensor noise that changes every frame, and
what the scene is about painted on it. The same seed gives the same pixels, so a failure is reproducible and a
pass is not luck.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np
import pytest

from vigie.analytics.rules.base import RuleHit, RuleInput
from vigie.analytics.rules.fire_start import FireStart, FireStartConfig
from vigie.domain.detections import Detections
from vigie.domain.geometry import Box
from vigie.sim.fire import ORANGE, RED, YELLOW, flame_outline

W, H = 640, 360
FPS = 5.0
DEFAULT = FireStartConfig()
MAX_DELAY_S = DEFAULT.window_s + 2.0
"""How late a hit may come after the flame appears. The module judges a place only once it has watched it for
three quarters of a window (3 s), and the flames of these scenes grow at least ×2 in 8 s (×1.41 per window, over
the ×1.3 asked), so growth shows within a window; the 2 s beyond it are for a small flame's flicker, which only
shows once it covers enough pixels of the 160-pixel-wide picture. Over 20 seeds per scene hits came 3.0–5.6 s
after the flame appeared. A later hit would leave a fire that long unreported."""

# BGR colours of a flame, outside in: red edges, orange body, yellow core.

Painter = Callable[[np.ndarray, float, np.random.Generator], Box | None]
"""Paints something on a BGR frame at a time; returns the flame's box (normalised) when it painted a flame."""


# --- the street ----------------------------------------------------------------------------------------------


@functools.cache
def _noise_bank() -> np.ndarray:
    """Sensor noise (σ = 3 grey levels), a few frames of it, padded so a random crop of it differs every frame."""
    rng = np.random.default_rng(12345)
    return rng.normal(0.0, 3.0, size=(4, H + 16, W + 16, 3)).astype(np.int16)


def _street(rng: np.random.Generator) -> np.ndarray:
    """A grey-brown street: facade with dark windows above, road with lane marks below, textured at two scales."""
    frame = np.empty((H, W, 3), np.float32)
    frame[: H // 2] = (92, 104, 122)  # facade, brownish
    frame[H // 2 :] = (96, 98, 102)  # road, grey
    for x in range(30, W, 90):
        for y in (30, 100):
            frame[y : y + 40, x : x + 30] = (58, 60, 64)
    for x in range(0, W, 120):
        frame[H * 3 // 4 : H * 3 // 4 + 5, x : x + 60] = (190, 192, 195)
    coarse = cv2.resize(rng.normal(0.0, 14.0, (H // 16, W // 16)).astype(np.float32), (W, H))
    fine = rng.normal(0.0, 6.0, (H, W)).astype(np.float32)
    frame += (coarse + fine)[..., None] * rng.uniform(0.85, 1.15, 3).astype(np.float32)
    return np.clip(frame, 0, 255).astype(np.uint8)


def _box(points: np.ndarray) -> Box:
    x, y, w, h = cv2.boundingRect(points)
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    return Box(x0 / W, y0 / H, (x1 - x0) / W, (y1 - y0) / H)


# --- what is painted on it -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flame:
    """A flame standing on ``base`` (bottom centre, pixels), ``size`` (width, height) when it appears at
    ``start_s``; its area grows ``growth`` times over ``grow_s`` (exponentially, as a fire spreads), then holds."""

    base: tuple[float, float]
    size: tuple[float, float]
    start_s: float
    growth: float = 3.0
    grow_s: float = 8.0
    end_s: float = math.inf

    def __call__(self, frame: np.ndarray, t: float, rng: np.random.Generator) -> Box | None:
        if not self.start_s <= t < self.end_s:
            return None
        scale = math.sqrt(self.growth ** (min(t - self.start_s, self.grow_s) / self.grow_s))
        width, height = self.size[0] * scale, self.size[1] * scale
        bx, by = self.base
        outer = flame_outline(rng, (bx, by), width, height)
        cv2.fillPoly(frame, [outer], RED)
        cv2.fillPoly(frame, [flame_outline(rng, (bx, by - 0.04 * height), 0.7 * width, 0.75 * height)], ORANGE)
        cv2.fillPoly(frame, [flame_outline(rng, (bx, by - 0.08 * height), 0.4 * width, 0.45 * height)], YELLOW)
        return _box(outer)


def parked_car(x: int, y: int) -> Painter:
    """A dark parked car whose body spans ``x..x+220`` and ends at ``y`` (its sill), wheels below it."""

    def paint(frame: np.ndarray, t: float, rng: np.random.Generator) -> None:
        cv2.rectangle(frame, (x, y - 60), (x + 220, y), (44, 40, 38), -1)
        cv2.rectangle(frame, (x + 45, y - 95), (x + 165, y - 60), (48, 44, 42), -1)
        cv2.rectangle(frame, (x + 55, y - 90), (x + 155, y - 64), (92, 86, 80), -1)
        for wheel in (x + 45, x + 175):
            cv2.circle(frame, (wheel, y + 2), 18, (20, 20, 20), -1)

    return paint


def shop_sign(x: int, y: int) -> Painter:
    """A lit orange-red shop sign with yellow letters: as flame-coloured as a flame, but it holds still."""
    letters = np.random.default_rng(7).integers(4, 11, size=14)

    def paint(frame: np.ndarray, t: float, rng: np.random.Generator) -> None:
        glow = 1.0 + rng.normal(0.0, 0.02)  # the ballast hums a little
        cv2.rectangle(frame, (x, y), (x + 180, y + 46), _scaled((30, 80, 228), glow), -1)
        cursor = x + 10
        for i, width in enumerate(letters):
            if cursor + width > x + 172:
                break
            if i % 4 != 3:  # spaces between words
                cv2.rectangle(frame, (cursor, y + 10), (cursor + int(width), y + 36), _scaled((70, 205, 250), glow), -1)
            cursor += int(width) + 4
        return None

    return paint


def _scaled(colour: tuple[int, int, int], gain: float) -> tuple[int, int, int]:
    b, g, r = (min(255, round(c * gain)) for c in colour)
    return b, g, r


def emergency_light(x: int, y: int, hz: float, with_blue: bool) -> Painter:
    """A van's roof light at ``hz``: red for the first half of each period, then off (or blue)."""

    def paint(frame: np.ndarray, t: float, rng: np.random.Generator) -> None:
        cv2.rectangle(frame, (x - 60, y + 10), (x + 100, y + 90), (200, 200, 205), -1)  # the van
        red_on = (t * hz) % 1.0 < 0.5
        _glow(frame, (x, y), 12, (50, 70, 255) if red_on else (60, 60, 70))
        if with_blue:
            _glow(frame, (x + 40, y), 12, (255, 90, 30) if not red_on else (70, 60, 60))
        return None

    return paint


def _glow(frame: np.ndarray, centre: tuple[int, int], radius: int, colour: tuple[int, int, int]) -> None:
    """A lamp: a halo that fades into the frame around a solid disc."""
    for scale, alpha in ((2.0, 0.3), (1.5, 0.6)):
        r = round(radius * scale)
        x0, y0 = centre[0] - r, centre[1] - r
        roi = frame[y0 : y0 + 2 * r + 1, x0 : x0 + 2 * r + 1]
        disc = np.zeros(roi.shape[:2], np.uint8)
        cv2.circle(disc, (r, r), r, 1, -1)
        mixed = (roi * (1 - alpha) + np.array(colour) * alpha).astype(np.uint8)
        roi[disc > 0] = mixed[disc > 0]
    cv2.circle(frame, centre, radius, colour, -1)


def shimmering_reflection(centre: tuple[int, int], radii: tuple[int, int]) -> Painter:
    """A street lamp's reflection in a puddle: its outline shimmers every frame, its mean size never changes."""

    def paint(frame: np.ndarray, t: float, rng: np.random.Generator) -> None:
        angles = np.linspace(0.0, 2 * math.pi, 16, endpoint=False)
        for colour, shrink in (((30, 120, 232), 1.0), ((60, 175, 250), 0.5)):
            jitter = rng.uniform(0.75, 1.25, len(angles)) * shrink
            xs = centre[0] + radii[0] * jitter * np.cos(angles)
            ys = centre[1] + radii[1] * jitter * np.sin(angles)
            cv2.fillPoly(frame, [np.round(np.stack([xs, ys], 1)).astype(np.int32)], colour)
        return None

    return paint


def warm_light(start_s: float, ramp_s: float, lamps: tuple[int, ...] = ()) -> Painter:
    """The whole street turning orange — the setting sun, or sodium street lights switching on (``ramp_s`` to
    full), optionally with a brighter pool of light under each lamp at ``lamps`` (x positions)."""
    footprint = np.zeros((H, W), np.float32)
    for x in lamps:
        cv2.ellipse(footprint, (x, H - 40), (90, 40), 0, 0, 360, 1.0, -1)
    pools = cv2.GaussianBlur(footprint, (0, 0), 15)[..., None] * np.array([0.0, 40.0, 60.0], np.float32)

    def paint(frame: np.ndarray, t: float, rng: np.random.Generator) -> None:
        strength = 0.0 if t < start_s else min(1.0, (t - start_s) / ramp_s) if ramp_s > 0 else 1.0
        if strength == 0.0:
            return None
        gains = 1.0 + strength * (np.array([0.6, 0.82, 1.35]) - 1.0)
        offsets = strength * np.array([0.0, 10.0, 40.0])
        frame[:] = cv2.transform(frame, np.hstack([np.diag(gains), offsets[:, None]]))
        if lamps:
            frame[:] = np.clip(frame + pools * strength, 0, 255).astype(np.uint8)
        return None

    return paint


def orange_coat(start: tuple[int, int], speed: tuple[float, float], grow: float) -> Painter:
    """A pedestrian in an orange coat walking towards the camera: flame-coloured, its outline changing as it
    walks (arms, legs), getting bigger as it comes closer — all a flame does, except staying in one place. The
    simulator's ``situations`` scene fooled the module this way before the base-drift test."""

    def paint(frame: np.ndarray, t: float, rng: np.random.Generator) -> None:
        scale = 1.0 + grow * t
        x, y = start[0] + speed[0] * t, start[1] + speed[1] * t
        w, h = 14 * scale, 34 * scale
        swing = rng.uniform(-0.25, 0.25) * w
        body = np.array([[x - w / 2, y - h], [x + w / 2, y - h], [x + w / 2 + swing, y], [x - w / 2 + swing, y]])
        cv2.fillPoly(frame, [np.round(body).astype(np.int32)], (40, 150, 245))
        cv2.circle(frame, (round(x), round(y - h - 6 * scale)), round(6 * scale), (150, 170, 200), -1)
        return None

    return paint


# --- scenes --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scene:
    """Painters over a street for ``duration_s``; ``fire_from`` is when a flame appears (None: no fire)."""

    name: str
    painters: tuple[Painter, ...]
    duration_s: float
    fire_from: float | None
    seed: int
    grey: bool = False


def frames(scene: Scene) -> Iterator[tuple[float, np.ndarray, Box | None]]:
    """``(at, frame, flame box or None)`` of the scene at 5 frames per second: painters, lens blur, sensor noise."""
    rng = np.random.default_rng(scene.seed)
    street = _street(rng)
    noise = _noise_bank()
    for i in range(round(scene.duration_s * FPS)):
        at = i / FPS
        frame = street.copy()
        flames = [box for paint in scene.painters if (box := paint(frame, at, rng)) is not None]
        frame = cv2.GaussianBlur(frame, (3, 3), 0)
        k, dy, dx = (int(v) for v in rng.integers((4, 16, 16)))
        frame = np.clip(frame + noise[k, dy : dy + H, dx : dx + W], 0, 255).astype(np.uint8)
        if scene.grey:
            frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        yield at, frame, functools.reduce(Box.union, flames) if flames else None


POSITIVES = (
    Scene("small flame on the pavement, ×3", (Flame((180, 300), (20, 30), 2.0, growth=3.0),), 14.0, 2.0, seed=1),
    Scene(
        "flame on the facade, across a cell border, ×2",
        (Flame((480, 178), (26, 40), 3.0, growth=2.0),),
        15.0,
        3.0,
        seed=2,
    ),
    Scene(
        "flame under a parked car, ×4",
        (parked_car(300, 290), Flame((460, 286), (18, 26), 2.0, growth=4.0)),
        14.0,
        2.0,
        seed=3,
    ),
)
NEGATIVES = (
    Scene("lit shop sign", (shop_sign(340, 20),), 15.0, None, seed=11),
    Scene("emergency light, red and blue, 1 Hz", (emergency_light(220, 120, 1.0, True),), 15.0, None, seed=12),
    Scene("emergency light, red, 2 Hz", (emergency_light(400, 120, 2.0, False),), 15.0, None, seed=13),
    Scene("emergency light, red, 1.5 Hz", (emergency_light(80, 120, 1.5, False),), 15.0, None, seed=14),
    Scene("reflection shimmering in a puddle", (shimmering_reflection((400, 310), (50, 12)),), 15.0, None, seed=15),
    Scene("sunset colour cast", (warm_light(0.0, 0.0),), 12.0, None, seed=16),
    Scene("street lights switching on", (warm_light(3.0, 1.5, (120, 480)),), 12.0, None, seed=17),
    Scene("grey camera, growing flame", (Flame((300, 300), (20, 30), 2.0),), 12.0, None, seed=18, grey=True),
    Scene("orange coat walking closer", (orange_coat((120, 200), (22.0, 9.0), 0.12),), 12.0, None, seed=19),
)
SCENES = {scene.name: scene for scene in POSITIVES + NEGATIVES}


@dataclass(frozen=True)
class Outcome:
    """The hits of one scene: when, what, and where the flame was drawn at that frame."""

    hits: list[tuple[float, RuleHit, Box | None]] = field(default_factory=list)


def run(scene: Scene, config: FireStartConfig = DEFAULT) -> Outcome:
    rule = FireStart(config)
    outcome = Outcome()
    for at, frame, flame in frames(scene):
        for hit in rule.update(RuleInput(at, (W, H), Detections(), frame)):
            outcome.hits.append((at, hit, flame))
    return outcome


@functools.cache
def outcome(name: str) -> Outcome:
    """Each scene is run once for all the tests that look at it (deterministic, so caching changes nothing)."""
    return run(SCENES[name])


def overlap(a: Box, b: Box) -> float:
    """Area of the intersection of two boxes."""
    w = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    h = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    return max(0.0, w) * max(0.0, h)


def is_good_hit(scene: Scene, at: float, hit: RuleHit, flame: Box | None) -> bool:
    """A hit on time, of the right kind, whose region is mostly the flame drawn in that frame."""
    assert scene.fire_from is not None
    return (
        hit.kind == "fire_start"
        and scene.fire_from <= at <= scene.fire_from + MAX_DELAY_S
        and flame is not None
        and overlap(hit.region, flame) >= 0.5 * hit.region.area
    )


# --- the tests -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [scene.name for scene in POSITIVES])
def test_a_growing_flame_is_reported_once_soon_and_where_it_is(name: str) -> None:
    scene = SCENES[name]
    hits = outcome(name).hits
    assert len(hits) == 1, f"{name}: one fire, one alert; got {[(at, hit.region) for at, hit, _ in hits]}"
    at, hit, flame = hits[0]
    assert is_good_hit(scene, at, hit, flame), f"{name}: hit at {at} s on {hit.region}, flame {flame}"
    assert 0.0 < hit.score <= 1.0


@pytest.mark.parametrize("name", [scene.name for scene in NEGATIVES])
def test_a_hard_negative_is_not_a_fire(name: str) -> None:
    assert outcome(name).hits == [], name


def test_precision_and_recall_over_every_scene() -> None:
    """Recall 1.0 and not one false alert. These scenes are built to be unambiguous — each flame is big enough
    at the analysed size, flickers and grows at least ×2 in 8 s; each hard negative fails what a fire must do by
    a wide margin — so any tolerance here would only hide a regression, and every false alert is an operator
    sent to a shop sign (what the 2025 evaluation of the Paris experiment reported)."""
    good = [sum(is_good_hit(scene, *hit) for hit in outcome(scene.name).hits) for scene in POSITIVES]
    alerts = sum(len(outcome(scene.name).hits) for scene in POSITIVES + NEGATIVES)
    recall = sum(count == 1 for count in good) / len(POSITIVES)
    precision = sum(good) / max(1, alerts)
    assert (recall, precision) == (1.0, 1.0)


def test_a_frame_is_required() -> None:
    with pytest.raises(ValueError, match="frame is required"):
        FireStart(DEFAULT).update(RuleInput(0.0, (W, H), Detections()))


def test_it_rearms_after_a_quiet_spell_at_the_place_and_not_before() -> None:
    """A fire put out at 9 s, a new one at the same spot at 13 s: with ``rearm_s`` = 2 s the place has been
    quiet long enough and the second fire is reported; with the default (60 s) it is the same incident."""
    scene = Scene(
        "two fires at one place",
        (
            Flame((240, 300), (22, 32), 1.0, growth=3.0, end_s=9.0),
            Flame((240, 300), (22, 32), 13.0, growth=3.0),
        ),
        22.0,
        1.0,
        seed=21,
    )
    rearming = run(scene, FireStartConfig(rearm_s=2.0)).hits
    assert len(rearming) == 2
    assert 1.0 <= rearming[0][0] <= 1.0 + MAX_DELAY_S
    assert 13.0 <= rearming[1][0] <= 13.0 + MAX_DELAY_S
    assert all(flame is not None and overlap(hit.region, flame) > 0 for _, hit, flame in rearming)
    assert len(run(scene, DEFAULT).hits) == 1


def test_reset_forgets_everything() -> None:
    """After ``reset()`` (the gate closed, the stream was cut) nothing is remembered: a fire still burning is
    reported again, and only after the module has watched it anew."""
    scene = Scene("a long fire", (Flame((300, 300), (22, 32), 1.0, growth=8.0, grow_s=16.0),), 16.0, 1.0, seed=22)
    rule = FireStart(DEFAULT)
    hits: list[float] = []
    reset_at: float | None = None
    for at, frame, _ in frames(scene):
        if rule.update(RuleInput(at, (W, H), Detections(), frame)):
            hits.append(at)
            if reset_at is None:
                rule.reset()
                reset_at = at
                assert rule._places == {}
    assert reset_at is not None and len(hits) == 2
    assert hits[1] - reset_at >= 0.75 * DEFAULT.window_s  # watched again from nothing
    assert hits[1] - reset_at <= MAX_DELAY_S


def test_memory_stays_bounded_with_hundreds_of_short_lived_blobs() -> None:
    """Flame-coloured blobs at random places, each living 0.2–1 s (headlights, a jacket, a flag): never more than
    the 16 places of the grid, each with at most two windows of numbers, none alerting, and all forgotten once
    the street is quiet for a window."""
    rng = np.random.default_rng(23)
    street = _street(rng)
    rule = FireStart(DEFAULT)
    alive: list[tuple[int, int, int, int]] = []  # x, y, size, frames left
    spawned, busiest = 0, 0
    most_samples = round(2 * DEFAULT.window_s * FPS) + 1
    for i in range(400):
        at = i / FPS
        frame = street.copy()
        if at < 70.0:
            for _ in range(int(rng.integers(1, 4))):
                x, y, size = int(rng.integers(20, W - 20)), int(rng.integers(40, H - 5)), int(rng.integers(16, 40))
                alive.append((x, y, size, int(rng.integers(1, 6))))
                spawned += 1
        for x, y, size, _ in alive:
            cv2.fillPoly(frame, [flame_outline(rng, (x, y), size * 0.7, size)], ORANGE)
        alive = [(x, y, size, left - 1) for x, y, size, left in alive if left > 1]
        assert rule.update(RuleInput(at, (W, H), Detections(), frame)) == []
        busiest = max(busiest, len(rule._places))
        assert len(rule._places) <= 16
        assert all(len(place.samples) <= most_samples for place in rule._places.values())
    assert spawned > 300 and busiest >= 12  # the bound was really put to the test
    assert rule._places == {}  # 10 quiet seconds at the end: nothing is kept


def test_on_the_demo_street_the_bin_fire_is_reported_and_the_red_cars_are_not() -> None:
    """The built-in ``street`` scene (what the demo's first camera shows): a stream of cars, two of them red,
    drive through the far lane at one car's spacing, and a litter bin catches fire at 20 s. Found by running the
    module on it: the two red cars, merged into one place, looked like a blob that doubles and flickers; the
    persistence test ends that. One alert, on the bin, within seconds."""
    from vigie.sim import builtin_scene_path, load_scene
    from vigie.sim.render import SceneRenderer

    scene = load_scene(builtin_scene_path("street"))
    renderer = SceneRenderer(scene)
    [fire] = [e for e in renderer.cast.events if e.kind == "fire_start"]
    assert fire.start_s is not None and fire.region is not None
    rule = FireStart(DEFAULT)
    step = max(1, round(renderer.frame_count / scene.duration_s / 5))  # 5 analysed frames a second
    hits = []
    for index in range(0, renderer.frame_count, step):
        frame = renderer.frame(index)
        height, width = frame.image.shape[:2]
        found = rule.update(RuleInput(frame.time_s, (width, height), Detections(), frame.image))
        hits += [(frame.time_s, hit) for hit in found]
    assert len(hits) == 1, hits
    at, hit = hits[0]
    assert fire.start_s <= at <= fire.start_s + MAX_DELAY_S
    region = Box(fire.region.x, fire.region.y, fire.region.w, fire.region.h)
    assert overlap(hit.region, region) >= 0.5 * hit.region.area
