"""ByteTracker: identities through crossings, misses, skipped frames; per-instance ids; bounded state."""

from __future__ import annotations

import numpy as np

from vigie.analytics.track import ByteTracker, ByteTrackerConfig
from vigie.domain.detections import Detections, ObjectClass

PERIOD = 0.2


def _dets(boxes: list[tuple[float, float, float, float]], score: float = 0.9) -> Detections:
    return Detections.create(np.array(boxes).reshape(-1, 4), np.full(len(boxes), score), np.zeros(len(boxes)))


def _box(cx: float, cy: float = 100.0, w: float = 40.0, h: float = 100.0) -> tuple[float, float, float, float]:
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _id_at(out: Detections, cx: float) -> int:
    centres = out.centers[:, 0]
    return int(out.track_ids[int(np.argmin(np.abs(centres - cx)))])


def test_two_crossing_objects_keep_their_ids() -> None:
    tracker = ByteTracker()
    ids_a, ids_b = set(), set()
    for k in range(30):
        a, b = 50 + 10 * k, 340 - 10 * k  # they cross around k = 14, one slightly lower
        out = tracker.update(_dets([_box(a, 100), _box(b, 130)]), PERIOD)
        if k >= 2 and abs(a - b) > 45:
            ids_a.add(_id_at(out, a))
            ids_b.add(_id_at(out, b))
    assert len(ids_a) == 1 and len(ids_b) == 1 and ids_a != ids_b


def test_missed_object_keeps_its_id() -> None:
    tracker = ByteTracker()
    seen = set()
    for k in range(20):
        boxes = [] if 8 <= k < 12 else [_box(50 + 8 * k)]
        out = tracker.update(_dets(boxes), PERIOD)
        seen.update(out.track_ids.tolist())
    assert seen == {1}


def test_skipped_frames_are_tolerated() -> None:
    tracker = ByteTracker()
    seen = set()
    t = 0.0
    for k in range(
        25
    ):  # 100 px/s: 20 px per 0.2 s frame, then every other frame only (40 px jumps: IoU 0 without velocity)
        period = PERIOD if k < 5 else 2 * PERIOD
        t += period
        out = tracker.update(_dets([_box(50 + 100 * t)]), period)
        seen.update(out.track_ids.tolist())
    assert seen == {1}
    assert len(out) == 1


def test_low_score_detection_extends_a_track_but_does_not_start_one() -> None:
    tracker = ByteTracker()
    assert len(tracker.update(_dets([_box(300)], score=0.3), PERIOD)) == 0
    for k in range(3):
        tracker.update(_dets([_box(50 + 5 * k)]), PERIOD)
    out = tracker.update(_dets([_box(65)], score=0.3), PERIOD)
    assert out.track_ids.tolist() == [1]  # the first, low-score detection started nothing


def test_classes_do_not_match_each_other() -> None:
    tracker = ByteTracker()
    for _ in range(3):
        tracker.update(_dets([_box(50)]), PERIOD)
    car = Detections.create(np.array([_box(50)]), [0.9], [ObjectClass.CAR])
    for _ in range(2):
        out = tracker.update(car, PERIOD)
    assert out.track_ids.tolist() == [2]


def test_ids_are_per_instance() -> None:
    first, second = ByteTracker(), ByteTracker()
    for _ in range(3):
        out_first = first.update(_dets([_box(50), _box(200)]), PERIOD)
    for _ in range(3):
        out_second = second.update(_dets([_box(50)]), PERIOD)
    assert sorted(out_first.track_ids.tolist()) == [1, 2]
    assert out_second.track_ids.tolist() == [1]


def test_state_stays_bounded_under_random_detections() -> None:
    rng = np.random.default_rng(0)
    config = ByteTrackerConfig(max_tracks=64, max_age=1.0)
    tracker = ByteTracker(config)
    for _ in range(100):  # 100 frames × 100 random boxes = 10,000 detections
        xy = rng.uniform(0, 1000, (100, 2))
        wh = rng.uniform(5, 80, (100, 2))
        dets = Detections.create(np.hstack([xy, xy + wh]), rng.uniform(0, 1, 100), rng.integers(0, 3, 100))
        tracker.update(dets, PERIOD)
        assert tracker.track_count <= config.max_tracks
    for _ in range(10):  # nothing more: everything is forgotten after max_age
        tracker.update(Detections(), PERIOD)
    assert tracker.track_count == 0
