"""person_on_ground and wrong_way on scripted scenes: the transition or the travel that defines the event, and the
look-alikes that must stay silent (people already lying, sitting, on a bench; flows, crossings, turning round)."""

from __future__ import annotations

from tests.analytics.rules.scripted import Walker, run_scene
from vigie.analytics.rules.person_on_ground import PersonOnGround, PersonOnGroundConfig
from vigie.analytics.rules.wrong_way import WrongWay, WrongWayConfig
from vigie.domain.detections import ObjectClass

P, CAR = ObjectClass.PERSON, ObjectClass.CAR
UP, DOWN = (0.03, 0.15), (0.12, 0.04)
"""An upright person (≈ 19×54 px) and the same person lying (≈ 77×14 px) on 640×360."""


def fall(at: float, x: float = 0.5, get_up: float | None = None) -> Walker:
    keys = [(0.0, 0.1, 0.9), (at, x, 0.9), (60.0, x, 0.9)]
    sizes = [(0.0, *UP), (at, *UP), (at + 0.4, *DOWN)]
    if get_up is not None:
        sizes += [(get_up, *DOWN), (get_up + 0.4, *UP)]
    return Walker(P, keys, sizes=sizes)


def on_ground(**kw: object) -> PersonOnGround:
    return PersonOnGround(PersonOnGroundConfig.model_validate({"min_duration_s": 5.0, **kw}))


def test_a_person_who_falls_and_stays_down_is_reported_once() -> None:
    run = run_scene(on_ground(), [fall(8.0)], 30)
    assert len(run.hits) == 1
    assert 13.2 <= run.times[0] <= 14.5  # down at ≈ 8.4 s, then 5 s
    region = run.hits[0][1].region
    assert region.w > region.h  # the region is the lying person


def test_someone_who_gets_up_before_the_delay_is_not_reported() -> None:
    assert run_scene(on_ground(), [fall(8.0, get_up=11.0)], 30).hits == []


def test_people_already_lying_sitting_or_lying_on_a_bench_are_not_falls() -> None:
    sleeper = Walker(P, [(0, 0.3, 0.9), (60, 0.3, 0.9)], size=DOWN)  # lying when first seen
    sitting = Walker(P, [(0, 0.1, 0.8), (5, 0.6, 0.8), (60, 0.6, 0.8)], sizes=[(0, *UP), (5, *UP), (6, 0.04, 0.09)])
    bench = ((0.75, 0.8), (0.95, 0.8), (0.95, 0.95), (0.75, 0.95))
    on_bench = fall(6.0, x=0.85)  # walks to the bench and lies down on it
    rule = on_ground(exclusion_zones=[bench])
    assert run_scene(rule, [sleeper, sitting, on_bench], 40).hits == []
    assert len(run_scene(on_ground(), [on_bench], 40).hits) == 1  # the same scene without the bench zone


def test_flow_with_one_person_against_it_reports_that_person_only() -> None:
    flow = [Walker(P, [(t0, -0.02, 0.5), (t0 + 12, 1.02, 0.5 + 0.01 * (t0 % 3))]) for t0 in range(0, 20, 2)]
    against = Walker(P, [(6, 1.02, 0.52), (18, -0.02, 0.52)])
    rule = WrongWay(WrongWayConfig.model_validate({"flow": [(0, 0.5), (1, 0.5)]}))
    run = run_scene(rule, [*flow, against], 32)
    assert len(run.hits) == 1
    assert 6 <= run.times[0] <= 10
    assert run.hits[0][1].region.x > 0.5  # found while still in the right half, coming against the flow


def test_crossing_the_flow_turning_round_and_jitter_are_not_wrong_way() -> None:
    crossing = Walker(P, [(0, 0.5, 0.3), (8, 0.45, 0.95)])  # across the pavement, slightly against
    turning = Walker(P, [(0, 0.3, 0.5), (4, 0.5, 0.5), (5, 0.47, 0.5), (9, 0.8, 0.5)])  # steps back 0.03, goes on
    standing = Walker(P, [(0, 0.7, 0.55), (30, 0.7, 0.55)])
    rule = WrongWay(WrongWayConfig.model_validate({"flow": [(0, 0.5), (1, 0.5)]}))
    assert run_scene(rule, [crossing, turning, standing], 30, jitter=2.0).hits == []


def test_wrong_way_applies_only_inside_its_zones_and_to_its_classes() -> None:
    lane = ((0.0, 0.6), (1.0, 0.6), (1.0, 0.8), (0.0, 0.8))
    car_in_other_lane = Walker(CAR, [(0, 1.1, 0.9), (6, -0.1, 0.9)], size=(0.15, 0.12))
    car_in_lane = Walker(CAR, [(0, 1.1, 0.7), (6, -0.1, 0.7)], size=(0.15, 0.12))
    config = {"flow": [(0, 0.7), (1, 0.7)], "zones": [lane], "classes": ["car"]}
    assert run_scene(WrongWay(WrongWayConfig.model_validate(config)), [car_in_other_lane], 6).hits == []
    assert len(run_scene(WrongWay(WrongWayConfig.model_validate(config)), [car_in_lane], 6).hits) == 1
