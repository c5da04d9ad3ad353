"""The segment writer on real H.264: keyframe cuts, keys, hashes, gaps, and a remux that copies the bitstream."""

from __future__ import annotations

import hashlib
import itertools
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.recording.media import SIZE, codec_parameters, decoded, packet_bytes, write_h264
from vigie.domain.recording import Segment, SegmentState
from vigie.ingest.packets import MainStream, PacketSpec, TimestampCheck, TimestampVerdict
from vigie.ingest.reader import CameraError
from vigie.recording.segment_writer import (
    RecordingError,
    SegmentWriter,
    describe_segment,
    segment_key,
    start_from_key,
)
from vigie.runtime.clock import system_clock

KEY = re.compile(r"^cam1/\d{4}/\d{2}/\d{2}/\d{8}T\d{6}\.\d{6}Z\.ts$")


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_h264(tmp_path_factory.mktemp("src") / "six_seconds.ts")


def record(source: Path, root: Path, seconds: float, cut_after: float | None = None) -> list[Segment]:
    segments: list[Segment] = []
    with MainStream(PacketSpec("cam1", source.as_uri(), replay=False), system_clock) as stream:
        writer = SegmentWriter("cam1", root, stream.video, segment_seconds=seconds)
        first: datetime | None = None
        for item in stream.packets():
            first = first or item.at
            if cut_after is not None and item.at - first >= timedelta(seconds=cut_after):
                segments += [s for s in [writer.cut()] if s]
                cut_after = None
            segments += [s for s in [writer.write(item.packet, item.at)] if s]
        segments += [s for s in [writer.close()] if s]
        assert stream.counters.timestamps.non_monotonic == 0
    return segments


def test_segments_are_cut_on_keyframes_named_hashed_and_contiguous(source: Path, tmp_path: Path) -> None:
    segments = record(source, tmp_path, seconds=2.0)
    assert len(segments) == 3
    for segment in segments:
        assert KEY.match(segment.key), segment.key
        path = tmp_path / segment.key
        assert path.is_file() and not path.with_name(path.name + ".partial").exists()
        assert segment.bytes == path.stat().st_size
        assert segment.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert segment.state is SegmentState.COMPLETE
        assert start_from_key(segment.key) == segment.start
        assert segment.seconds == pytest.approx(2.0, abs=0.01)
    for before, after in itertools.pairwise(segments):
        assert after.start == before.end, "no hole and no overlap between segments of an unbroken stream"
    assert list(tmp_path.rglob("*.partial")) == []


def test_remux_copies_the_bitstream_frame_for_frame(source: Path, tmp_path: Path) -> None:
    segments = record(source, tmp_path, seconds=2.0)
    paths = [tmp_path / s.key for s in segments]
    frames = [f for p in paths for f in decoded(p)]
    assert frames == decoded(source), "same frames, same pixels: nothing was re-encoded"
    assert all(w == SIZE[0] and h == SIZE[1] for w, h, _ in frames)
    for p in paths:
        assert codec_parameters(p) == codec_parameters(source)
    # every source packet's bytes are in the segment packet at the same position (the TS muxer may add an AUD)
    copied = [b for p in paths for b in packet_bytes(p)]
    original = packet_bytes(source)
    assert len(copied) == len(original)
    assert all(src in out for src, out in zip(original, copied, strict=True))


def test_a_gap_ends_the_segment_and_the_next_starts_on_a_keyframe(source: Path, tmp_path: Path) -> None:
    segments = record(source, tmp_path, seconds=10.0, cut_after=2.5)
    assert len(segments) == 2
    first, second = segments
    assert first.seconds == pytest.approx(2.5, abs=0.01)
    assert second.start - first.start == timedelta(seconds=3), "packets before the next keyframe are skipped"
    assert second.seconds == pytest.approx(3.0, abs=0.01)


def test_describe_reads_back_what_the_writer_wrote(source: Path, tmp_path: Path) -> None:
    (segment,) = record(source, tmp_path, seconds=60.0)
    found = describe_segment(tmp_path, segment.key, SegmentState.COMPLETE, "cam1")
    assert found is not None
    assert (found.key, found.bytes, found.sha256, found.start) == (
        segment.key,
        segment.bytes,
        segment.sha256,
        segment.start,
    )
    assert found.end.timestamp() == pytest.approx(segment.end.timestamp(), abs=0.01)


def test_keys_round_trip_to_microseconds() -> None:
    start = datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=UTC)
    assert segment_key("cam-9", start) == "cam-9/2026/03/04/20260304T050607.891234Z.ts"
    assert start_from_key(segment_key("cam-9", start)) == start
    assert start_from_key("cam-9/2026/03/04/whatever.ts") is None


def test_timestamp_check_drops_non_monotonic_and_flags_jumps() -> None:
    check = TimestampCheck(max_jump_s=5.0)
    verdicts = [check.check(t) for t in [0.0, 0.1, 0.1, 0.05, 0.2, 12.0, 12.1, 3.0, 3.1]]
    ok, back, jump = TimestampVerdict.OK, TimestampVerdict.NON_MONOTONIC, TimestampVerdict.JUMP
    assert verdicts == [ok, ok, back, back, ok, jump, ok, jump, ok]
    assert (check.non_monotonic, check.jumps) == (2, 2)


def test_unreadable_sources_raise_camera_error_without_credentials(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.ts"
    garbage.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(CameraError, match="cannot open"):
        MainStream(PacketSpec("cam1", garbage.as_uri()), system_clock)
    with pytest.raises(CameraError, match="no such file"):
        MainStream(PacketSpec("cam1", (tmp_path / "none.ts").as_uri()), system_clock)
    with pytest.raises(CameraError) as err:
        MainStream(PacketSpec("cam1", "rtsp://admin:hunter2@127.0.0.1:9/main", open_timeout_s=2), system_clock)
    assert "hunter2" not in str(err.value) and "admin" not in str(err.value)
    assert "127.0.0.1:9" in str(err.value)


@pytest.mark.parametrize(
    ("short", "cut"),
    [(timedelta(microseconds=1), True), (timedelta(milliseconds=30), True), (timedelta(seconds=0.3), False)],
)
def test_a_keyframe_read_a_little_short_of_the_length_still_cuts(
    source: Path, tmp_path: Path, short: timedelta, cut: bool
) -> None:
    """A live stream's packet times move back by a few ms as its anchor (the least delayed packet) improves, and
    floats become µs datetimes: a keyframe one length after the start can read a little short, and was skipped (the
    segment then lasted a GOP more: 4-s segments averaged 4.2–4.8 s). A keyframe well short of it does not cut."""
    with MainStream(PacketSpec("cam1", source.as_uri(), replay=False), system_clock) as stream:
        items = list(itertools.islice(stream.packets(), 35))
        writer = SegmentWriter("cam1", tmp_path, stream.video, segment_seconds=2.0)
        start = items[0].at
        segments = []
        for n, item in enumerate(items):
            at = start + timedelta(seconds=n / 10) - (short if n >= 20 else timedelta(0))
            segments += [s for s in [writer.write(item.packet, at)] if s]
    assert items[20].packet.is_keyframe, "one keyframe a second at 10 fps: frame 20 starts the third second"
    if cut:
        assert len(segments) == 1 and segments[0].seconds == pytest.approx(2.0 - short.total_seconds(), abs=0.001)
    else:
        # a keyframe 0.3 s short of the length is left inside the segment, which ends at the next one (3 s - 0.3)
        assert len(segments) == 1 and segments[0].seconds == pytest.approx(2.7, abs=0.001)


def test_epoch_seconds_path_writes_the_same_segments_as_datetimes(source: Path, tmp_path: Path) -> None:
    """The recorder's per-packet path (``MainStream.timed`` + ``write_at``, no datetime per packet) names, cuts,
    times and hashes segments exactly as ``packets`` + ``write`` do."""
    by_datetime = record(source, tmp_path / "a", seconds=2.0)
    fast: list[Segment] = []
    with MainStream(PacketSpec("cam1", source.as_uri(), replay=False), system_clock) as stream:
        writer = SegmentWriter("cam1", tmp_path / "b", stream.video, segment_seconds=2.0)
        for packet, at, broke in stream.timed():
            assert not broke
            fast += [s for s in [writer.write_at(packet, at)] if s]
        fast += [s for s in [writer.close()] if s]
    assert len(fast) == len(by_datetime) == 3
    for a, b in zip(by_datetime, fast, strict=True):
        assert b.seconds == pytest.approx(a.seconds, abs=1e-6) and b.bytes == a.bytes and b.sha256 == a.sha256
        assert start_from_key(b.key) == b.start
        assert b.sha256 == hashlib.sha256((tmp_path / "b" / b.key).read_bytes()).hexdigest()
    for before, after in itertools.pairwise(fast):
        assert after.start == before.end


def test_a_segment_that_cannot_be_stored_is_an_error_not_a_dropped_packet(source: Path, tmp_path: Path) -> None:
    """Disk full (the partial file is /dev/full): a recording error for the recorder to report, never packets
    silently counted as refused by the muxer."""
    with MainStream(PacketSpec("cam1", source.as_uri(), replay=False), system_clock) as stream:
        packet, at, _ = next(stream.timed())
        assert packet.is_keyframe
        writer = SegmentWriter("cam1", tmp_path, stream.video, segment_seconds=2.0)
        partial = tmp_path / (segment_key("cam1", datetime.fromtimestamp(at, UTC)) + ".partial")
        partial.parent.mkdir(parents=True)
        partial.symlink_to("/dev/full")
        with pytest.raises(RecordingError, match="cannot write segment"):
            writer.write_at(packet, at)
    assert writer.counters.mux_errors == 0
