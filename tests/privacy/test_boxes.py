"""Which boxes are blurred on each frame: interpolation, holding at track ends, margins, a reviewer's choices."""

from __future__ import annotations

import numpy as np
import pytest

from vigie.domain.detections import Detections, ObjectClass
from vigie.privacy import (
    BlurBox,
    BoxPlanner,
    KeepClear,
    ManualBox,
    PixelBox,
    RedactionError,
    RedactionOptions,
    TimeRange,
    blur_boxes,
    blur_planar_boxes,
    redaction_recall,
)

PERSON = int(ObjectClass.PERSON)


def seen(*boxes: tuple[float, float, float, float], track: int = 1, cls: int = PERSON) -> Detections:
    return Detections.create(list(boxes), [0.9] * len(boxes), [cls] * len(boxes), [track] * len(boxes))


def corners(box: BlurBox) -> tuple[int, int, int, int]:
    return box.x1, box.y1, box.x2, box.y2


def planner(**options: object) -> BoxPlanner:
    opts = RedactionOptions(**{"margin": 0.0, "hold": 0.4, "max_gap": 1.0, **options})  # type: ignore[arg-type]
    return BoxPlanner(opts, 640, 480)


def test_a_track_is_interpolated_linearly_between_two_sightings() -> None:
    plan = planner()
    plan.add(0.0, seen((100, 100, 120, 160)))
    plan.add(0.2, seen((140, 110, 160, 170)))
    assert [(corners(b), b.source, b.track_id) for b in plan.boxes_at(0, 0.0).boxes] == [
        ((100, 100, 120, 160), "detected", 1)
    ]
    mid = plan.boxes_at(2, 0.08).boxes
    assert [(corners(b), b.source) for b in mid] == [((116, 104, 136, 164), "interpolated")]
    assert mid[0].class_id == PERSON


def test_a_track_end_is_held_and_moved_on_at_its_velocity_then_dropped() -> None:
    plan = planner()
    plan.add(0.0, seen((100, 100, 120, 160)))
    plan.add(0.2, seen((120, 100, 140, 160)))  # 100 px/s to the right
    held = plan.boxes_at(7, 0.3).boxes
    assert [(corners(b), b.source) for b in held] == [((120, 100, 150, 160), "held")]  # where it was ∪ where it goes
    assert plan.boxes_at(15, 0.6).boxes[0].x2 == 180
    assert plan.boxes_at(16, 0.65).boxes == ()  # beyond hold (0.4 s after the last sighting)


def test_a_track_start_is_held_backwards() -> None:
    plan = planner()
    plan.add(1.0, seen((100, 100, 120, 160)))
    plan.add(1.2, seen((120, 100, 140, 160)))
    before = plan.boxes_at(0, 0.9).boxes
    assert [(corners(b), b.source) for b in before] == [((90, 100, 120, 160), "held")]
    assert plan.boxes_at(0, 0.5).boxes == ()


def test_no_interpolation_across_a_gap_longer_than_max_gap_but_both_ends_are_held() -> None:
    plan = planner(max_gap=0.5, hold=0.2)
    plan.add(0.0, seen((100, 100, 120, 160)))
    plan.add(1.0, seen((300, 100, 320, 160)))
    assert [b.x1 for b in plan.boxes_at(1, 0.1).boxes] == [100]  # held after the first sighting
    assert [b.x1 for b in plan.boxes_at(2, 0.9).boxes] == [300]  # held before the second
    assert plan.boxes_at(3, 0.5).boxes == ()  # neither: a gap this long is two appearances, not one walk


def test_a_detection_without_track_is_held_on_both_sides_without_a_number() -> None:
    plan = planner(hold=0.2)
    plan.add(0.0, Detections())
    plan.add(0.2, seen((10, 10, 30, 50), track=-1))
    plan.add(0.4, Detections())
    for at in (0.05, 0.2, 0.35):
        boxes = plan.boxes_at(0, at).boxes
        assert [(corners(b), b.track_id) for b in boxes] == [((10, 10, 30, 50), None)]
    assert plan.boxes_at(0, 0.45).boxes == ()


def test_boxes_are_grown_by_the_margin_and_clipped_to_the_picture() -> None:
    plan = planner(margin=0.1)
    found = Detections.create([(100, 100, 200, 300), (600, 0, 640, 100)], [0.9, 0.9], [PERSON, PERSON], [1, 2])
    plan.add(0.0, found)
    assert [corners(b) for b in plan.boxes_at(0, 0.0).boxes] == [(90, 80, 210, 320), (596, 0, 640, 110)]


def test_classes_other_than_persons_and_vehicles_are_not_blurred() -> None:
    plan = planner()
    plan.add(0.0, seen((0, 0, 10, 10), track=1, cls=int(ObjectClass.BAG)))
    plan.add(0.2, seen((0, 0, 10, 10), track=2, cls=int(ObjectClass.TRUCK)))
    assert [b.class_id for b in plan.boxes_at(0, 0.2).boxes] == [int(ObjectClass.TRUCK)]


def test_keep_clear_a_track_during_a_range_and_a_region_and_manual_boxes_win() -> None:
    keep = (
        KeepClear(track_id=1, during=TimeRange(0.0, 0.1)),
        KeepClear(box=PixelBox(0, 0, 100, 100), during=TimeRange(0.0, 1.0)),
    )
    manual = (ManualBox(PixelBox(10, 10, 40, 40), TimeRange(0.1, 0.3)),)
    plan = planner(keep_clear=keep, manual=manual)
    plan.add(0.0, seen((300, 100, 320, 160), track=1))
    plan.add(0.2, seen((300, 100, 320, 160), track=1))
    plan.add(0.4, seen((70, 20, 110, 60), track=2))  # three quarters inside the keep-clear region
    assert plan.boxes_at(0, 0.0).boxes == ()  # track 1 kept clear until 0.1 s
    assert [(b.track_id, b.source) for b in plan.boxes_at(5, 0.2).boxes] == [(1, "detected"), (None, "manual")]
    assert [corners(b) for b in plan.boxes_at(10, 0.4).boxes if b.track_id == 2] == []
    late = planner(keep_clear=keep)
    late.add(1.2, seen((70, 20, 110, 60), track=2))
    assert [b.track_id for b in late.boxes_at(30, 1.2).boxes] == [2]  # the region is kept clear until 1 s only


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (KeepClear, "either a track_id or a box"),
        (lambda: KeepClear(track_id=3, box=PixelBox(0, 0, 1, 1)), "either a track_id or a box"),
        (lambda: KeepClear(box=PixelBox(0, 0, 1, 1)), "needs a time range"),
        (lambda: KeepClear(track_id=-2), "track_id must be"),
        (lambda: TimeRange(3.0, 1.0), "0 ≤ start ≤ end"),
        (lambda: TimeRange(0.0, float("nan")), "finite"),
        (lambda: PixelBox(10, 0, 5, 10), "x1 < x2"),
        (lambda: RedactionOptions(detect_fps=5.0, max_gap=0.1), "max_gap"),
        (lambda: RedactionOptions(margin=-0.1), "margin must be between"),
        (lambda: RedactionOptions(blocks=9), "blocks must be between 1 and 8"),
        (lambda: RedactionOptions(classes=frozenset({ObjectClass.PERSON})), "missing: bicycle, car"),
        (lambda: BoxPlanner(RedactionOptions(), 0, 480), "frame size"),
    ],
)
def test_bad_choices_are_refused_with_what_is_wrong(build: object, message: str) -> None:
    with pytest.raises(RedactionError, match=message):
        build()  # type: ignore[operator]


def test_sightings_out_of_order_are_refused_and_old_tracks_are_forgotten() -> None:
    plan = planner(max_gap=0.5, hold=0.2)
    plan.add(0.0, seen((0, 0, 10, 10), track=1))
    with pytest.raises(RedactionError, match="time order"):
        plan.add(0.0, seen((0, 0, 10, 10), track=1))
    for k in range(1, 40):
        plan.add(k * 0.2, seen((0, 0, 10, 10), track=k + 1))  # a new track at each picture
        plan.release(k * 0.2)
    assert len(plan._tracks) <= 5


def test_blur_pixelates_inside_the_boxes_only_and_leaves_the_original_untouched() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (120, 160, 3), np.uint8)
    original = image.copy()
    out = blur_boxes(image, [BlurBox(20, 10, 100, 110, "detected")])
    assert np.array_equal(image, original)
    assert np.array_equal(out[:, 100:], original[:, 100:])
    assert np.array_equal(out[:10], original[:10])
    inside = out[10:110, 20:100].astype(np.float64)
    assert inside.std() < original[10:110, 20:100].std() / 8  # noise averaged away, not merely smoothed
    assert len(np.unique(blur_boxes(image, [BlurBox(20, 10, 100, 110, "held")], blocks=1)[10:110, 20:100])) <= 3


def test_blur_on_the_codec_planes_changes_the_box_in_luma_and_chroma_only() -> None:
    rng = np.random.default_rng(1)
    planar = rng.integers(0, 256, (120 * 3 // 2, 160), np.uint8)  # I420 of 160×120
    out = blur_planar_boxes(planar, [BlurBox(20, 10, 100, 110, "detected")])
    luma, chroma = out[:120], out[120:].reshape(-1)[: 80 * 60].reshape(60, 80)
    source_chroma = planar[120:].reshape(-1)[: 80 * 60].reshape(60, 80)
    assert luma[10:110, 20:100].std() < planar[10:110, 20:100].std() / 8
    assert np.array_equal(luma[:, 100:], planar[:120, 100:])
    assert chroma[5:55, 10:50].std() < source_chroma[5:55, 10:50].std() / 4
    assert np.array_equal(chroma[:, 50:], source_chroma[:, 50:])
    with pytest.raises(RedactionError, match="I420"):
        blur_planar_boxes(np.zeros((120, 160, 3), np.uint8), [])


def test_recall_is_the_covered_share_of_ground_truth_area() -> None:
    truth = {0: np.array([[0, 0, 10, 10], [20, 0, 30, 10]]), 1: np.zeros((0, 4))}
    blurred = {0: [BlurBox(0, 0, 10, 5, "detected"), BlurBox(19, 0, 31, 10, "held")], 1: []}
    report = redaction_recall(truth, blurred, 64, 48)
    assert (report.boxes, report.frames) == (2, 2)
    assert report.area_recall == pytest.approx(150 / 200)
    assert (report.share_covered_99, report.share_covered_90, report.worst_coverage) == (0.5, 0.5, 0.5)
    assert report.blurred_fraction == pytest.approx((50 + 120) / (64 * 48) / 2)
    with pytest.raises(RedactionError, match="no redaction result"):
        redaction_recall(truth, {0: []}, 64, 48)
