"""``crowd_movement`` on rendered simulator scenes: sudden scatters and rushes must be reported, shortly after they
start; what a street ordinarily shows (flows, crossings, traffic, a flickering light, people gathering at walking
pace) must not.

Every scene is a separate ``vigie.sim`` scene on the street background (640×360, rendered at 10 fps, every second
frame analysed: 5 fps, as in production), with fixed seeds, so each run sees byte-identical pixels. Positions are
foot points in normalised coordinates; in the simulator's street a person is 16 % of the frame height, so the
picture is about 20 m across: walking is 0.05–0.08 image widths per second (1–1.6 m/s), running 0.16–0.2.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from vigie.analytics.rules.base import RuleHit, RuleInput
from vigie.analytics.rules.crowd_movement import CrowdMovement, CrowdMovementConfig
from vigie.domain.detections import Detections
from vigie.sim.render import SceneRenderer
from vigie.sim.scene import Scene

SIZE = (640, 360)
RENDER_FPS = 10
STEP = 2
"""Analyse every second rendered frame: 5 fps."""

MAX_DELAY_S = 2.0
"""Longest acceptable time from the start of a scatter or rush to its hit. The flow of the people who just started
builds up in the accumulated maps over about ``smoothing_s`` (0.8 s) before it clears the thresholds, must then hold
for ``min_duration_s`` (0.8 s), and frames come every 0.2 s: 1.8 s at worst, plus one frame of slack. The delays
measured on these scenes are 1.0–1.4 s."""


def _person(path: list[tuple[float, float, float]]) -> dict[str, Any]:
    return {"kind": "person", "path": [{"t": t, "x": x, "y": y} for t, x, y in path]}


def _scene(
    name: str,
    seed: int,
    duration_s: float,
    actors: Sequence[dict[str, Any]] = (),
    situations: Sequence[dict[str, Any]] = (),
) -> Scene:
    return Scene.model_validate(
        {
            "name": name,
            "seed": seed,
            "width": SIZE[0],
            "height": SIZE[1],
            "fps": RENDER_FPS,
            "duration_s": duration_s,
            "background": {"texture": "street"},
            "actors": list(actors),
            "situations": list(situations),
        }
    )


def _lane(actor: str, start: tuple[float, float], end: tuple[float, float], **kw: float) -> dict[str, Any]:
    return {"kind": "traffic", "actor": actor, "start": list(start), "end": list(end), **kw}


def _pavement_walkers(start_s: float = 0.0, every_s: float = 7.0) -> list[dict[str, Any]]:
    """A few people walking along both pavements, one way on each: the ordinary life of the street."""
    return [
        _lane("person", (-0.03, 0.46), (1.03, 0.46), start_s=start_s, every_s=every_s, crossing_s=20, spread=0.015),
        _lane("person", (1.03, 0.95), (-0.03, 0.95), start_s=start_s + 2, every_s=every_s, crossing_s=18, spread=0.02),
    ]


def _busy_street() -> list[dict[str, Any]]:
    """Cars in both lanes and pedestrians both ways on both pavements, from the first second (as ``street.yaml``)."""
    return [
        _lane("vehicle", (-0.12, 0.785), (1.12, 0.785), start_s=0, every_s=5, crossing_s=6, spread=0.004),
        _lane("vehicle", (1.12, 0.635), (-0.12, 0.635), start_s=1.5, every_s=6, crossing_s=7, spread=0.004),
        _lane("person", (-0.03, 0.47), (1.03, 0.47), start_s=0.5, every_s=5, crossing_s=20, spread=0.015),
        _lane("person", (1.03, 0.48), (-0.03, 0.48), start_s=3, every_s=7, crossing_s=22, spread=0.015),
        _lane("person", (1.03, 0.95), (-0.03, 0.95), start_s=2, every_s=6, crossing_s=16, spread=0.02),
    ]


def _crowd(center: tuple[float, float], count: int, start_s: float, **kw: float) -> dict[str, Any]:
    """The simulator's crowd: people walk in from ``radius`` to ``center`` (``gather_s``), stand (``stay_s``),
    then leave radially in ``scatter_s`` (radius 0.4 in 2.5 s: 0.16 image widths per second, running)."""
    return {"kind": "crowd", "center": list(center), "count": count, "start_s": start_s, **kw}


def _rush(center: tuple[float, float], count: int, seed: int, at_s: float, end_s: float) -> list[dict[str, Any]]:
    """People standing all around ``center`` (0.22–0.4 image widths away, on the ground ellipse the simulator's
    crowd uses) who all run to it at ``at_s``, at 0.16–0.2 image widths per second."""
    rng = np.random.default_rng(seed)
    cx, cy = center
    people = []
    for i in range(count):
        angle = 2 * math.pi * (i + rng.uniform(-0.3, 0.3)) / count
        far, near = rng.uniform(0.22, 0.4), rng.uniform(0.01, 0.04)
        x0, y0 = cx + far * math.cos(angle), cy + 0.5 * far * math.sin(angle)
        x1, y1 = cx + near * math.cos(angle), cy + 0.5 * near * math.sin(angle)
        run_s = (far - near) / rng.uniform(0.16, 0.2)
        people.append(_person([(0, x0, y0), (at_s, x0, y0), (at_s + run_s, x1, y1), (end_s, x1, y1)]))
    return people


def _one_way_flow(count: int, seed: int, start_s: float) -> list[dict[str, Any]]:
    """``count`` people one second apart, all walking left to right along the lower pavement and the kerb (a band
    0.1 high), briskly (12 s across: 0.09 image widths per second)."""
    rng = np.random.default_rng(seed)
    people = []
    for i in range(count):
        t0, y = start_s + i + rng.uniform(0, 0.3), 0.9 + rng.uniform(-0.05, 0.05)
        people.append(_person([(t0, -0.03, y), (t0 + 12 * rng.uniform(0.9, 1.1), 1.03, y)]))
    return people


def _queue(center: tuple[float, float], count: int, seed: int, start_s: float, over_s: float) -> list[dict[str, Any]]:
    """People arriving one after another from all sides, at walking pace (0.05 image widths per second), over
    ``over_s`` seconds, to stand near ``center``: a queue or a gathering forming."""
    rng = np.random.default_rng(seed)
    cx, cy = center
    people = []
    for i in range(count):
        angle = 2 * math.pi * (i + rng.uniform(-0.3, 0.3)) / count
        x0, y0 = cx + 0.55 * math.cos(angle), cy + 0.5 * 0.55 * math.sin(angle)
        near = rng.uniform(0.02, 0.06)
        x1, y1 = cx + near * math.cos(angle), cy + 0.5 * near * math.sin(angle)
        t0 = start_s + over_s * i / count + rng.uniform(0, 1)
        walk_s = math.hypot(x1 - x0, 2 * (y1 - y0)) / 0.05
        people.append(_person([(t0, x0, y0), (t0 + walk_s, x1, y1), (t0 + walk_s + 60, x1, y1)]))
    return people


@dataclass(frozen=True)
class Case:
    scene: Scene
    onset_s: float | None
    """When the sudden movement starts; None for a hard negative (no hit allowed)."""
    place: tuple[float, float] | None = None
    """Where it happens (the crowd's centre, foot point): the hit's region must contain it."""


CASES: dict[str, Case] = {
    # (a) ten people gather at walking pace (4–12 s, across the end of the warm-up), stand, and scatter at 16 s.
    "scatter": Case(
        _scene(
            "scatter",
            11,
            24,
            situations=[
                _crowd((0.5, 0.68), 10, 4, radius=0.4, gather_s=8, stay_s=4, scatter_s=2.5),
                *_pavement_walkers(),
            ],
        ),
        onset_s=16.0,
        place=(0.5, 0.68),
    ),
    # (b) ten people standing around a point on the road all run to it at 15 s.
    "rush": Case(
        _scene("rush", 12, 22, actors=_rush((0.45, 0.7), 10, 12, at_s=15, end_s=22), situations=_pavement_walkers()),
        onset_s=15.0,
        place=(0.45, 0.7),
    ),
    # (c) the scatter of (a) with six people, near the upper pavement on the right.
    "small-scatter": Case(
        _scene(
            "small-scatter",
            13,
            22,
            situations=[
                _crowd((0.72, 0.55), 6, 3, radius=0.4, gather_s=7, stay_s=5, scatter_s=2.5),
                *_pavement_walkers(start_s=1),
            ],
        ),
        onset_s=15.0,
        place=(0.72, 0.55),
    ),
    # (d) ten people one second apart walking the same way, after a quiet warm-up.
    "one-way-flow": Case(_scene("one-way-flow", 14, 30, actors=_one_way_flow(10, 14, start_s=10)), None),
    # (e) two people walking towards each other (1.4 m/s) who meet and pass at about 15.5 s.
    "crossing": Case(
        _scene(
            "crossing",
            15,
            26,
            actors=[_person([(10, 0.1, 0.9), (21, 0.9, 0.86)]), _person([(10, 0.9, 0.88), (21, 0.1, 0.92)])],
        ),
        None,
    ),
    # (f) a busy pavement both ways, on both sides of the road, all along.
    "two-flows": Case(
        _scene(
            "two-flows",
            16,
            30,
            situations=[
                _lane("person", (-0.03, 0.46), (1.03, 0.46), start_s=0, every_s=2, crossing_s=18, spread=0.02),
                _lane("person", (1.03, 0.48), (-0.03, 0.48), start_s=0.5, every_s=2, crossing_s=18, spread=0.02),
                _lane("person", (-0.03, 0.9), (1.03, 0.9), start_s=1, every_s=2.5, crossing_s=16, spread=0.04),
                _lane("person", (1.03, 0.94), (-0.03, 0.94), start_s=1.5, every_s=2.5, crossing_s=16, spread=0.04),
            ],
        ),
        None,
    ),
    # (g) two facade lights flickering (3 Hz, 1.3 Hz), nobody in the street.
    "flicker": Case(
        _scene(
            "flicker",
            17,
            25,
            situations=[
                {
                    "kind": "light_flicker",
                    "region": {"x": 0.05, "y": 0.05, "w": 0.15, "h": 0.2},
                    "start_s": 5,
                    "duration_s": 20,
                    "amplitude": 60,
                    "frequency_hz": 3,
                },
                {
                    "kind": "light_flicker",
                    "region": {"x": 0.6, "y": 0.1, "w": 0.1, "h": 0.15},
                    "start_s": 12,
                    "duration_s": 10,
                    "amplitude": 80,
                    "frequency_hz": 1.3,
                },
            ],
        ),
        None,
    ),
    # (h) cars both ways, about one every three seconds in each lane.
    "traffic": Case(
        _scene(
            "traffic",
            18,
            30,
            situations=[
                _lane("vehicle", (-0.12, 0.785), (1.12, 0.785), start_s=0, every_s=3, crossing_s=5, spread=0.004),
                _lane("vehicle", (1.12, 0.635), (-0.12, 0.635), start_s=1, every_s=3.5, crossing_s=6, spread=0.004),
            ],
        ),
        None,
    ),
    # (i) ten people converging at walking pace from all around (0.9 image widths in 18 s), all at once.
    "slow-gathering": Case(
        _scene(
            "slow-gathering",
            19,
            32,
            situations=[
                _crowd((0.5, 0.7), 10, 8, radius=0.9, gather_s=18, stay_s=20, scatter_s=5),
                *_pavement_walkers(every_s=6),
            ],
        ),
        None,
    ),
    # (i) the same as a queue forms: ten people arriving one after another over 12 s, at walking pace.
    "queue-forming": Case(
        _scene(
            "queue-forming",
            20,
            36,
            actors=_queue((0.5, 0.72), 10, 20, start_s=10, over_s=12),
            situations=_pavement_walkers(every_s=6),
        ),
        None,
    ),
}

WARM_UP = Case(
    _scene(
        "busy-then-scatter",
        21,
        32,
        situations=[
            *_busy_street(),
            _crowd((0.45, 0.7), 10, 14, radius=0.4, gather_s=8, stay_s=4, scatter_s=2.5),
        ],
    ),
    onset_s=26.0,
    place=(0.45, 0.7),
)
"""A busy street (cars both ways, pedestrians on both pavements) from the first frame: the warm-up learns it; ten
people then gather at walking pace on the road (14–22 s) and scatter at 26 s."""


@dataclass(frozen=True)
class Run:
    hits: list[tuple[float, RuleHit]]
    usual: list[tuple[float, float]]
    """(time, usual level) after each frame."""


def _frames(scene: Scene, shift_s: float = 0.0) -> list[RuleInput]:
    renderer = SceneRenderer(scene)
    return [
        RuleInput(index / RENDER_FPS + shift_s, SIZE, Detections(), renderer.frame(index).image)
        for index in range(0, renderer.frame_count, STEP)
    ]


def _feed(rule: CrowdMovement, frames: list[RuleInput]) -> Run:
    hits, usual = [], []
    for data in frames:
        hits.extend((data.at, hit) for hit in rule.update(data))
        usual.append((data.at, rule.usual_level))
    return Run(hits, usual)


@functools.cache
def _run(name: str) -> Run:
    """A fresh module with the default configuration on a whole scene (cached: the summary reuses the runs)."""
    case = WARM_UP if name == "busy-then-scatter" else CASES[name]
    return _feed(CrowdMovement(CrowdMovementConfig()), _frames(case.scene))


def _inside(place: tuple[float, float], hit: RuleHit) -> bool:
    x, y = place
    box = hit.region
    return box.x <= x <= box.x + box.w and box.y <= y <= box.y + box.h


POSITIVES = [name for name, case in CASES.items() if case.onset_s is not None]
NEGATIVES = [name for name, case in CASES.items() if case.onset_s is None]


@pytest.mark.parametrize("name", POSITIVES)
def test_a_sudden_scatter_or_rush_is_reported_once_shortly_after_it_starts(name: str) -> None:
    case = CASES[name]
    assert case.onset_s is not None and case.place is not None
    hits = _run(name).hits
    assert len(hits) == 1, hits  # edge-triggered: one alert for the incident
    at, hit = hits[0]
    assert case.onset_s < at <= case.onset_s + MAX_DELAY_S, (at, case.onset_s)
    assert hit.kind == "crowd_movement" and 0.0 < hit.score <= 1.0
    assert _inside(case.place, hit), hit.region


@pytest.mark.parametrize("name", NEGATIVES)
def test_what_a_street_ordinarily_shows_is_not_reported(name: str) -> None:
    assert _run(name).hits == []


def test_a_slow_gathering_is_not_a_sudden_movement() -> None:
    """Walking to a meeting point, all at once or one after another, is not reported: the décret's event is a
    *sudden* movement, and people who walk in from the edges of the picture have been moving all along (they are
    not new movers), while those who start from a standstill walk at a third of running pace, which over one place
    stays under the floor. A module that reported gatherings would alert at every bus stop."""
    assert _run("slow-gathering").hits == []
    assert _run("queue-forming").hits == []


def test_the_usual_level_of_a_busy_street_is_learnt_and_a_scatter_still_stands_out() -> None:
    case = WARM_UP
    assert case.onset_s is not None and case.place is not None
    run = _run("busy-then-scatter")
    learnt = dict(run.usual)
    assert learnt[10.0] > 0.0  # the warm-up took the street's own radial movements as usual
    assert len(run.hits) == 1, run.hits  # nothing while the street is busy and the crowd gathers at walking pace
    at, hit = run.hits[0]
    assert case.onset_s < at <= case.onset_s + MAX_DELAY_S, at
    assert _inside(case.place, hit), hit.region


def test_reset_forgets_the_usual_level() -> None:
    """After ``reset`` (the gate closed, the stream was cut), the module is a new one: it warms up again and learns
    the camera from scratch, so the same pictures give exactly what a fresh module gives."""
    busy = _frames(WARM_UP.scene)[: 20 * 5]  # the busy street, before any crowd movement
    rule = CrowdMovement(CrowdMovementConfig())
    assert _feed(rule, busy).hits == []
    assert rule.usual_level > 0.0
    rule.reset()
    assert rule.usual_level == 0.0 and rule.last_signal == 0.0
    shift = busy[-1].at + 1.0  # time goes on
    after_reset = _feed(rule, _frames(CASES["scatter"].scene, shift_s=shift))
    fresh = _run("scatter")
    assert [round(at - shift, 3) for at, _ in after_reset.hits] == [round(at, 3) for at, _ in fresh.hits]
    assert [hit for _, hit in after_reset.hits] == [hit for _, hit in fresh.hits]
    # Same usual level all along (to rounding: the shifted clock gives intervals that differ in the last bits).
    assert [level for _, level in after_reset.usual] == pytest.approx([level for _, level in fresh.usual], rel=1e-6)


def test_frames_are_required() -> None:
    with pytest.raises(ValueError, match="frame is required"):
        CrowdMovement(CrowdMovementConfig()).update(RuleInput(0.0, SIZE, Detections()))


def test_summary_recall_one_and_no_false_alert() -> None:
    """Over every scene: each sudden movement found in time, and not a single hit on the hard negatives.

    Recall 1.0 and zero false alerts rather than rates with a tolerance: the scenes are deterministic and
    unambiguous (a scatter or rush of six to ten people running, against streets where nobody starts running), so
    one miss or one false alert is a defect of the module, not bad luck; and an operator receives every false alert
    of every camera, so the negatives are the scenes a street shows all day long."""
    found, false_alerts = [], []
    positives = [*POSITIVES, "busy-then-scatter"]
    for name in [*positives, *NEGATIVES]:
        case = WARM_UP if name == "busy-then-scatter" else CASES[name]
        hits = _run(name).hits
        if case.onset_s is None:
            false_alerts.extend((name, at) for at, _ in hits)
        elif any(case.onset_s < at <= case.onset_s + MAX_DELAY_S for at, _ in hits):
            found.append(name)
    assert len(found) / len(positives) == 1.0, sorted(set(positives) - set(found))
    assert false_alerts == []
