"""Motion in a region over a camera's footage in chunks (issue 22): searched a few seconds of footage at a time, the
spans found are those of one search through, a span across a chunk boundary is one span, progress moves after
each chunk, and spans are kept within the window asked. Real footage: the car clip cut into recorded segments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.analytics.onnx_models import DATA, require
from tests.support.clip_segments import cut_segments
from vigie.analytics.forensics.motion_footage import FootageMotionSearch, chunks
from vigie.analytics.forensics.motion_region import MotionSearchParams, MotionSpan, RecordedFile, search_motion

T0 = datetime(2026, 3, 14, 14, 0, tzinfo=UTC)  # the footage's own time; nothing compares it with today
CLIP = DATA / "video" / "car-detection.mp4"
RED_CAR_PATH = [(0.45, 0.05), (0.65, 0.05), (0.65, 0.95), (0.45, 0.95)]
"""Where the red car drives up the picture, between 14 s and 20 s of the clip."""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[RecordedFile]:
    return cut_segments(require(CLIP), tmp_path_factory.mktemp("clip"), T0, seconds=2.0, limit=21.0)


def seconds(spans: list[MotionSpan]) -> list[float]:
    """Start and end of each span, in seconds of footage, one after the other."""
    return [(at - T0).total_seconds() for s in spans for at in (s.start, s.end)]


def test_chunks_are_led_by_the_footage_of_the_warm_up(tmp_path: Path) -> None:
    files = [RecordedFile(tmp_path / f"{n}.ts", T0 + timedelta(seconds=10 * n)) for n in range(7)]
    at = [f.start for f in files]

    runs = chunks(list(reversed(files)), timedelta(seconds=30), timedelta(seconds=15))

    assert runs == [(at[0], files[0:3]), (at[3], files[1:6]), (at[6], files[4:7])]
    assert chunks(files[:1], timedelta(seconds=30)) == [(at[0], files[:1])]
    assert chunks([], timedelta(seconds=30)) == []


def test_a_search_in_chunks_finds_what_one_search_through_finds(files: list[RecordedFile]) -> None:
    params = MotionSearchParams()
    through = list(search_motion(files, RED_CAR_PATH, params).spans)
    reported: list[float] = []

    # chunks of 5 s, each after the first read again from the start (the warm-up is longer than the clip)
    chunked = FootageMotionSearch(lambda _c, _s, _e: files, chunk=timedelta(seconds=5)).search(
        "vil-1", T0, T0 + timedelta(seconds=21), RED_CAR_PATH, params, reported.append
    )

    assert len(reported) >= 3 and reported == sorted(reported) and reported[-1] == 1.0
    assert seconds(chunked) == pytest.approx(seconds(through), abs=params.step_seconds), (chunked, through)
    red = [s for s in chunked if s.start < T0 + timedelta(seconds=20) and s.end > T0 + timedelta(seconds=14)]
    assert len(red) == 1, chunked  # crossing chunk boundaries, it is still one span


def test_spans_are_kept_within_the_window_asked(files: list[RecordedFile]) -> None:
    search = FootageMotionSearch(lambda _c, _s, _e: files)
    window = (T0 + timedelta(seconds=16), T0 + timedelta(seconds=18))

    found = search.search("vil-1", *window, RED_CAR_PATH, MotionSearchParams())

    assert [(s.start, s.end) for s in found] == [window]
    assert window[0] <= found[0].peak <= window[1]
