"""abandoned_object and stationary_vehicle on scripted scenes, with the hard negatives of the 2025 evaluation of
the Paris experiment in mind (people sitting or lying taken for parcels, 62 % false positives at SNCF)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.analytics.rules.scripted import Run, Walker, run_scene
from vigie.analytics.rules.abandoned_object import AbandonedObject, AbandonedObjectConfig
from vigie.analytics.rules.registry import RuleConfigError, parse_config
from vigie.analytics.rules.stationary_vehicle import StationaryVehicle, StationaryVehicleConfig
from vigie.domain.detections import ObjectClass

P, BAG, CAR, BIKE, BUS = ObjectClass.PERSON, ObjectClass.BAG, ObjectClass.CAR, ObjectClass.BICYCLE, ObjectClass.BUS
BAG_SIZE = (0.02, 0.05)


def abandoned(seconds: float = 10.0) -> AbandonedObject:
    return AbandonedObject(AbandonedObjectConfig(min_duration_s=seconds))


both = pytest.mark.parametrize("picture", [False, True], ids=["boxes", "boxes+picture"])
"""The detector's scenes, run on boxes alone and again with the picture (both of the module's sources, one alert)."""


def left_bag(drop_at: float = 6.0, until: float = 40.0, **kw: object) -> list[Walker]:
    """A person carries a bag from the left, puts it down at x = 0.5 and walks away to the right."""
    owner = Walker(P, [(0, 0.1, 0.8), (drop_at, 0.5, 0.8), (drop_at + 1, 0.5, 0.8), (drop_at + 7, 1.0, 0.8)])
    bag = Walker(BAG, [(0, 0.12, 0.8), (drop_at, 0.52, 0.8), (until, 0.52, 0.8)], size=BAG_SIZE, **kw)  # type: ignore[arg-type]
    return [owner, bag]


@both
def test_a_bag_left_behind_is_reported_once_after_the_unattended_time(picture: bool) -> None:
    run = run_scene(abandoned(10), left_bag(), 40, picture=picture)
    assert len(run.hits) == 1
    # The owner is within half a body height of the bag until ≈ 7.5 s; then 10 s unattended.
    assert 17 <= run.times[0] <= 19.5
    region = run.hits[0][1].region
    assert abs(region.x + region.w / 2 - 0.52) < 0.03


@both
def test_a_bag_whose_owner_sits_next_to_it_is_attended(picture: bool) -> None:
    owner = Walker(P, [(0, 0.1, 0.8), (6, 0.5, 0.8), (60, 0.5, 0.8)], sizes=[(0, 0.03, 0.15), (6, 0.04, 0.1)])
    bag = Walker(BAG, [(0, 0.12, 0.8), (6, 0.53, 0.8), (60, 0.53, 0.8)], size=BAG_SIZE)
    assert run_scene(abandoned(10), [owner, bag], 60, picture=picture).hits == []


@both
def test_people_sitting_or_lying_still_and_parked_bicycles_are_not_objects(picture: bool) -> None:
    sitting = Walker(P, [(0, 0.3, 0.8), (60, 0.3, 0.8)], size=(0.04, 0.09))
    lying = Walker(P, [(0, 0.6, 0.9), (60, 0.6, 0.9)], size=(0.12, 0.04))  # a rough sleeper on the pavement
    bicycle = Walker(BIKE, [(0, 0.8, 0.85), (60, 0.8, 0.85)], size=(0.08, 0.07))
    assert run_scene(abandoned(10), [sitting, lying, bicycle], 60, picture=picture).hits == []


@both
def test_a_bag_carried_around_is_not_abandoned(picture: bool) -> None:
    walker = Walker(P, [(0, 0.1, 0.8), (30, 0.9, 0.8)], size=(0.03, 0.15))
    bag = Walker(BAG, [(0, 0.12, 0.8), (30, 0.92, 0.8)], size=BAG_SIZE)
    assert run_scene(abandoned(5), [walker, bag], 30, picture=picture).hits == []


@both
def test_a_bag_hidden_for_a_few_seconds_keeps_its_time(picture: bool) -> None:
    """A bus passes in front of the bag for 4 s: the tracker loses it, but the module remembers it by place."""
    run = run_scene(abandoned(10), left_bag(missing=[(10.0, 14.0)]), 40, picture=picture)
    assert len(run.hits) == 1 and run.times[0] <= 19.5


# The detector never sees the bag (issue 20: real COCO models miss a bag on the ground, even at score 0.15): the
# module finds it in the picture, and the detector's people tell who brought it and whether anyone attends it.
def no_bags(rule: AbandonedObject, walkers: list[Walker], duration: float, **kw: Any) -> Run:
    """The scene with its picture, the detector reporting everything but the bags."""
    return run_scene(rule, walkers, duration, picture=True, unseen={BAG}, **kw)


def test_a_bag_no_detector_sees_is_found_in_the_picture_and_reported_once_after_the_owner_leaves() -> None:
    run = no_bags(abandoned(10), left_bag(), 40)
    assert len(run.hits) == 1
    # Same window as the detector's bag: owner within reach until ≈ 7.5 s, then 10 s unattended.
    assert 17 <= run.times[0] <= 19.5
    region = run.hits[0][1].region
    assert abs(region.x + region.w / 2 - 0.52) < 0.03
    assert abs(region.y + region.h - 0.8) < 0.03


def test_with_boxes_only_the_former_method_misses_the_bag_no_detector_sees() -> None:
    detector_only = AbandonedObject(AbandonedObjectConfig(min_duration_s=10, method="detector"))
    assert no_bags(detector_only, left_bag(), 40).hits == []


def test_an_unseen_bag_whose_owner_sits_next_to_it_is_attended() -> None:
    owner = Walker(P, [(0, 0.1, 0.8), (6, 0.5, 0.8), (60, 0.5, 0.8)], sizes=[(0, 0.03, 0.15), (6, 0.04, 0.1)])
    bag = Walker(BAG, [(0, 0.12, 0.8), (6, 0.53, 0.8), (60, 0.53, 0.8)], size=BAG_SIZE)
    assert no_bags(abandoned(10), [owner, bag], 60).hits == []


def test_an_unseen_bag_is_reported_after_its_owner_leaves_and_not_before() -> None:
    """The owner stands by the bag for 20 s, then goes: one alert, 10 s after they are out of reach."""
    owner = Walker(P, [(0, 0.1, 0.8), (6, 0.5, 0.8), (26, 0.5, 0.8), (32, 1.0, 0.8)])
    bag = Walker(BAG, [(0, 0.12, 0.8), (6, 0.53, 0.8), (60, 0.53, 0.8)], size=BAG_SIZE)
    run = no_bags(abandoned(10), [owner, bag], 60)
    assert len(run.hits) == 1 and 36 <= run.times[0] <= 39


def test_an_unseen_bag_is_traced_to_an_owner_the_detector_only_sees_walking_away() -> None:
    """A weak detector misses the owner while they carry and put the bag down, and finds them 2 s after they left
    it: the movement that left the bag's place leads to them, so it is theirs."""
    owner = Walker(P, [(0, 0.1, 0.8), (6, 0.5, 0.8), (7, 0.5, 0.8), (13, 1.0, 0.8)], undetected=[(0.0, 9.0)])
    bag = Walker(BAG, [(0, 0.12, 0.8), (6, 0.52, 0.8), (40, 0.52, 0.8)], size=BAG_SIZE)
    run = no_bags(abandoned(10), [owner, bag], 40)
    assert len(run.hits) == 1 and 15 <= run.times[0] <= 19.5


def test_what_nobody_brought_is_not_an_object() -> None:
    """Two cars the detector does not see park; a person lies there, seen or not; someone walks by far off."""
    car = Walker(CAR, [(0, -0.1, 0.7), (3, 0.2, 0.7), (60, 0.2, 0.7)], size=(0.15, 0.1))
    other = Walker(CAR, [(0, 1.1, 0.6), (3, 0.8, 0.6), (60, 0.8, 0.6)], size=(0.15, 0.1))
    lying = Walker(P, [(0, 0.6, 0.95), (60, 0.6, 0.95)], size=(0.12, 0.04))
    passer = Walker(P, [(0, 1.0, 0.45), (20, 0.0, 0.45)])
    run = run_scene(abandoned(10), [car, other, lying, passer], 60, picture=True, unseen={BAG, CAR})
    assert run.hits == []
    hidden = Walker(P, [(0, 0.6, 0.95), (60, 0.6, 0.95)], size=(0.12, 0.04), undetected=[(0.0, 60.0)])
    assert run_scene(abandoned(10), [car, hidden, passer], 60, picture=True, unseen={BAG, CAR}).hits == []


def test_a_person_standing_still_for_a_minute_is_not_an_object() -> None:
    standing = Walker(P, [(0, 0.0, 0.8), (4, 0.4, 0.8), (64, 0.4, 0.8), (70, 1.0, 0.8)])
    lying = Walker(P, [(0, 0.6, 0.95), (70, 0.6, 0.95)], size=(0.12, 0.04))
    assert no_bags(abandoned(10), [standing, lying], 70).hits == []


def test_a_person_the_detector_loses_while_standing_still_is_not_an_object() -> None:
    """The detector misses someone standing still for 20 s: the blob is that person (back-traced to their own box)."""
    standing = Walker(P, [(0, 0.0, 0.8), (4, 0.4, 0.8), (50, 0.4, 0.8), (56, 1.0, 0.8)], undetected=[(15.0, 35.0)])
    assert no_bags(abandoned(10), [standing], 60).hits == []


def test_lighting_changes_raise_nothing_and_do_not_hide_a_left_bag() -> None:
    """A cloud (gain ×0.6 at once), then street lights (×1.5 within 2 s); a person walks through."""

    def gain(t: float) -> float:
        return 1.0 if t < 15 else 0.6 if t < 30 else 0.6 + 0.45 * min(1.0, (t - 30) / 2)

    walker = Walker(P, [(0, 0.0, 0.8), (20, 1.0, 0.8)])
    assert no_bags(abandoned(10), [walker], 60, gain=gain).hits == []
    run = no_bags(abandoned(10), left_bag(until=60), 60, gain=lambda t: 1.0 if t < 12 else 0.7)
    assert len(run.hits) == 1 and 17 <= run.times[0] <= 19.5


def test_local_lights_raise_nothing_and_a_large_change_relearns() -> None:
    """A shop window lights up as someone walks past it; later half the street goes into shadow: nothing raised,
    and a bag left after the shadow fell is still found."""
    window = (10.0, (0.3, 0.5, 0.12, 0.2), 1.4)
    shadow = (25.0, (0.0, 0.0, 1.0, 0.5), 0.5)
    passer = Walker(P, [(0, 0.0, 0.75), (20, 1.0, 0.75)])
    assert no_bags(abandoned(10), [passer], 60, lights=[window, shadow]).hits == []
    run = no_bags(abandoned(10), left_bag(drop_at=36, until=80), 80, lights=[shadow])
    assert len(run.hits) == 1 and 47 <= run.times[0] <= 49.5


def test_a_bag_taken_away_leaves_no_ghost() -> None:
    """A bag lies there from the start; someone picks it up at 10 s and carries it off: nothing left behind."""
    bag = Walker(BAG, [(0, 0.52, 0.8), (10, 0.52, 0.8), (17, 1.0, 0.8)], size=BAG_SIZE)
    taker = Walker(P, [(0, 0.1, 0.8), (9, 0.5, 0.8), (10, 0.5, 0.8), (17, 0.98, 0.8)])
    assert no_bags(abandoned(10), [bag, taker], 50).hits == []


def test_object_size_limits_that_cannot_hold_anything_are_refused_with_the_reason() -> None:
    with pytest.raises(RuleConfigError, match=r"min_area \(0.1\) must be smaller than max_area \(0.05\)"):
        parse_config("abandoned_object", {"min_area": 0.1})
    with pytest.raises(RuleConfigError, match="method"):
        parse_config("abandoned_object", {"method": "magic"})


def test_a_car_stopped_longer_than_the_threshold_is_reported_once() -> None:
    car = Walker(CAR, [(0, -0.05, 0.8), (4, 0.4, 0.8), (200, 0.4, 0.8)], size=(0.16, 0.12))
    config = StationaryVehicleConfig.model_validate(
        {"min_duration_s": 60, "zones": [((0.2, 0.6), (0.7, 0.6), (0.7, 1.0), (0.2, 1.0))]}
    )
    run = run_scene(StationaryVehicle(config), [car], 200)
    assert len(run.hits) == 1 and 64 <= run.times[0] <= 65.5


def test_short_stops_traffic_and_cars_outside_the_zone_are_not_reported() -> None:
    zone = ((0.2, 0.6), (0.7, 0.6), (0.7, 1.0), (0.2, 1.0))
    short = Walker(CAR, [(0, -0.05, 0.8), (4, 0.4, 0.8), (40, 0.4, 0.8), (44, 1.1, 0.8)], size=(0.16, 0.12))
    outside = Walker(CAR, [(0, 0.85, 0.8), (120, 0.85, 0.8)], size=(0.16, 0.12))
    traffic = [Walker(CAR, [(t0, -0.1, 0.75), (t0 + 5, 1.1, 0.75)], size=(0.16, 0.12)) for t0 in range(0, 110, 7)]
    config = StationaryVehicleConfig.model_validate({"min_duration_s": 60, "zones": [zone]})
    assert run_scene(StationaryVehicle(config), [short, outside, *traffic], 120).hits == []


def test_a_parked_car_hidden_by_a_passing_bus_keeps_its_time() -> None:
    car = Walker(CAR, [(0, 0.4, 0.8), (100, 0.4, 0.8)], size=(0.16, 0.12), missing=[(30, 36)])
    bus = Walker(BUS, [(29, -0.2, 0.85), (37, 1.2, 0.85)], size=(0.35, 0.25))
    run = run_scene(StationaryVehicle(StationaryVehicleConfig(min_duration_s=60)), [car, bus], 100)
    assert len(run.hits) == 1 and 60 <= run.times[0] <= 61.5
