"""intrusion and loitering on scripted scenes: one alert per stay, only for watched classes, only after the
minimum time, robust to missed detections. Scenes are unambiguous by design, so every assertion is exact."""

from __future__ import annotations

import pytest

from tests.analytics.rules.scripted import Walker, run_scene
from vigie.analytics.rules.intrusion import Intrusion, IntrusionConfig
from vigie.analytics.rules.loitering import Loitering, LoiteringConfig
from vigie.analytics.rules.registry import RuleConfigError, build_rule
from vigie.domain.detections import ObjectClass

ZONE = ((0.6, 0.7), (0.9, 0.7), (0.9, 0.95), (0.6, 0.95))
P = ObjectClass.PERSON


def intrusion(**kw: object) -> Intrusion:
    return Intrusion(IntrusionConfig.model_validate({"zones": [ZONE], **kw}))


def test_a_person_entering_and_staying_raises_one_alert_after_the_minimum_time() -> None:
    walker = Walker(P, [(0, 0.2, 0.85), (4, 0.75, 0.85), (12, 0.75, 0.85)])  # enters x=0.6 at ≈ 2.9 s
    run = run_scene(intrusion(min_duration_s=2.0), [walker], 12)
    assert len(run.hits) == 1
    assert 2.9 + 2.0 <= run.times[0] <= 2.9 + 2.0 + 0.8  # the minimum time, plus tracker confirmation and sampling
    region = run.hits[0][1].region
    assert 0.6 <= region.x + region.w / 2 <= 0.9


def test_walking_along_the_edge_outside_the_zone_is_not_an_intrusion() -> None:
    # The feet stay 0.03 below the top edge's outside (y = 0.67) while the body overlaps the zone on screen.
    walker = Walker(P, [(0, 0.1, 0.67), (10, 0.95, 0.67)])
    assert run_scene(intrusion(min_duration_s=0.0), [walker], 10).hits == []


def test_only_watched_classes_count() -> None:
    car = Walker(ObjectClass.CAR, [(0, 0.1, 0.85), (6, 1.0, 0.85)], size=(0.15, 0.12))
    assert run_scene(intrusion(min_duration_s=0.0), [car], 6).hits == []
    with_cars = intrusion(min_duration_s=0.0, classes=["car"])
    assert len(run_scene(with_cars, [car], 6).hits) == 1


def test_clipping_a_corner_for_less_than_the_minimum_time_is_nothing() -> None:
    walker = Walker(P, [(0, 0.5, 0.9), (2, 0.7, 0.9), (3, 0.7, 0.99), (5, 0.5, 0.99)])  # ≈ 1.2 s inside
    assert run_scene(intrusion(min_duration_s=3.0), [walker], 5).hits == []


def test_leaving_and_coming_back_is_a_second_incident() -> None:
    walker = Walker(
        P, [(0, 0.3, 0.85), (3, 0.75, 0.85), (6, 0.75, 0.85), (9, 0.3, 0.85), (12, 0.75, 0.85), (16, 0.75, 0.85)]
    )
    run = run_scene(intrusion(min_duration_s=1.0), [walker], 16)
    assert len(run.hits) == 2 and run.times[1] > 10


def test_missed_detections_inside_do_not_make_a_second_alert() -> None:
    walker = Walker(P, [(0, 0.3, 0.85), (3, 0.75, 0.85), (20, 0.75, 0.85)], missing=[(6, 7.2), (10, 11.0), (14, 15.4)])
    assert len(run_scene(intrusion(min_duration_s=1.0), [walker], 20).hits) == 1


def test_loitering_needs_the_long_stay() -> None:
    passer = Walker(P, [(0, 0.3, 0.85), (3, 0.75, 0.85), (20, 0.75, 0.85), (23, 1.0, 0.85)])  # ≈ 18 s inside
    loiterer = Walker(P, [(0, 0.3, 0.85), (3, 0.75, 0.85), (60, 0.75, 0.85)])
    config = LoiteringConfig.model_validate({"zones": [ZONE], "min_duration_s": 30})
    assert run_scene(Loitering(config), [passer], 23).hits == []
    run = run_scene(Loitering(config), [loiterer], 60)
    assert len(run.hits) == 1 and 32 <= run.times[0] <= 34


def test_configuration_errors_name_the_field() -> None:
    with pytest.raises(RuleConfigError, match="zones"):
        build_rule("intrusion", {})
    with pytest.raises(RuleConfigError, match="min_duration_s"):
        build_rule("intrusion", {"zones": [ZONE], "min_duration_s": -1})
    with pytest.raises(RuleConfigError, match="unknown module"):
        build_rule("face_search", {})
