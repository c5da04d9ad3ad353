"""Reading a camera's MAIN stream as demuxed packets, for recording: never decoded, never transcoded.

This runs inside a recorder worker process, supervised from outside like the analysis worker (a stuck FFmpeg read
is killed, never waited on). Timestamps are checked on the way: a packet whose DTS does not increase is dropped
(a muxer would refuse it) and counted; a jump forward or backward beyond ``max_jump_s`` is a discontinuity (the
segment being written ends there, the next one starts after it, so the hole is visible in the index). Nothing
here raises anything but :class:`CameraError`, whose message never carries credentials.

Wall-clock time of a packet = its PTS mapped onto our clock (UTC): the camera's clock is trusted for spacing,
ours for the anchor. The anchor is the first packet's arrival (after the stream opened or after a discontinuity);
on a live stream it moves to any packet that arrives earlier than predicted (the first packets of an RTSP session
often arrive late, in a burst), so a recorded time is never later than the packet's arrival.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

import av

from vigie.domain.clock import Clock
from vigie.domain.redact import redact_text, redact_url
from vigie.ingest.reader import LIVE_SCHEMES, CameraError, pyav_timeouts, rtsp_options


@dataclass(frozen=True, slots=True)
class PacketSpec:
    """What a recorder needs to read one camera's main stream."""

    camera_id: str
    url: str
    open_timeout_s: float = 10.0
    read_timeout_s: float = 10.0
    max_jump_s: float = 5.0
    """A DTS step larger than this (either way) is a discontinuity rather than a late or early packet."""
    replay: bool = True
    """``file://`` sources only: paced to real time and looped like a live camera (False: read once, fast)."""
    options: tuple[tuple[str, str], ...] = ()
    """FFmpeg options of an ``http://`` source (a node's tap relay: its ``Authorization`` header, never in the URL)."""


class TimestampVerdict(enum.Enum):
    OK = "ok"
    NON_MONOTONIC = "non_monotonic"
    """DTS did not increase (by less than the jump threshold): the packet is dropped."""
    JUMP = "jump"
    """DTS moved by more than the threshold: a discontinuity, the timeline restarts at this packet."""


@dataclass(slots=True)
class TimestampCheck:
    """Checks successive DTS values (seconds) of one stream; pure, counts what it saw."""

    max_jump_s: float = 5.0
    last_dts: float | None = None
    non_monotonic: int = 0
    jumps: int = 0

    def check(self, dts_s: float) -> TimestampVerdict:
        last = self.last_dts
        if last is None:
            self.last_dts = dts_s
            return TimestampVerdict.OK
        step = dts_s - last
        if abs(step) > self.max_jump_s:
            self.jumps += 1
            self.last_dts = dts_s
            return TimestampVerdict.JUMP
        if step <= 0:
            self.non_monotonic += 1
            return TimestampVerdict.NON_MONOTONIC
        self.last_dts = dts_s
        return TimestampVerdict.OK


@dataclass(frozen=True, slots=True)
class TimedPacket:
    """One demuxed video packet (an ``av.Packet``) with its wall-clock time."""

    packet: Any
    at: datetime
    discontinuity: bool = False
    """True when the stream's timeline broke just before this packet: the current segment must end."""


@dataclass(slots=True)
class PacketCounters:
    """What a recorder reports about its input (sent in recording health)."""

    packets: int = 0
    bytes: int = 0
    untimed: int = 0
    timestamps: TimestampCheck = field(default_factory=TimestampCheck)


def _target(spec: PacketSpec) -> tuple[str, dict[str, str], bool]:
    parts = urlsplit(spec.url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        path = unquote(parts.path)
        if not Path(path).is_file():
            raise CameraError(f"camera {spec.camera_id}: no such file {path!r}; check the main stream URL")
        return path, {}, False
    if scheme.startswith("rtsp") and scheme in LIVE_SCHEMES:
        return spec.url, rtsp_options(spec.read_timeout_s), True
    if scheme in LIVE_SCHEMES:
        return spec.url, dict(spec.options), True
    if scheme == "unix":  # a recorder's live tap (vigie.ingest.tap): the masked stream, local; never from config
        return spec.url, {}, True
    raise CameraError(
        f"camera {spec.camera_id}: unsupported stream URL scheme {scheme!r} in {redact_url(spec.url)}; "
        "use rtsp://, rtsps://, http(s):// or file://"
    )


class MainStream:
    """An open main stream: ``video`` is the input stream (the template a segment's output stream is copied
    from), ``packets()`` yields timed video packets until the stream ends (then :class:`CameraError`, for a live
    source) or the caller stops. Use as a context manager."""

    def __init__(self, spec: PacketSpec, clock: Clock) -> None:
        """``clock`` (the service's) anchors the stream's timestamps to wall time."""
        self.spec = spec
        self._clock = clock
        target, options, self.live = _target(spec)
        timeout = pyav_timeouts(options, spec.open_timeout_s, spec.read_timeout_s)  # FFmpeg's own on RTSP
        try:
            self._container: Any = av.open(target, options=options, timeout=timeout)
        except (av.FFmpegError, OSError, UnicodeDecodeError) as err:
            raise CameraError(f"camera {spec.camera_id}: cannot open {redact_url(spec.url)}: {_why(err)}") from err
        if not self._container.streams.video:
            self._container.close()
            raise CameraError(f"camera {spec.camera_id}: {redact_url(spec.url)} has no video stream")
        self.video: Any = self._container.streams.video[0]
        self.counters = PacketCounters(timestamps=TimestampCheck(spec.max_jump_s))

    def __enter__(self) -> MainStream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def packets(self) -> Iterator[TimedPacket]:
        """Timed, checked video packets; a live source that ends raises :class:`CameraError` ("stream ended")."""
        for packet, at, broke in self.timed():
            yield TimedPacket(packet, datetime.fromtimestamp(at, UTC), discontinuity=broke)

    def timed(self) -> Iterator[tuple[Any, float, bool]]:
        """:meth:`packets` as ``(packet, wall-clock epoch seconds, discontinuity)``: the recorder's per-packet path,
        with no object built per packet."""
        try:
            yield from self._timed(self._container.demux(self.video) if self.live else self._raw())
        except av.FFmpegError as err:
            raise CameraError(f"camera {self.spec.camera_id}: stream error: {_why(err)}") from err
        if self.live:
            raise CameraError(f"camera {self.spec.camera_id}: stream ended")

    def _raw(self) -> Iterator[Any]:
        """Demuxed packets; a replayed file is paced to real time and looped, its timestamps shifted so they
        continue across the loop."""
        tb = float(self.video.time_base)
        shift = 0
        started = time.monotonic()
        while True:
            end = shift
            for packet in self._container.demux(self.video):
                if packet.dts is None and packet.pts is None:
                    continue  # the demuxer's end-of-stream flush packet
                if shift:
                    packet.pts = None if packet.pts is None else packet.pts + shift
                    packet.dts = None if packet.dts is None else packet.dts + shift
                stamp = packet.dts if packet.dts is not None else packet.pts
                end = max(end, stamp + max(packet.duration or 0, 1))
                if not self.live and self.spec.replay:
                    delay = started + stamp * tb - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                yield packet
            if self.live or not self.spec.replay or end == shift:
                return
            shift = end
            self._container.seek(0)

    def _timed(self, packets: Iterator[Any]) -> Iterator[tuple[Any, float, bool]]:
        counters, check = self.counters, self.counters.timestamps
        clock, live, max_jump = self._clock, self.live, check.max_jump_s
        offset: float | None = None  # wall-clock seconds minus PTS seconds
        tb = float(self.video.time_base)  # a float, not a Fraction: per packet, Fraction arithmetic was a third of
        # the Python cost of recording (exact enough: a 90 kHz PTS of 2^33 is < 2^53)
        for packet in packets:
            pts = packet.pts
            if pts is None:
                if packet.dts is not None:  # (both None: the demuxer's end-of-stream flush packet)
                    counters.untimed += 1
                continue
            dts = packet.dts
            if dts is None:
                packet.dts = dts = pts
            dts_s = dts * tb
            last = check.last_dts
            if last is not None and 0 < dts_s - last <= max_jump:  # the common case, inline
                check.last_dts = dts_s
                broke = False
            else:
                verdict = check.check(dts_s)
                if verdict is TimestampVerdict.NON_MONOTONIC:
                    continue
                broke = verdict is TimestampVerdict.JUMP
            pts_s = pts * tb
            seen = clock().timestamp() - pts_s
            if offset is None or broke:
                offset = seen
            elif live and seen < offset:
                offset = seen  # the least delayed packet so far says best when frames were taken
            counters.packets += 1
            counters.bytes += packet.size
            yield packet, offset + pts_s, broke


def _why(err: BaseException) -> str:
    return redact_text(str(err)) or type(err).__name__
