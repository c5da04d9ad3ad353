"""Recording gaps as the operators' alarm sees them: found between segments, opened when a camera goes silent,
closed when recording resumes, withdrawn when late segments cover the silence (issue 17)."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.support.clocks import T0
from vigie.domain.recording import Segment
from vigie.recording.gaps import GapWatch

SEGMENT_S = 10.0


def seg(camera_id: str, start_s: float, seconds: float = SEGMENT_S) -> Segment:
    start = T0 + timedelta(seconds=start_s)
    return Segment(camera_id, f"{camera_id}/{start_s}.ts", start, start + timedelta(seconds=seconds), 1000, "0" * 64)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_contiguous_segments_make_no_gap_and_a_late_start_does() -> None:
    watch = GapWatch(SEGMENT_S)
    watch.expect("cam", T0)
    assert watch.segment(seg("cam", 0), at(10)) == []
    assert watch.segment(seg("cam", 10.3), at(20.3)) == [], "jitter within the tolerance is no gap"
    changes = watch.segment(seg("cam", 26.3), at(36.3))
    assert [(c.kind, c.gap.start, c.gap.end) for c in changes] == [("found", at(20.3), at(26.3))]
    assert [g.seconds(at(40)) for g in watch.recent(at(40))] == [6.0]
    assert watch.open_gaps() == [], "a gap found between two segments is already over"


def test_a_silent_camera_raises_an_alarm_cleared_by_its_next_segment() -> None:
    watch = GapWatch(SEGMENT_S)
    watch.expect("cam", T0)
    watch.expect("other", T0)
    watch.segment(seg("cam", 0), at(10))
    watch.segment(seg("other", 0), at(10))
    assert watch.check(at(30)) == [], "two segment lengths of silence are allowed"
    watch.segment(seg("other", 10), at(30))
    opened = watch.check(at(30.6))
    assert [(c.kind, c.gap.camera_id, c.gap.start) for c in opened] == [("opened", "cam", at(10))]
    assert [c.gap.camera_id for c in watch.check(at(40))] == [], "an open alarm is raised once"
    assert [g.camera_id for g in watch.open_gaps()] == ["cam"]

    closed = watch.segment(seg("cam", 52), at(62))
    assert [(c.kind, c.gap.start, c.gap.end) for c in closed] == [("closed", at(10), at(52))]
    assert watch.open_gaps() == []
    assert [(g.camera_id, g.seconds(at(70))) for g in watch.recent(at(70))] == [("cam", 42.0)]
    assert watch.recent(at(70), ["other"]) == []
    assert watch.recent(at(10 + 24 * 3600 + 53)) == [], "gaps older than 24 hours are not listed"


def test_late_segments_covering_the_silence_withdraw_the_alarm() -> None:
    watch = GapWatch(SEGMENT_S)
    watch.expect("cam", T0)
    watch.segment(seg("cam", 0), at(10))
    assert [c.kind for c in watch.check(at(31))] == ["opened"]
    changes = watch.segment(seg("cam", 10), at(32))  # queued behind an overloaded host: no footage is missing
    assert [c.kind for c in changes] == ["withdrawn"]
    assert watch.open_gaps() == [] and watch.recent(at(33)) == []


def test_a_camera_that_never_records_is_in_a_gap_from_when_it_should_have() -> None:
    watch = GapWatch(SEGMENT_S)
    watch.expect("cam", T0)
    assert [(c.kind, c.gap.start) for c in watch.check(at(21))] == [("opened", T0)]


def test_a_camera_no_longer_allowed_to_record_closes_its_alarm_and_is_not_watched() -> None:
    watch = GapWatch(SEGMENT_S)
    watch.expect("cam", T0)
    watch.check(at(25))
    released = watch.release("cam", at(40))
    assert [(c.kind, c.gap.end) for c in released] == [("closed", at(40))]
    assert watch.check(at(100)) == [] and watch.segment(seg("cam", 100), at(110)) == []
    watch.expect("cam", at(200))  # allowed again: watched from then
    assert watch.check(at(215)) == []
    assert [c.gap.start for c in watch.check(at(221))] == [at(200)]


def test_the_history_is_bounded() -> None:
    watch = GapWatch(1.0, max_kept=3)
    watch.expect("cam", T0)
    for n in range(10):
        watch.segment(seg("cam", n * 3, 1.0), at(n * 3 + 1))
    assert len(watch.recent(at(40))) == 3
