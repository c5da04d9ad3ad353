"""Scoring event hits against event ground truth: what counts as detected, repeated, false, and how late."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vigie.domain.geometry import Box
from vigie.evaluation.events import (
    GroundTruthError,
    TimedHit,
    TruthEvent,
    load_events,
    score_events,
    score_totals,
)

BAG = TruthEvent("bag_left", 12.0, 60.0, Box(0.3, 0.4, 0.02, 0.08))
FLICKER = TruthEvent("light_flicker", 33.0, 38.0, Box(0.05, 0.05, 0.15, 0.2))


def hit(at: float, x: float = 0.3, y: float = 0.4) -> TimedHit:
    return TimedHit(at, Box(x, y, 0.03, 0.08), 0.9)


def test_first_matching_hit_detects_and_gives_the_delay_later_ones_repeat() -> None:
    score = score_events("abandoned_object", [hit(25.0), hit(40.0)], [BAG, FLICKER])
    assert (score.events, score.detected, score.repeats, score.false_positives) == (1, 1, 1, 0)
    assert score.delays_s == [13.0] and score.precision == 1.0 and score.recall == 1.0


def test_hits_elsewhere_in_time_or_place_are_false_positives_and_hard_negatives_are_named() -> None:
    hits = [hit(5.0), hit(25.0, x=0.8), hit(35.0, x=0.1, y=0.1)]
    score = score_events("abandoned_object", hits, [BAG, FLICKER])
    assert (score.detected, score.false_positives, score.on_hard_negatives) == (0, 3, 1)
    assert score.precision == 0.0 and score.recall == 0.0 and score.missed == [BAG]


def test_a_hit_between_two_neighbouring_events_detects_the_one_it_covers() -> None:
    # Two cars passing each other, 0.02 apart: within the margin of both; the hit is on the right-hand one.
    left = TruthEvent("enter_zone", 14.6, 18.2, Box(0.05, 0.0, 0.31, 1.0))
    right = TruthEvent("enter_zone", 15.0, 18.9, Box(0.38, 0.0, 0.29, 1.0))
    on_right = TimedHit(18.0, Box(0.40, 0.0, 0.17, 0.36), 0.8)
    score = score_events("intrusion", [on_right], [left, right])
    assert score.missed == [left] and score.delays_s == [pytest.approx(3.0)]


def test_events_shorter_than_the_module_promise_are_not_expected() -> None:
    short_visit = TruthEvent("enter_zone", 10.0, 11.0, Box(0.7, 0.8, 0.1, 0.1))
    assert score_events("loitering", [], [short_visit], min_event_s=30).events == 0
    assert score_events("loitering", [hit(10.5, 0.72, 0.82)], [short_visit], min_event_s=30).false_positives == 1


def test_events_file_errors_name_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text(json.dumps([{"kind": "bag_left", "start_s": 1, "end_s": 2, "region": {"x": 0, "y": 0, "w": 1}}]))
    with pytest.raises(GroundTruthError, match="event 0"):
        load_events(path)
    path.write_text("{not json")
    with pytest.raises(GroundTruthError, match="not JSON"):
        load_events(path)
    path.write_text(json.dumps({"events": [{"kind": "x", "start_s": 5, "end_s": 1}]}))
    with pytest.raises(GroundTruthError, match="ends"):
        load_events(path)


def test_statistics_totals_are_set_beside_the_annotated_ones_bucket_by_bucket() -> None:
    zone = Box(0.4, 0.0, 0.4, 1.0)
    visits = [TruthEvent("enter_zone", 10.0, 40.0, zone), TruthEvent("enter_zone", 50.0, 80.0, zone)]
    crossings = [TruthEvent("line_cross", t, t, zone) for t in (40.0, 59.9, 80.0)]
    buckets = [(0.0, 60.0, 2.0), (60.0, 120.0, None)]
    counts = score_totals("line_count", buckets, [*visits, *crossings], video_s=90.0)
    assert [(c.annotated, c.measured) for c in counts] == [(2.0, 2.0), (1.0, None)]  # None: withheld
    # Occupancy is the mean number present: 30 + 10 s of presence in the first minute; 20 s in the 30 s seen of
    # the second (the module's mean is over the frames it had).
    means = score_totals("occupancy", [(0.0, 60.0, 0.6), (60.0, 120.0, 0.7)], visits, video_s=90.0)
    assert [c.annotated for c in means] == [pytest.approx(40 / 60, abs=1e-3), pytest.approx(20 / 30, abs=1e-3)]
