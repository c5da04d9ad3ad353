"""Remuxing a camera's main stream into MPEG-TS segment files: never decoded, never transcoded.

Why MPEG-TS (see ``docs/recording.md``): every segment is self-contained (no shared init segment), a file cut by
``kill -9`` stays decodable up to the cut, and HLS plays it as is.

Promises:

- a segment starts on a keyframe and is cut on the first keyframe after ``segment_seconds``;
- it is written as ``<key>.partial``, hashed (SHA-256) as its bytes are written, fsynced and renamed to ``<key>``
  on close: a ``.ts`` file in the store is always complete, a ``.partial`` is what a crash left (see
  :mod:`vigie.recording.reconcile`);
- a discontinuity (``cut()``: reconnect, timestamp jump) ends the current segment; the next starts at the next
  keyframe, so a hole in the stream is a hole in the index, never hidden inside a segment.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from vigie.domain.recording import Segment, SegmentState

PARTIAL_SUFFIX = ".partial"
SEGMENT_SUFFIX = ".ts"
MUXER = "mpegts"
_KEY_TIME = "%Y%m%dT%H%M%S.%fZ"


class RecordingError(Exception):
    """A segment could not be written (disk full, permission, unwritable directory)."""


def segment_key(camera_id: str, start: datetime) -> str:
    """``<camera_id>/<YYYY>/<MM>/<DD>/<YYYYMMDDTHHMMSS.ffffffZ>.ts`` (UTC): sorted keys are sorted times."""
    utc = start.astimezone(UTC)
    return f"{camera_id}/{utc:%Y/%m/%d}/{utc.strftime(_KEY_TIME)}{SEGMENT_SUFFIX}"


def start_from_key(key: str) -> datetime | None:
    """The start time a key was named from, or None when the name is not a segment name."""
    name = key.rsplit("/", 1)[-1]
    stem = name.split(".ts", 1)[0]
    try:
        return datetime.strptime(stem, _KEY_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


class _HashingFile:
    """The file FFmpeg writes through: every byte is hashed and counted on its way to disk."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "wb", buffering=0)  # noqa: SIM115 - closed in close(); unbuffered, see SegmentFile
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self._file.write(data)

    def flush(self) -> None:
        self._file.flush()

    def sync_and_close(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def close(self) -> None:
        self._file.close()


class SegmentFile:
    """One MPEG-TS file being written at ``temp`` and renamed to ``final`` when finished."""

    def __init__(self, final: Path, temp: Path, template: Any) -> None:
        self.final, self.temp = final, temp
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            self._raw = _HashingFile(temp)
        except OSError as err:
            raise RecordingError(f"cannot write segment {temp}: {err}") from err
        # every packet reaches the kernel as soon as it is muxed (FFmpeg flushes, our file is unbuffered): a
        # kill -9 loses at most the packet being written, never seconds of buffered video
        self._output: Any = av.open(self._raw, "w", format=MUXER, container_options={"flush_packets": "1"})
        self._stream: Any = self._output.add_stream_from_template(template)
        self.packets = 0

    def mux(self, packet: Any) -> None:
        packet.stream = self._stream
        self._output.mux(packet)
        self.packets += 1

    def finish(self) -> tuple[int, str]:
        """Write the trailer, fsync, rename into place (fsyncing the directory); return (bytes, sha256)."""
        try:
            self._output.close()
            self._raw.sync_and_close()
            os.replace(self.temp, self.final)
            _fsync_dir(self.final.parent)
        except (OSError, av.FFmpegError) as err:
            raise RecordingError(f"cannot finish segment {self.final}: {err}") from err
        return self._raw.size, self._raw.sha256.hexdigest()

    def abandon(self) -> None:
        """Drop an empty or unusable file."""
        with contextlib.suppress(av.FFmpegError, OSError):
            self._output.close()
        self._raw.close()
        self.temp.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(slots=True)
class WriterCounters:
    segments: int = 0
    bytes: int = 0
    skipped_before_keyframe: int = 0
    """Packets dropped because no keyframe had started the segment yet (after a start or a gap)."""
    mux_errors: int = 0
    """Packets the muxer refused (dropped, counted, never a crash)."""


@dataclass(slots=True)
class _Open:
    file: SegmentFile
    key: str
    start: datetime
    end: datetime
    latest: datetime
    step: timedelta


CUT_TOLERANCE_S = 0.001
"""A keyframe this close before the segment length still ends the segment (rounding of packet times)."""


class SegmentWriter:
    """Cuts a stream of timed packets into segments under ``root`` (the local segment store directory).

    ``template`` is the input video stream: its codec parameters are copied to every segment, never re-encoded.
    ``write``, ``cut`` and ``close`` return the segment they finished, if any, to be indexed by the caller.
    """

    def __init__(self, camera_id: str, root: Path, template: Any, segment_seconds: float = 10.0) -> None:
        if segment_seconds <= 0:
            raise ValueError(f"segment_seconds must be positive, got {segment_seconds}")
        self.camera_id = camera_id
        self.root = Path(root)
        self.template = template
        self.segment_seconds = segment_seconds
        self.counters = WriterCounters()
        self._current: _Open | None = None
        self._tick_s: float | None = None
        """Seconds per tick of the packets' time base, read from the first packet with a duration."""

    @property
    def writing(self) -> str | None:
        """Key of the segment being written, if any."""
        return None if self._current is None else self._current.key

    def write(self, packet: Any, at: datetime) -> Segment | None:
        """Add one packet (an ``av.Packet`` of the template stream) whose wall-clock time is ``at``."""
        finished = None
        current = self._current
        # a keyframe exactly one length after the start cuts: packet times are floats turned into µs datetimes, so
        # "exactly" may read a microsecond short (it missed a third of such keyframes: 4-s segments of 4.6 s)
        elapsed = (at - current.start).total_seconds() if current is not None else 0.0
        if current is not None and packet.is_keyframe and elapsed >= self.segment_seconds - CUT_TOLERANCE_S:
            finished = self._finish(until=at)  # an unbroken stream: the segment lasts until the next one starts
            current = None
        if current is None:
            if not packet.is_keyframe:
                self.counters.skipped_before_keyframe += 1
                return finished
            current = self._current = self._open(at)
        self._extend(current, packet, at)
        try:
            current.file.mux(packet)
        except av.FFmpegError:
            self.counters.mux_errors += 1
        return finished

    def cut(self) -> Segment | None:
        """The stream broke (reconnect, timestamp jump): end the current segment here."""
        return self._finish() if self._current is not None else None

    def close(self) -> Segment | None:
        return self.cut()

    def _open(self, at: datetime) -> _Open:
        key = segment_key(self.camera_id, at)
        final = self.root / key
        file = SegmentFile(final, final.with_name(final.name + PARTIAL_SUFFIX), self.template)
        return _Open(file, key, at, at, at, timedelta(0))

    def _extend(self, current: _Open, packet: Any, at: datetime) -> None:
        """The end is the latest presentation time plus one frame (the packet's duration, else the last step)."""
        if at > current.latest:
            current.step = at - current.latest
            current.latest = at
        duration = packet.duration or 0
        step = current.step
        if duration > 0:
            tick = self._tick_s
            if tick is None:  # the stream's time base, read once (PyAV builds a Fraction at every read)
                tb: Fraction | None = packet.time_base
                tick = self._tick_s = None if tb is None else float(tb)
            if tick is not None:
                step = timedelta(seconds=duration * tick)
        current.end = max(current.end, at + step)

    def _finish(self, until: datetime | None = None) -> Segment | None:
        current, self._current = self._current, None
        if current is None:
            return None
        if current.file.packets == 0:
            current.file.abandon()
            return None
        size, sha = current.file.finish()
        self.counters.segments += 1
        self.counters.bytes += size
        end = until if until is not None and until > current.start else max(current.end, current.start)
        return Segment(self.camera_id, current.key, current.start, end, size, sha)


def describe_segment(root: Path, key: str, state: SegmentState, camera_id: str) -> Segment | None:
    """Read a finished segment file back (bytes, SHA-256, span from its packets, no decoding); None when it holds
    no timed video packet. Used to index files found on disk that the index does not know."""
    path = Path(root) / key
    start = start_from_key(key)
    if start is None:
        return None
    span = packet_span(path)
    if span is None:
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for chunk in iter(lambda: source.read(1024 * 1024), b""):
            digest.update(chunk)
    size = path.stat().st_size
    return Segment(camera_id, key, start, start + timedelta(seconds=span), size, digest.hexdigest(), state)


def packet_span(path: Path) -> float | None:
    """Seconds from the first to the end of the last video packet of a file (demux only), None if it has none."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            tb = stream.time_base
            if tb is None:
                return None
            first: float | None = None
            last = 0.0
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                t = float(packet.pts * tb)
                first = t if first is None else min(first, t)
                last = max(last, t + float((packet.duration or 0) * tb))
    except (av.FFmpegError, OSError):
        return None
    return None if first is None else last - first
