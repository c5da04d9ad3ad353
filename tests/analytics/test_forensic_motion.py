"""Motion in a region over recorded segments (issue 22): real H.264 MPEG-TS files written with PyAV, decoded by the
search as it decodes the recorder's segments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.region_footage import Scene, write_segments
from vigie.analytics.forensics.motion_region import (
    MotionSearchError,
    MotionSearchParams,
    RecordedFile,
    SegmentUnreadableError,
    search_motion,
)
from vigie.domain.geometry import Box

T0 = datetime(2026, 3, 14, 14, 0, tzinfo=UTC)  # the footage's own time; nothing compares it with today
ENTERED = Box(0.5, 0.3, 0.3, 0.4)
"""The square enters this box at the scene's ``enters_at`` (crossing its right edge)."""
UNTOUCHED = Box(0.1, 0.7, 0.3, 0.25)
"""Below the square's path: nothing enters it."""


def recorded(paths: list[Path], seconds: tuple[float, ...] = (4.0, 4.0)) -> list[RecordedFile]:
    starts = [sum(seconds[:i]) for i in range(len(paths))]
    return [RecordedFile(p, T0 + timedelta(seconds=s)) for p, s in zip(paths, starts, strict=True)]


def offset(at: datetime) -> float:
    return (at - T0).total_seconds()


@pytest.mark.parametrize(
    ("step", "gop", "bframes"),
    [(1.0, 2.0, 0), (0.5, 2.0, 0), (2.0, 1.0, 0), (0.5, 2.0, 2), (1.0, 1.0, 2)],
    ids=["chains", "fine", "keyframes", "chains-bframes", "keyframes-bframes"],
)
def test_the_span_starts_within_one_step_of_the_entry(tmp_path: Path, step: float, gop: float, bframes: int) -> None:
    files = recorded(write_segments(tmp_path, Scene(enters_at=5.3), gop_seconds=gop, bframes=bframes))
    params = MotionSearchParams(step_seconds=step)

    found = search_motion(files, ENTERED, params)

    assert len(found.spans) == 1, found.spans
    span = found.spans[0]
    assert 5.3 - step <= offset(span.start) <= 5.3 + step
    assert offset(span.start) <= offset(span.peak) < offset(span.end)
    assert 0.02 <= span.score <= 1.0
    assert search_motion(files, UNTOUCHED, params).spans == ()


def test_keyframes_alone_are_decoded_when_they_come_every_step(tmp_path: Path) -> None:
    files = recorded(write_segments(tmp_path, Scene(), gop_seconds=1.0))

    every_second = search_motion(files, ENTERED, MotionSearchParams(step_seconds=1.0))
    every_tenth = search_motion(files, ENTERED, MotionSearchParams(step_seconds=0.1))

    assert every_second.pictures_decoded == 8  # one keyframe per second of the 8 s, nothing else
    assert every_tenth.pictures_decoded == 80
    assert every_second.media_seconds == pytest.approx(8.0, abs=0.2)


def test_a_polygon_region_finds_the_entry_too(tmp_path: Path) -> None:
    files = recorded(write_segments(tmp_path, Scene(enters_at=5.3)))
    triangle = [(0.5, 0.3), (0.8, 0.3), (0.8, 0.7)]

    spans = search_motion(files, triangle).spans

    assert len(spans) == 1 and 4.3 <= offset(spans[0].start) <= 6.3


def test_lighting_over_the_whole_picture_is_not_motion(tmp_path: Path) -> None:
    files = recorded(write_segments(tmp_path, Scene(enters_at=None, lights_at=3.0, lights_by=45)))

    assert search_motion(files, ENTERED, MotionSearchParams(sensitivity=1.0)).spans == ()


def test_an_object_is_found_through_a_change_of_lighting(tmp_path: Path) -> None:
    files = recorded(write_segments(tmp_path, Scene(enters_at=5.3, lights_at=5.0, lights_by=45)))

    spans = search_motion(files, ENTERED).spans

    assert len(spans) == 1 and 4.3 <= offset(spans[0].start) <= 6.3


def test_min_span_leaves_out_short_spans(tmp_path: Path) -> None:
    files = recorded(write_segments(tmp_path, Scene(enters_at=5.3)))

    assert search_motion(files, ENTERED, MotionSearchParams(min_span_seconds=30.0)).spans == ()


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"sensitivity": 1.5}, "sensitivity must be between 0 and 1 (got 1.5)"),
        ({"sensitivity": float("nan")}, "sensitivity must be a finite number"),
        ({"min_changed_fraction": 0.0}, "min_changed_fraction must be above 0"),
        ({"min_changed_fraction": 2.0}, "min_changed_fraction must be between 0 and 1"),
        ({"min_span_seconds": -1.0}, "min_span_seconds must be at least 0"),
        ({"step_seconds": 0.0}, "step_seconds must be between 0.04 and 600"),
        ({"step_seconds": "1"}, "step_seconds must be a finite number"),
    ],
)
def test_bad_parameters_are_refused_by_name(arguments: dict[str, object], named: str) -> None:
    with pytest.raises(MotionSearchError) as refused:
        MotionSearchParams(**arguments)  # type: ignore[arg-type]
    assert named in str(refused.value)


@pytest.mark.parametrize(
    ("region", "named"),
    [
        ([(0.1, 0.1), (0.5, 0.5)], "at least 3 points (got 2)"),
        ([(0.1, 0.1), (1.5, 0.5), (0.2, 0.9)], "region point (1.5, 0.5) is outside the picture"),
        ([(0.1, 0.1), (0.2, 0.2), (0.3, 0.3)], "encloses no area"),
        (Box(0.9, 0.9, 0.3, 0.3), "is outside the picture"),
        ([(0.1, 0.1), (0.5, 0.5, 0.5), (0.2, 0.9)], "region point (0.5, 0.5, 0.5) is not an (x, y) pair"),
        ([(0.1, 0.1), ("0.5", 0.5), (0.2, 0.9)], "region point ('0.5', 0.5) is not an (x, y) pair"),
    ],
)
def test_bad_regions_are_refused(tmp_path: Path, region: object, named: str) -> None:
    with pytest.raises(MotionSearchError) as refused:
        search_motion([], region)  # type: ignore[arg-type]
    assert named in str(refused.value)


def test_a_file_that_is_not_a_video_is_named_in_a_clear_error(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.ts"
    garbage.write_bytes(b"\x47not a transport stream" * 400)
    empty = tmp_path / "empty.ts"
    empty.write_bytes(b"")

    for path in (garbage, empty, tmp_path / "missing.ts"):
        with pytest.raises(SegmentUnreadableError) as refused:
            search_motion([RecordedFile(path, T0)], ENTERED)
        assert str(path) in str(refused.value)


def test_a_segment_cut_before_its_first_picture_is_a_clear_error(tmp_path: Path) -> None:
    [whole] = write_segments(tmp_path, Scene(), seconds=(4.0,))
    cut = tmp_path / "cut.ts"
    cut.write_bytes(whole.read_bytes()[:600])  # the tables, not one video packet

    with pytest.raises(SegmentUnreadableError, match=r"cut\.ts"):
        search_motion([RecordedFile(cut, T0)], ENTERED)


def test_a_segment_cut_midway_is_searched_up_to_the_cut(tmp_path: Path) -> None:
    first, second = write_segments(tmp_path, Scene(enters_at=5.3))
    data = second.read_bytes()
    second.write_bytes(data[: len(data) * 3 // 4 + 77])  # mid-packet, like a crash while recording

    found = search_motion(recorded([first, second]), ENTERED)

    assert 6.0 < found.media_seconds < 8.0
    assert len(found.spans) == 1 and 4.3 <= offset(found.spans[0].start) <= 6.3
