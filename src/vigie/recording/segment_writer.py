"""Remuxing a camera's main stream into MPEG-TS segment files: never decoded, never transcoded.

Why MPEG-TS (see ``docs/recording.md``): every segment is self-contained (no shared init segment), a file cut by
``kill -9`` stays decodable up to the cut, and HLS plays it as is.

Promises:

- a segment starts on a keyframe and is cut on the first keyframe after ``segment_seconds``;
- it is written as ``<key>.partial``, each packet reaching the kernel as soon as it is muxed; on close it is
  hashed (SHA-256 of the bytes stored), fsynced and renamed to ``<key>``: a ``.ts`` file in the store is always
  complete, a ``.partial`` is what a crash left (see :mod:`vigie.recording.reconcile`);
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


class SegmentFile:
    """One MPEG-TS file being written at ``temp`` and renamed to ``final`` when finished.

    FFmpeg writes the file itself (its own file I/O, no Python callback per write: with many streams in one process,
    each callback was a GIL round trip inside every mux) and flushes every packet to the kernel as soon as it is
    muxed, so a ``kill -9`` loses at most the packet being written, never seconds of buffered video. The SHA-256 is
    taken when the segment is finished, over the bytes stored (read back from the page cache in large chunks)."""

    def __init__(self, final: Path, temp: Path, template: Any) -> None:
        self.final, self.temp = final, temp
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            # "file:" so that no part of the path is read as a protocol name
            self._output: Any = av.open(f"file:{temp}", "w", format=MUXER, container_options={"flush_packets": "1"})
            self._stream: Any = self._output.add_stream_from_template(template)
            self._output.start_encoding()  # creates the file and writes the header now, not at the first packet
        except (OSError, av.FFmpegError) as err:
            raise RecordingError(f"cannot write segment {temp}: {err}") from err
        self.packets = 0

    def mux(self, packet: Any) -> None:
        packet.stream = self._stream
        self._output.mux_one(packet)
        self.packets += 1

    def finish(self) -> tuple[int, str]:
        """Write the trailer, hash and fsync, rename into place (fsyncing the directory); return (bytes, sha256)."""
        try:
            self._output.close()
            size, sha = _hash_and_sync(self.temp)
            os.replace(self.temp, self.final)
            _fsync_dir(self.final.parent)
        except (OSError, av.FFmpegError) as err:
            raise RecordingError(f"cannot finish segment {self.final}: {err}") from err
        return size, sha

    def abandon(self) -> None:
        """Drop an empty or unusable file."""
        with contextlib.suppress(av.FFmpegError, OSError):
            self._output.close()
        self.temp.unlink(missing_ok=True)


def _hash_and_sync(path: Path) -> tuple[int, str]:
    """(bytes, SHA-256) of a file just written, fsynced before it is renamed."""
    with open(path, "rb", buffering=0) as file:
        digest = hashlib.file_digest(file, "sha256")
        size = file.tell()
        os.fsync(file.fileno())
    return size, digest.hexdigest()


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
    """The segment being written; times are epoch seconds (floats: no datetime per packet), ``start`` exact."""

    file: SegmentFile
    key: str
    start: datetime
    start_s: float
    end_s: float
    latest_s: float
    step_s: float


CUT_TOLERANCE_S = 0.1
"""A keyframe this close before the segment length still ends the segment. A live stream's packet times are its
timestamps anchored on the least delayed packet seen so far (:mod:`vigie.ingest.packets`), an anchor that moves back
by a few milliseconds as the stream goes: a keyframe exactly one length after a segment's start then reads a little
short, and was skipped (4-s segments averaged 4.2–4.8 s, the soak's 10-s ones 11.1 s: a GOP more)."""


class SegmentWriter:
    """Cuts a stream of timed packets into segments under ``root`` (the local segment store directory).

    ``template`` is the input video stream: its codec parameters are copied to every segment, never re-encoded.
    ``write``, ``write_at``, ``cut`` and ``close`` return the segment they finished, if any, to be indexed by the
    caller.
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
        self._cut_after_s = segment_seconds - CUT_TOLERANCE_S
        self._tick_s: float | None = None
        """Seconds per tick of the packets' time base, read from the first packet with a duration."""

    @property
    def writing(self) -> str | None:
        """Key of the segment being written, if any."""
        return None if self._current is None else self._current.key

    def write(self, packet: Any, at: datetime) -> Segment | None:
        """Add one packet (an ``av.Packet`` of the template stream) whose wall-clock time is ``at``."""
        return self._write(packet, at.timestamp(), at)

    def write_at(self, packet: Any, at_s: float) -> Segment | None:
        """:meth:`write` with the wall-clock time as epoch seconds (the recorder's per-packet path: a segment's
        times become datetimes once, when it opens and ends, not at every packet)."""
        return self._write(packet, at_s, None)

    def _write(self, packet: Any, at_s: float, at: datetime | None) -> Segment | None:
        finished = None
        current = self._current
        is_keyframe = packet.is_keyframe
        # a keyframe one length after the start cuts, even read a little short (CUT_TOLERANCE_S)
        if current is not None and is_keyframe and at_s - current.start_s >= self._cut_after_s:
            finished = self._finish(at_s, at)  # an unbroken stream: the segment lasts until the next one starts
            current = None
        if current is None:
            if not is_keyframe:
                self.counters.skipped_before_keyframe += 1
                return finished
            current = self._current = self._open(at_s, at)
        # the end is the latest presentation time plus one frame (the packet's duration, else the last step)
        if at_s > current.latest_s:
            current.step_s = at_s - current.latest_s
            current.latest_s = at_s
        duration = packet.duration
        if duration:
            tick = self._tick_s
            if tick is None:  # the stream's time base, read once (PyAV builds a Fraction at every read)
                tb: Fraction | None = packet.time_base
                tick = self._tick_s = None if tb is None else float(tb)
            end_s = at_s + (duration * tick if duration > 0 and tick is not None else current.step_s)
        else:
            end_s = at_s + current.step_s
        current.end_s = max(current.end_s, end_s)
        try:
            current.file.mux(packet)
        except av.FFmpegError as err:
            if isinstance(err, OSError):  # the file, not the packet: disk full, I/O error
                raise RecordingError(f"cannot write segment {current.file.temp}: {err}") from err
            self.counters.mux_errors += 1  # the muxer refused this packet
        return finished

    def cut(self) -> Segment | None:
        """The stream broke (reconnect, timestamp jump): end the current segment here."""
        return self._finish() if self._current is not None else None

    def close(self) -> Segment | None:
        return self.cut()

    def _open(self, at_s: float, at: datetime | None) -> _Open:
        start = datetime.fromtimestamp(at_s, UTC) if at is None else at
        key = segment_key(self.camera_id, start)
        final = self.root / key
        file = SegmentFile(final, final.with_name(final.name + PARTIAL_SUFFIX), self.template)
        return _Open(file, key, start, at_s, at_s, at_s, 0.0)

    def _finish(self, until_s: float | None = None, until: datetime | None = None) -> Segment | None:
        current, self._current = self._current, None
        if current is None:
            return None
        if current.file.packets == 0:
            current.file.abandon()
            return None
        size, sha = current.file.finish()
        self.counters.segments += 1
        self.counters.bytes += size
        if until_s is not None and until_s > current.start_s:
            end = datetime.fromtimestamp(until_s, UTC) if until is None else until
        elif current.end_s > current.start_s:
            end = datetime.fromtimestamp(current.end_s, UTC)
        else:
            end = current.start
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
