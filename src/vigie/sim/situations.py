"""Expansion of scripted situations into actors and ground-truth event specifications.

Each situation becomes ordinary actors (so the renderer has one kind of thing to draw) plus, except for
background traffic, one ``EventSpec`` saying how to read the event's frames and region from the rendered boxes.
Randomness (flow spacing, crowd angles) comes from a generator seeded by (scene seed, situation index), so
editing one situation never changes another.
"""

from __future__ import annotations

import math

import numpy as np

from vigie.sim.cast import Cast, CastBuilder, EventSpec, Flicker
from vigie.sim.fire import Fire
from vigie.sim.scene import (
    ActorKind,
    BagLeft,
    Crowd,
    EnterZone,
    FireStart,
    LightFlicker,
    NormBox,
    PersonFalls,
    Scene,
    Traffic,
    VehicleStops,
    WrongWay,
)

_JUMP_S = 1e-3
"""Time used to make an instantaneous jump in a piecewise-linear path (a bag put down)."""


def build_cast(scene: Scene) -> Cast:
    """Resolve a scene into its cast: explicit actors get ids 1..n, situations follow in file order."""
    builder = CastBuilder(scene)
    for actor in scene.actors:
        builder.add(
            actor.kind,
            [(w.t, w.x, w.y) for w in actor.path],
            size=actor.size,
            colour=actor.color,
            appear_s=actor.appear_s,
            disappear_s=actor.disappear_s,
            fall_s=actor.fall_s,
            view=actor.view,
            plate=actor.plate,
        )
    for index, situation in enumerate(scene.situations):
        rng = np.random.default_rng([scene.seed, 3, index])
        match situation:
            case EnterZone():
                _enter_zone(builder, situation, index)
            case BagLeft():
                _bag_left(builder, situation, index)
            case PersonFalls():
                _person_falls(builder, situation, index)
            case VehicleStops():
                _vehicle_stops(builder, situation, index)
            case WrongWay():
                _wrong_way(builder, situation, index, rng)
            case Crowd():
                _crowd(builder, situation, index, rng)
            case LightFlicker():
                _light_flicker(builder, situation, index)
            case FireStart():
                _fire_start(builder, situation, index)
            case Traffic():
                _traffic(builder, situation, rng)
    return builder.build()


def _enter_zone(builder: CastBuilder, s: EnterZone, index: int) -> None:
    t0, t1 = s.start_s, s.start_s + s.walk_s
    t2, t3 = t1 + s.dwell_s, t1 + s.dwell_s + s.walk_s
    path = [(t0, *s.start), (t1, *s.target)]
    if s.dwell_s > 0:
        path.append((t2, *s.target))
    path.append((t3, *s.start))
    person = builder.add(ActorKind.PERSON, path, disappear_s=t3)
    builder.events.append(EventSpec("enter_zone", (person.id,), (person.id,), zone=tuple(s.zone), situation=index))


def _bag_left(builder: CastBuilder, s: BagLeft, index: int) -> None:
    t_arrive = s.start_s + s.walk_s
    t_drop = t_arrive + s.pause_s
    t_gone = t_drop + s.leave_s
    person = builder.add(
        ActorKind.PERSON,
        _dedupe([(s.start_s, *s.start), (t_arrive, *s.drop), (t_drop, *s.drop), (t_gone, *s.exit)]),
        disappear_s=t_gone,
    )
    pw, ph = builder.size_norm(ActorKind.PERSON, at_y=s.drop[1])
    dx, hand = 0.75 * pw, -0.3 * ph
    carried = [
        (s.start_s, s.start[0] + dx, s.start[1] + hand),
        (t_arrive, s.drop[0] + dx, s.drop[1] + hand),
        (t_drop, s.drop[0] + dx, s.drop[1] + hand),
        (t_drop + _JUMP_S, s.drop[0] + dx, s.drop[1]),
    ]
    bag = builder.add(ActorKind.BAG, _dedupe(carried))
    builder.events.append(EventSpec("bag_left", (bag.id, person.id), (bag.id,), start_s=t_drop, situation=index))


def _person_falls(builder: CastBuilder, s: PersonFalls, index: int) -> None:
    t_fall = s.start_s + s.walk_s
    person = builder.add(ActorKind.PERSON, [(s.start_s, *s.start), (t_fall, *s.fall_at)], fall_s=t_fall)
    builder.events.append(EventSpec("person_falls", (person.id,), (person.id,), start_s=t_fall, situation=index))


def _vehicle_stops(builder: CastBuilder, s: VehicleStops, index: int) -> None:
    t_stop = s.start_s + s.drive_s
    vehicle = builder.add(ActorKind.VEHICLE, [(s.start_s, *s.start), (t_stop, *s.stop)])
    builder.events.append(EventSpec("vehicle_stops", (vehicle.id,), (vehicle.id,), start_s=t_stop, situation=index))


def _lateral(start: tuple[float, float], end: tuple[float, float]) -> tuple[float, float]:
    """Unit vector perpendicular to the lane start → end (in normalised coordinates)."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    norm = math.hypot(dx, dy) or 1.0
    return -dy / norm, dx / norm


def _wrong_way(builder: CastBuilder, s: WrongWay, index: int, rng: np.random.Generator) -> None:
    px, py = _lateral(s.start, s.end)
    interval = s.duration_s / s.count
    for i in range(s.count):
        t0 = s.start_s + i * interval + float(rng.uniform(0.0, 0.3)) * interval
        off = float(rng.uniform(-s.spread, s.spread))
        cross = s.crossing_s * float(rng.uniform(0.9, 1.1))
        path = [
            (t0, s.start[0] + off * px, s.start[1] + off * py),
            (t0 + cross, s.end[0] + off * px, s.end[1] + off * py),
        ]
        builder.add(ActorKind.PERSON, path, disappear_s=t0 + cross)
    t0 = s.start_s + s.wrong_after_s
    walker = builder.add(ActorKind.PERSON, [(t0, *s.end), (t0 + s.crossing_s, *s.start)], disappear_s=t0 + s.crossing_s)
    builder.events.append(EventSpec("wrong_way", (walker.id,), (walker.id,), situation=index))


def _crowd(builder: CastBuilder, s: Crowd, index: int, rng: np.random.Generator) -> None:
    t_gathered = s.start_s + s.gather_s
    t_scatter = t_gathered + s.stay_s
    t_gone = t_scatter + s.scatter_s
    cx, cy = s.center
    ids: list[int] = []
    for i in range(s.count):
        angle = 2 * math.pi * (i + float(rng.uniform(-0.3, 0.3))) / s.count
        out_angle = angle + float(rng.uniform(-0.8, 0.8))
        near = float(rng.uniform(0.3, 1.0)) * s.gathered_radius
        path = [
            (s.start_s, cx + s.radius * math.cos(angle), cy + 0.5 * s.radius * math.sin(angle)),
            (t_gathered, cx + near * math.cos(angle), cy + 0.5 * near * math.sin(angle)),
            (t_scatter, cx + near * math.cos(angle), cy + 0.5 * near * math.sin(angle)),
            (t_gone, cx + s.radius * math.cos(out_angle), cy + 0.5 * s.radius * math.sin(out_angle)),
        ]
        ids.append(builder.add(ActorKind.PERSON, path, disappear_s=t_gone).id)
    builder.events.append(
        EventSpec("crowd", tuple(ids), tuple(ids), start_s=t_gathered, end_s=t_scatter, situation=index)
    )


def _light_flicker(builder: CastBuilder, s: LightFlicker, index: int) -> None:
    end_s = s.start_s + s.duration_s
    builder.flickers.append(Flicker(s.region, s.start_s, end_s, s.amplitude, s.frequency_hz))
    builder.events.append(
        EventSpec("light_flicker", (), (), start_s=s.start_s, end_s=end_s, region=s.region, situation=index)
    )


def _fire_start(builder: CastBuilder, s: FireStart, index: int) -> None:
    end_s = s.start_s + s.duration_s
    fire = Fire((s.base[0], s.base[1]), (s.size[0], s.size[1]), s.start_s, end_s, s.growth, s.grow_s)
    builder.fires.append(fire)
    x, y, w, h = fire.extent()
    region = NormBox(x=x, y=y, w=min(w, 1.0 - x), h=min(h, 1.0 - y))
    builder.events.append(
        EventSpec("fire_start", (), (), start_s=s.start_s, end_s=end_s, region=region, situation=index)
    )


def _traffic(builder: CastBuilder, s: Traffic, rng: np.random.Generator) -> None:
    px, py = _lateral(s.start, s.end)
    end_s = min(s.end_s if s.end_s is not None else builder.scene.duration_s, builder.scene.duration_s)
    t0 = s.start_s
    while t0 < end_s:
        off = float(rng.uniform(-s.spread, s.spread))
        cross = s.crossing_s * float(rng.uniform(0.85, 1.15))
        path = [
            (t0, s.start[0] + off * px, s.start[1] + off * py),
            (t0 + cross, s.end[0] + off * px, s.end[1] + off * py),
        ]
        builder.add(s.actor, path, disappear_s=t0 + cross, size=s.size, view=s.view)
        t0 += s.every_s * float(rng.uniform(0.6, 1.4))


def _dedupe(path: list[tuple[float, float, float]]) -> list[tuple[float, float, float]]:
    """Drop waypoints whose time equals the previous one (zero-length pauses), keeping times increasing."""
    kept = [path[0]]
    for point in path[1:]:
        if point[0] > kept[-1][0]:
            kept.append(point)
    return kept
