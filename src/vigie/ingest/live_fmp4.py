"""Live view without transcoding: the camera's own H.264, repackaged as fragmented MP4 for Media Source Extensions.

One reader per camera stream, shared by everyone watching it (like :mod:`vigie.ingest.live`): it starts with the
first viewer and stops ``idle_s`` after the last. It demuxes (never decodes) the stream with PyAV and cuts it
into an *init segment* (``ftyp`` + ``moov``, written once per stream opening by FFmpeg's MP4 muxer from the
stream's SPS/PPS) and one *fragment* (``moof`` + ``mdat``) per frame, written here as soon as the frame's packet
arrives. FFmpeg's own fragmenter (``movflags=frag_every_frame``) holds each frame until the next one arrives,
to know its duration: a frame interval of delay (40 ms at 25 fps, 100 ms on a 10-fps sub stream) that a live view
does not need; a fragment here takes the previous interval as its duration, and its decode time comes from the
camera's timestamps, so the timeline is right either way.

A viewer receives the init segment, then fragments from a keyframe: the current group of pictures (GOP) is kept
(one per stream, a second or two of H.264) so a new viewer starts at once from the last keyframe and the player
jumps to the live edge (``keep_gop=False``: it waits for the next keyframe instead). Each viewer has a bounded
queue (``viewer_buffer_bytes``): a viewer too slow to take what arrives loses its queue and resumes at the next
keyframe, never holding the others nor queueing without bound; what it lost is counted (:attr:`Fmp4Viewer.dropped`).

Where the stream is read: a recorded camera's main stream from its recorder's live tap (:mod:`vigie.ingest.tap`,
``unix:``), so one camera session serves recording and live; a camera's sub stream (the wall) from the camera.
A feed with a ``fallback_url`` (an unmasked camera's own main stream) reads it whenever the tap cannot be read
(the recorder restarting, stuck or not running: a live view never stays dead because of its recorder), looks
every ``tap_probe_s`` whether the tap listens again and goes back to it; the viewer's timeline goes on across the
switch (a freeze of at most one GOP, while the new source reaches a keyframe).

Privacy masks (L6) cannot be applied to a stream that is not decoded: a camera with masks is passed through only
from its recorder's tap, where the masks are burnt in, never with a fallback to its own streams (without a tap
the live view shows it as masked MJPEG, :mod:`vigie.ingest.live`). :meth:`Fmp4Hub.feed` refuses any camera it
was not given a spec for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import av

from vigie.domain.clock import Clock
from vigie.domain.ports import LiveQuality
from vigie.domain.redact import redact_text
from vigie.ingest.packets import MainStream, PacketSpec
from vigie.ingest.reader import CameraError
from vigie.ingest.tap import tap_listening

log = logging.getLogger(__name__)

TIMESCALE = 90_000
"""Ticks per second of the MP4 track (RTP's video clock)."""
MAX_STEP = TIMESCALE
"""A step between two frames' decode times longer than this (1 s), or backwards, is a break in the camera's
timeline: the fragments go on from the previous one instead of leaving a gap the player would stall in."""
_START = b"\x00\x00\x01"
_AUD, _SPS, _PPS, _IDR = 9, 7, 8, 5


@dataclass(frozen=True, slots=True)
class Fmp4Spec:
    """One stream as it is passed through to the browser."""

    camera_id: str
    url: str
    idle_s: float = 5.0
    """How long the stream stays open after its last viewer left."""
    keep_gop: bool = True
    """Give a new viewer the current GOP (it starts at once) rather than make it wait for the next keyframe."""
    viewer_buffer_bytes: int = 4 << 20
    """A viewer whose queue would grow past this loses it and resumes at the next keyframe."""
    gop_cache_bytes: int = 8 << 20
    """A GOP larger than this is not kept (a new viewer then waits for the next keyframe)."""
    open_timeout_s: float = 10.0
    read_timeout_s: float = 10.0
    fallback_url: str | None = None
    """Read instead of ``url`` (a recorder's tap) while the tap cannot be read: the camera's own stream. Never set
    for a masked camera (its own streams are raw, L6)."""
    tap_probe_s: float = 5.0
    """While reading the fallback, how often to look whether the tap listens again."""


def listening(url: str) -> bool:
    """Whether ``url`` may be opened now: a tap (``unix:``) only while its recorder listens; anything else is
    tried (its failures are the camera's own)."""
    if url.startswith("unix:"):
        return tap_listening(Path(url.removeprefix("unix:")))
    return True


# --- H.264 parameter sets and the MP4 boxes -----------------------------------------------------------------------


def nal_units(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B byte stream (start codes removed)."""
    units = []
    at = data.find(_START)
    while at >= 0:
        start = at + 3
        nxt = data.find(_START, start)
        unit = data[start:] if nxt < 0 else data[start:nxt].rstrip(b"\x00")
        if unit:
            units.append(unit)
        at = nxt
    return units


def parameter_sets(data: bytes) -> tuple[bytes, bytes] | None:
    """(SPS, PPS) from ``avcC`` extradata or from Annex B bytes (extradata or a keyframe); None when absent."""
    sps: list[bytes] = []
    pps: list[bytes] = []
    if data[:1] == b"\x01" and len(data) > 6:  # avcC (ISO 14496-15)
        try:
            pos = 6
            for into in (sps, pps):
                count = data[5] & 0x1F if into is sps else data[pos]
                pos += 0 if into is sps else 1
                for _ in range(count):
                    size = int.from_bytes(data[pos : pos + 2], "big")
                    into.append(data[pos + 2 : pos + 2 + size])
                    pos += 2 + size
        except IndexError:
            return None
    else:
        for unit in nal_units(data):
            kind = unit[0] & 0x1F
            if kind == _SPS:
                sps.append(unit)
            elif kind == _PPS:
                pps.append(unit)
    if not sps or not pps or len(sps[0]) < 4:
        return None
    return sps[0], pps[0]


def codec_string(sps: bytes) -> str:
    """The RFC 6381 codec of a stream (``avc1.PPCCLL``: profile, constraint flags, level from the SPS)."""
    return f"avc1.{sps[1]:02x}{sps[2]:02x}{sps[3]:02x}"


def nal_length_size(extradata: bytes | None) -> int:
    """0 when the stream's packets are Annex B (start codes), else the size of their NAL length prefixes."""
    if extradata and extradata[:1] == b"\x01" and len(extradata) > 4:
        return (extradata[4] & 0x03) + 1
    return 0


def sample_bytes(packet: bytes, length_size: int) -> bytes:
    """A packet as an MP4 sample: NAL units with 4-byte length prefixes, access unit delimiters left out."""
    if length_size == 4:
        return packet
    if length_size == 0:
        units = nal_units(packet)
    else:
        units, pos = [], 0
        while pos + length_size <= len(packet):
            size = int.from_bytes(packet[pos : pos + length_size], "big")
            units.append(packet[pos + length_size : pos + length_size + size])
            pos += length_size + size
    return b"".join(len(u).to_bytes(4, "big") + u for u in units if u and u[0] & 0x1F != _AUD)


class _Sink:
    """A write-only file for FFmpeg's muxer that keeps what it is given."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, chunk: bytes) -> int:
        self.data += chunk
        return len(chunk)

    def seekable(self) -> bool:
        return False


def init_segment(sps: bytes, pps: bytes, width: int, height: int) -> bytes:
    """``ftyp`` + ``moov`` of a fragmented MP4 with one H.264 track (id 1, :data:`TIMESCALE`), by FFmpeg's muxer."""
    sink = _Sink()
    container: Any = av.open(
        sink, "w", format="mp4", options={"movflags": "empty_moov+default_base_moof+frag_keyframe"}
    )
    try:
        stream = container.add_mux_stream("h264", width=width, height=height)
        stream.time_base = Fraction(1, TIMESCALE)
        packet = av.Packet(b"".join(b"\x00\x00\x00\x01" + unit for unit in (sps, pps)))
        packet.stream, packet.pts, packet.dts, packet.time_base = stream, 0, 0, Fraction(1, TIMESCALE)
        packet.is_keyframe = True
        container.mux(packet)  # the muxer takes the parameter sets from it and writes its header
        header = bytes(sink.data)
    finally:
        with contextlib.suppress(av.FFmpegError):  # the throwaway packet's trailer; the header is what counts
            container.close()
    if b"moov" not in header:
        raise CameraError("the MP4 muxer wrote no header for this stream")
    return header


def _box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I", 8 + len(body)) + kind + body


def fragment(sequence: int, decode_time: int, duration: int, offset: int, *, keyframe: bool, sample: bytes) -> bytes:
    """``moof`` + ``mdat`` of one sample of track 1 (times in :data:`TIMESCALE` ticks, ``offset`` = PTS - DTS)."""
    flags = 0x02000000 if keyframe else 0x01010000  # depends on nothing / depends on others, not a sync sample
    mfhd = _box(b"mfhd", struct.pack(">II", 0, sequence))
    tfhd = _box(b"tfhd", struct.pack(">II", 0x020000, 1))  # default-base-is-moof, track 1
    tfdt = _box(b"tfdt", struct.pack(">IQ", 0x01000000, decode_time))
    trun_size = 8 + 4 + 4 + 4 + 16
    moof_size = 8 + len(mfhd) + 8 + len(tfhd) + len(tfdt) + trun_size
    trun = _box(b"trun", struct.pack(">IIiIIIi", 0x01000F01, 1, moof_size + 8, duration, len(sample), flags, offset))
    return _box(b"moof", mfhd, _box(b"traf", tfhd, tfdt, trun)) + struct.pack(">I", 8 + len(sample)) + b"mdat" + sample


# --- What viewers receive -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fmp4Init:
    """The start of a stream as the browser needs it: its codec (for ``MediaSource.isTypeSupported``) and the
    init segment."""

    codec: str
    width: int
    height: int
    data: bytes

    @property
    def mime(self) -> str:
        return f'video/mp4; codecs="{self.codec}"'

    @property
    def header(self) -> dict[str, object]:
        """What the browser is told before the init segment."""
        return {"codec": self.codec, "mime": self.mime, "width": self.width, "height": self.height}


@dataclass(frozen=True, slots=True)
class Fmp4Fragment:
    seq: int
    """Increases by one per fragment of the feed, across stream reopenings."""
    data: bytes
    keyframe: bool

    @property
    def header(self) -> None:
        return None


Fmp4Item = Fmp4Init | Fmp4Fragment


@dataclass(eq=False, slots=True)
class Fmp4Viewer:
    """One person's queue of what to send them; used only on the event loop it was made on."""

    loop: asyncio.AbstractEventLoop
    limit: int
    queue: deque[Fmp4Item] = field(default_factory=deque)
    queued_bytes: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    init: Fmp4Init | None = None
    last_seq: int = 0
    needs_keyframe: bool = True
    dropped: int = 0
    """Fragments this viewer lost because it did not keep up."""
    sent: int = 0
    """Fragments handed to it."""

    def offer(self, item: Fmp4Item) -> None:
        if isinstance(item, Fmp4Init):
            if self.init is not None and item.data == self.init.data:
                return  # the stream was reopened with the same parameters: the player goes on as it was
            self.init, self.needs_keyframe = item, True
            self.dropped += sum(isinstance(i, Fmp4Fragment) for i in self.queue)
            self.queue.clear()
            self.queued_bytes = 0
            self.queue.append(item)
            self.ready.set()
            return
        if item.seq <= self.last_seq or self.init is None:
            return
        self.last_seq = item.seq
        if self.needs_keyframe and not item.keyframe:
            return
        if self.queued_bytes + len(item.data) > self.limit:  # too slow: start again at the next keyframe
            lost = [i for i in self.queue if isinstance(i, Fmp4Fragment)]
            self.dropped += len(lost)
            self.queue = deque(i for i in self.queue if isinstance(i, Fmp4Init))
            self.queued_bytes = 0
            if not item.keyframe:
                self.needs_keyframe = True
                self.dropped += 1
                return
        self.needs_keyframe = False
        self.queue.append(item)
        self.queued_bytes += len(item.data)
        self.ready.set()

    def take(self) -> list[Fmp4Item]:
        items = list(self.queue)
        self.queue.clear()
        self.queued_bytes = 0
        self.sent += sum(isinstance(i, Fmp4Fragment) for i in items)
        return items


class PacketStream(Protocol):
    """An open stream of demuxed packets (:class:`vigie.ingest.packets.MainStream`)."""

    video: Any

    def packets(self) -> Iterator[Any]: ...
    def close(self) -> None: ...


PacketSource = Callable[[Fmp4Spec], AbstractContextManager[PacketStream]]


class PassThroughStream(MainStream):
    """A camera stream opened like the recorder's (:class:`~vigie.ingest.packets.MainStream`: timeouts, ``file://``
    paced and looped), whose :meth:`packets` are every demuxed packet: a live view must not lose one the recorder
    would set aside (an RTSP session's first keyframe often comes without a timestamp; without it the browser's
    decoder has nothing to start from); :class:`Fmp4Feed` times them itself."""

    def packets(self) -> Iterator[Any]:
        try:
            yield from self._raw()
        except av.FFmpegError as err:
            raise CameraError(f"camera {self.spec.camera_id}: stream error: {redact_text(str(err))}") from err
        if self.live:
            raise CameraError(f"camera {self.spec.camera_id}: stream ended")


def camera_packets(spec: Fmp4Spec, clock: Clock) -> PassThroughStream:
    """The stream's demuxed packets, by PyAV (``file://`` sources are paced and looped like a camera)."""
    return PassThroughStream(
        PacketSpec(spec.camera_id, spec.url, open_timeout_s=spec.open_timeout_s, read_timeout_s=spec.read_timeout_s),
        clock,
    )


class Fmp4Feed:
    """The fragmented MP4 of one stream, read while someone watches."""

    def __init__(
        self,
        spec: Fmp4Spec,
        source: PacketSource,
        *,
        retry_s: tuple[float, float] = (1.0, 30.0),
        clock: Callable[[], float] = time.monotonic,
        reachable: Callable[[str], bool] = listening,
    ) -> None:
        """``reachable(url)``: whether the tap listens (:func:`listening`), asked before opening it and, while on
        the fallback, every ``spec.tap_probe_s``."""
        self.spec = spec
        self._source = source
        self._retry = retry_s
        self._clock = clock
        self._reachable = reachable
        self._fallback = None if spec.fallback_url is None else replace(spec, url=spec.fallback_url)
        self._tap_after = float("-inf")
        """Not before this (clock) is the tap tried again after it failed."""
        self.on_fallback = False
        """Whether the stream is read from the fallback (the camera) rather than the tap right now."""
        self._lock = threading.Lock()
        self._viewers: set[Fmp4Viewer] = set()
        self._init: Fmp4Init | None = None
        self._gop: list[Fmp4Fragment] | None = None
        self._gop_bytes = 0
        self._error = ""
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._idle_since: float | None = None
        self._seq = 0
        self._next_dts = 0  # the output timeline (TIMESCALE ticks) continues across reopenings
        self.opened = 0
        """How many times the stream was opened (one per run of readers, plus reopenings after errors)."""

    @property
    def error(self) -> str:
        """Why there is no video right now ('' while it flows); safe to show (credentials redacted)."""
        return self._error

    @property
    def viewers(self) -> int:
        with self._lock:
            return len(self._viewers)

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def subscribe(self) -> Fmp4Viewer:
        """A viewer on the calling event loop, given the init segment and the current GOP when there are some;
        starts reading the stream if nobody was watching."""
        viewer = Fmp4Viewer(asyncio.get_running_loop(), self.spec.viewer_buffer_bytes)
        with self._lock:
            self._viewers.add(viewer)
            self._idle_since = None
            if self._init is not None:
                viewer.offer(self._init)
                for item in self._gop or ():
                    viewer.offer(item)
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name=f"fmp4-{self.spec.camera_id}", daemon=True)
                self._thread.start()
        return viewer

    def unsubscribe(self, viewer: Fmp4Viewer) -> None:
        with self._lock:
            self._viewers.discard(viewer)
            if not self._viewers:
                self._idle_since = self._clock()

    async def next_items(self, viewer: Fmp4Viewer, timeout: float) -> list[Fmp4Item]:
        """What ``viewer`` has to send, waiting up to ``timeout`` s ([] when nothing came)."""
        if not viewer.queue:
            viewer.ready.clear()
            try:
                async with asyncio.timeout(timeout):  # no task per wait, unlike wait_for: this runs per frame
                    await viewer.ready.wait()
            except TimeoutError:
                return []
        return viewer.take()

    def close(self) -> None:
        self._stop.set()

    def _idle(self) -> bool:
        with self._lock:
            if self._viewers or self._idle_since is None:
                return False
            if self._clock() - self._idle_since < self.spec.idle_s:
                return False
            self._thread = None
            return True

    def _choose(self) -> Fmp4Spec:
        """The tap when it may be read, else the fallback (when there is one)."""
        if self._fallback is None:
            return self.spec
        if self._clock() >= self._tap_after and self._reachable(self.spec.url):
            return self.spec
        return self._fallback

    def _tap_back(self, probed: list[float]) -> bool:
        """On the fallback: whether the tap listens again (asked every ``tap_probe_s``)."""
        now = self._clock()
        if now - probed[0] < self.spec.tap_probe_s or now < self._tap_after:
            return False
        probed[0] = now
        return self._reachable(self.spec.url)

    def _run(self) -> None:
        pause = self._retry[0]
        while not self._stop.is_set():
            spec = self._choose()
            self.on_fallback = spec is self._fallback
            probed = [self._clock()]
            try:
                with self._source(spec) as stream:
                    self.opened += 1
                    for _ in self._fragments(stream):
                        pause = self._retry[0]
                        if self._stop.is_set() or self._idle():
                            return
                        if self.on_fallback and self._tap_back(probed):
                            break  # back to the tap: one camera session again
                    else:
                        raise CameraError(f"camera {self.spec.camera_id}: stream ended")
                continue
            except CameraError as err:
                self._error = str(err)
            except Exception as err:  # a bad packet or a muxer bug must not end live view for good
                log.exception("fMP4 live view of camera %s failed", self.spec.camera_id)
                self._error = f"camera {self.spec.camera_id}: live view failed ({type(err).__name__})"
            with self._lock:
                self._gop = None
            if self._fallback is not None and not self.on_fallback:
                # the tap failed (its recorder restarts or is stuck): the camera at once, the tap again later
                self._tap_after = self._clock() + self.spec.tap_probe_s
                continue
            if self._stop.wait(pause) or self._idle():
                return
            pause = min(pause * 2, self._retry[1])

    def _fragments(self, stream: PacketStream) -> Iterator[None]:
        """Publish the stream's init segment, then one fragment per packet from its first keyframe; yields after
        each so the caller can stop."""
        video = stream.video
        context = video.codec_context
        extradata = bytes(context.extradata or b"")
        length_size = nal_length_size(extradata)
        tb = Fraction(video.time_base)
        params = parameter_sets(extradata) if extradata else None
        rate = video.average_rate or video.guessed_rate
        duration = round(TIMESCALE / float(rate)) if rate else TIMESCALE // 25
        started = False
        shift = 0
        last_in = None
        for timed in stream.packets():
            packet = getattr(timed, "packet", timed)
            data = bytes(packet)
            if not started:
                if not packet.is_keyframe:
                    yield
                    continue
                params = params or parameter_sets(data if length_size == 0 else sample_to_annexb(data, length_size))
                if params is None:
                    raise CameraError(f"camera {self.spec.camera_id}: no H.264 parameter sets (SPS/PPS) in the stream")
                self._publish_init(params, context.width, context.height)
                started = True
            stamp = packet.dts if packet.dts is not None else packet.pts
            if stamp is None:  # untimed (an RTSP session's first packets): right after the previous one
                dts = pts = (last_in + duration) if last_in is not None else 0
            else:
                dts = round(stamp * tb * TIMESCALE)
                pts = dts if packet.pts is None else round(packet.pts * tb * TIMESCALE)
            step = None if last_in is None else dts - last_in
            if step is None or getattr(timed, "discontinuity", False) or not 0 < step <= MAX_STEP:
                shift = self._next_dts - dts  # a new opening or a break: the output timeline goes on, no gap
            else:
                duration = step
            last_in = dts
            out = dts + shift
            self._next_dts = out + duration
            sample = sample_bytes(data, length_size)
            self._seq += 1
            data = fragment(self._seq, out, duration, pts - dts, keyframe=packet.is_keyframe, sample=sample)
            self._publish(Fmp4Fragment(self._seq, data, packet.is_keyframe))
            yield

    def _publish_init(self, params: tuple[bytes, bytes], width: int, height: int) -> None:
        sps, pps = params
        init = Fmp4Init(codec_string(sps), width, height, init_segment(sps, pps, width, height))
        self._error = ""
        with self._lock:
            self._init, self._gop, self._gop_bytes = init, None, 0
        self._dispatch(init)

    def _publish(self, item: Fmp4Fragment) -> None:
        with self._lock:
            if item.keyframe and self.spec.keep_gop:
                self._gop, self._gop_bytes = [item], len(item.data)
            elif self._gop is not None:
                self._gop_bytes += len(item.data)
                if self._gop_bytes > self.spec.gop_cache_bytes:
                    self._gop = None
                else:
                    self._gop.append(item)
        self._dispatch(item)

    def _dispatch(self, item: Fmp4Item) -> None:
        with self._lock:
            loops = {viewer.loop for viewer in self._viewers}
        for loop in loops:
            try:
                loop.call_soon_threadsafe(self._deliver, loop, item)
            except RuntimeError:  # that event loop is closed: its viewers are gone
                with self._lock:
                    self._viewers = {v for v in self._viewers if v.loop is not loop}

    def _deliver(self, loop: asyncio.AbstractEventLoop, item: Fmp4Item) -> None:
        with self._lock:
            viewers = [viewer for viewer in self._viewers if viewer.loop is loop]
        for viewer in viewers:
            viewer.offer(item)


def sample_to_annexb(data: bytes, length_size: int) -> bytes:
    """Length-prefixed NAL units as Annex B (to look for parameter sets in them)."""
    out, pos = [], 0
    while pos + length_size <= len(data):
        size = int.from_bytes(data[pos : pos + length_size], "big")
        out.append(b"\x00\x00\x00\x01" + data[pos + length_size : pos + length_size + size])
        pos += length_size + size
    return b"".join(out)


class Fmp4Hub:
    """Every pass-through feed of the server, made on first use from the (unmasked) camera's spec per quality;
    feeds of the same URL are one (the wall and the single view of a camera without a sub stream)."""

    def __init__(
        self,
        specs: Mapping[tuple[str, LiveQuality], Fmp4Spec],
        source: PacketSource,
        *,
        reachable: Callable[[str], bool] = listening,
    ) -> None:
        """``reachable``: whether a tap may be read now (:class:`Fmp4Feed`; a cluster's relayed taps are asked
        their node, :class:`vigie.ingest.tap_relay.RelayedTaps`)."""
        self._specs = dict(specs)
        self._source = source
        self._reachable = reachable
        self._feeds: dict[tuple[str, str], Fmp4Feed] = {}
        self._lock = threading.Lock()

    def cameras(self) -> frozenset[str]:
        return frozenset(camera for camera, _ in self._specs)

    def available(self, camera_id: str, quality: LiveQuality = "wall") -> bool:
        """Whether this camera's stream may be passed through (False for a masked camera, L6)."""
        return (camera_id, quality) in self._specs

    def feed(self, camera_id: str, quality: LiveQuality = "wall") -> Fmp4Feed:
        """The feed of an unmasked configured camera; KeyError for any other."""
        spec = self._specs[camera_id, quality]
        key = (camera_id, spec.url)
        with self._lock:
            feed = self._feeds.get(key)
            if feed is None:
                feed = self._feeds[key] = Fmp4Feed(spec, self._source, reachable=self._reachable)
            return feed

    def close(self) -> None:
        with self._lock:
            feeds = list(self._feeds.values())
        for feed in feeds:
            feed.close()
        for feed in feeds:
            feed.join(timeout=2.0)
