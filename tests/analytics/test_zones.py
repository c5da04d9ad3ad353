"""Zones on detections: polygon membership, directed line crossings, dwell time, bounded state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from vigie.analytics.detect.regions import motion_detections
from vigie.analytics.zones import Anchor, DwellTimer, LineCounter, PolygonZone
from vigie.config.zones import AnalysisZone, DirectedLineZone, LineDirection
from vigie.domain.detections import Detections, ObjectClass
from vigie.domain.geometry import Box

SIZE = (640, 360)
SQUARE = ((0.25, 0.25), (0.75, 0.25), (0.75, 0.75), (0.25, 0.75))


def person_at(x: float, y: float, track_id: int = 1, cls: ObjectClass = ObjectClass.PERSON) -> Detections:
    """A 20×60 px box whose bottom centre is at (x, y) in pixels."""
    return Detections.create([[x - 10, y - 60, x + 10, y]], [0.9], [cls], [track_id])


def many(points: list[tuple[float, float]], cls: ObjectClass = ObjectClass.PERSON) -> Detections:
    boxes = [[x - 10, y - 60, x + 10, y] for x, y in points]
    return Detections.create(boxes, [0.9] * len(points), [cls] * len(points), list(range(len(points))))


def test_square_zone_membership_uses_bottom_centre() -> None:
    zone = PolygonZone(SQUARE)
    dets = many([(320, 180), (100, 180), (320, 95), (320, 265), (639, 359)])
    # (320, 95) has its box mostly outside but its feet inside the square (y from 90 to 270).
    assert zone.trigger(dets, SIZE).tolist() == [True, False, True, True, False]
    assert PolygonZone(SQUARE, anchor=Anchor.CENTER).trigger(dets, SIZE).tolist() == [True, False, False, True, False]
    mask = zone.mask(SIZE)
    assert mask.shape == (360, 640) and mask[180, 320] and not mask[10, 10]
    assert abs(mask.mean() - 0.25) < 0.01


def test_zone_filters_classes_and_builds_from_config() -> None:
    config = AnalysisZone(kind="analysis", id="square", points=SQUARE)
    zone = PolygonZone.from_config(config, classes=[ObjectClass.CAR])
    dets = Detections.create([[300, 100, 340, 200], [300, 100, 340, 200]], [0.9, 0.9], [ObjectClass.PERSON, 2])
    assert zone.trigger(dets, SIZE).tolist() == [False, True]
    assert zone.trigger(Detections(), SIZE).tolist() == []


def walk(counter: LineCounter, ys: Sequence[float], x: float = 320.0, track_id: int = 7) -> tuple[int, int]:
    total_in = total_out = 0
    for step, y in enumerate(ys):
        crossed_in, crossed_out = counter.trigger(person_at(x, y, track_id), SIZE, step * 0.2)
        total_in += int(crossed_in.sum())
        total_out += int(crossed_out.sum())
    return total_in, total_out


HORIZONTAL = ((0.0, 0.5), (1.0, 0.5))  # left of it is the upper half of the image


def test_line_crossing_has_the_sign_of_the_config_convention() -> None:
    config = DirectedLineZone(kind="directed_line", id="l", points=HORIZONTAL, direction=LineDirection.BOTH)
    assert config.side((0.5, 0.2)) == -1  # the upper half is on the left
    down = list(np.linspace(100, 260, 9))
    assert walk(LineCounter.from_config(config), down) == (1, 0)  # left → right
    assert walk(LineCounter.from_config(config), down[::-1]) == (0, 1)  # right → left


def test_direction_filters_crossings() -> None:
    down = list(np.linspace(100, 260, 9))
    l2r = LineCounter(HORIZONTAL, LineDirection.LEFT_TO_RIGHT)
    assert walk(l2r, down) == (1, 0) and walk(l2r, down[::-1], track_id=8) == (0, 0)
    r2l = LineCounter(HORIZONTAL, LineDirection.RIGHT_TO_LEFT)
    assert walk(r2l, down) == (0, 0) and walk(r2l, down[::-1], track_id=8) == (0, 1)
    assert (r2l.in_count, r2l.out_count) == (0, 1)


def test_jitter_on_the_line_counts_once() -> None:
    # Approach, dither ±3 px around y=180 for a while, then go on: one crossing, not one per dither.
    ys = [120, 150, 175, 183, 177, 184, 178, 182, 176, 185, 179, 181, 200, 230, 220, 240]
    counter = LineCounter(HORIZONTAL, hysteresis=0.02)
    assert walk(counter, ys) == (1, 0)
    assert (counter.in_count, counter.out_count) == (1, 0)


def test_crossing_beyond_the_end_of_the_segment_does_not_count() -> None:
    counter = LineCounter(((0.0, 0.5), (0.4, 0.5)))
    assert walk(counter, list(np.linspace(100, 260, 9)), x=500) == (0, 0)


def test_untracked_and_unwatched_detections_are_ignored() -> None:
    counter = LineCounter(HORIZONTAL, classes=[ObjectClass.CAR])
    assert walk(counter, [100, 260]) == (0, 0)
    counter = LineCounter(HORIZONTAL)
    assert walk(counter, [100, 260], track_id=-1) == (0, 0)
    assert counter.tracked == 0


def test_line_state_is_bounded_in_time_and_size() -> None:
    counter = LineCounter(HORIZONTAL, forget_after_s=2.0, max_tracks=50)
    for step in range(200):  # 200 distinct tracks, one frame each
        counter.trigger(person_at(320, 100, track_id=step), SIZE, step * 0.2)
        assert counter.tracked <= 50
    assert counter.tracked <= 11  # only the last 2 s
    counter.trigger(Detections(), SIZE, 1000.0)
    assert counter.tracked == 0


def test_dwell_accumulates_and_resets_when_the_track_leaves() -> None:
    timer = DwellTimer.from_config(AnalysisZone(kind="analysis", id="z", points=SQUARE))
    t0 = datetime(2024, 5, 1, 12, tzinfo=UTC)
    at = [t0 + timedelta(seconds=s) for s in range(10)]
    assert timer.update(person_at(320, 180), SIZE, at[0]) == {1: 0.0}
    assert timer.update(person_at(330, 180), SIZE, at[3]) == {1: 3.0}
    assert timer.update(Detections(), SIZE, at[4]) == {}  # missed: time kept
    assert timer.update(person_at(330, 180), SIZE, at[5]) == {1: 5.0}
    assert timer.update(person_at(50, 180), SIZE, at[6]) == {}  # left the zone
    assert timer.update(person_at(330, 180), SIZE, at[8]) == {1: 0.0}


def test_dwell_state_is_bounded() -> None:
    timer = DwellTimer(PolygonZone(SQUARE), forget_after_s=1.0, max_tracks=20)
    for step in range(100):
        timer.update(person_at(320, 180, track_id=step), SIZE, step * 0.1)
        assert timer.tracked <= 20
    timer.update(Detections(), SIZE, 100.0)
    assert timer.tracked == 0


def test_invalid_geometry_is_refused() -> None:
    with pytest.raises(ValueError):
        PolygonZone(((0.1, 0.1), (0.2, 0.2)))
    with pytest.raises(ValueError):
        LineCounter(((0.1, 0.1), (0.1, 0.1)))


def test_motion_regions_become_motion_detections_in_pixels() -> None:
    dets = motion_detections([(Box(0.25, 0.5, 0.5, 0.25), 0.8)], SIZE)
    assert dets.boxes.tolist() == [[160.0, 180.0, 480.0, 270.0]]
    assert dets.class_ids.tolist() == [ObjectClass.MOTION] and dets.track_ids.tolist() == [-1]
    assert len(motion_detections([], SIZE)) == 0
    # motion regions are anchored at their centre by default
    assert PolygonZone(SQUARE).trigger(dets, SIZE).tolist() == [True]
