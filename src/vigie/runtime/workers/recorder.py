"""The body of a recorder worker process: one camera's main stream remuxed into segment files.

A camera with privacy masks (L6) is not remuxed: its frames are decoded, the masks burnt in and the result
re-encoded (:class:`vigie.ingest.masking.MaskedPackets`) before the segment writer sees a byte, so no stored
segment holds what the masks hide.

One thread per camera in a recorder process that hosts a group of cameras (:mod:`vigie.runtime.workers.group`),
beside (never inside) the analysis processes: a crash or a stall of analysis never stops recording, and the other
way round. The group's watchdog gives up on a stream that blocks in FFmpeg and starts it again; the supervisor
kills the whole process from outside when it stops beating. Whatever a stream was writing stays on disk as a
``.partial`` that the next recorder of the camera recovers or quarantines before it records
(:func:`vigie.recording.reconcile.recover_partials`).

The worker writes files and never touches the database: each finished segment travels to the parent as a
``Segment`` message and is indexed there by the single writer thread. Segment messages wait for room in the queue
(they are never dropped like analysis observations); one lost anyway (the worker killed between the rename and
the send) is a ``.ts`` on disk without an index row, which reconciliation indexes at the next start.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from vigie.domain.camera import HealthState
from vigie.domain.clock import Clock
from vigie.domain.geometry import Point
from vigie.domain.recording import Segment
from vigie.domain.redact import redact_text
from vigie.ingest.backoff import Backoff
from vigie.ingest.health import FrameRate
from vigie.ingest.packets import MainStream, PacketSpec, TimedPacket
from vigie.ingest.reader import CameraError
from vigie.recording.reconcile import recover_partials
from vigie.recording.segment_writer import RecordingError, SegmentWriter
from vigie.runtime.clock import system_clock
from vigie.runtime.workers.group import (
    ControlQueue,
    HealthOutbox,
    StopFlag,
    StreamBody,
    StreamHost,
    host_streams,
)

if TYPE_CHECKING:
    from vigie.devices.dome_masking import DomeMaskSpec
    from vigie.ingest.tap import PacketTap

log = logging.getLogger(__name__)
HEARTBEAT_S = 1.0
PROGRESS_EVERY_S = 0.25
"""How often a flowing stream tells the group's watchdog it is alive (its stall limit is tens of seconds)."""
SEGMENT_PUT_TIMEOUT_S = 30.0
RECORDING_HEALTH_VERSION = 1


@dataclass(frozen=True, slots=True)
class RecorderSpec:
    """Everything one recorder worker needs; picklable, built by the runtime."""

    stream: PacketSpec
    root: Path
    """The local segment store directory (``data_dir/segments``): keys are paths relative to it."""
    segment_seconds: float = 10.0
    masks: tuple[tuple[Point, ...], ...] = ()
    """Privacy-mask polygons (normalised): empty = remux the stream as is; otherwise burn them in (L6)."""
    clock: Clock = system_clock
    """The service's clock, for health reports (segment times come from the stream's own timestamps)."""
    live_tap: Path | None = None
    """The Unix socket where the packets written are offered to the live view (:class:`vigie.ingest.tap.PacketTap`):
    the masked ones for a camera with masks (its live view must never show the raw stream). None: no tap."""
    dome: DomeMaskSpec | None = None
    """A dome's pan/tilt privacy masks and how to read its position: burnt in as the dome moves (L6)."""

    @property
    def camera_id(self) -> str:
        return self.stream.camera_id


@dataclass(frozen=True, slots=True)
class RecordingHealth:
    """A recorder's heartbeat and state; ``reason`` never carries credentials."""

    camera_id: str
    state: HealthState
    at: datetime
    reason: str = ""
    packets_per_s: float = 0.0
    segments: int = 0
    bytes_written: int = 0
    non_monotonic: int = 0
    """Packets dropped because their DTS did not increase."""
    jumps: int = 0
    """Timestamp jumps (each one ended a segment)."""
    writing: str | None = None
    version: int = RECORDING_HEALTH_VERSION


RecorderMessage = Segment | RecordingHealth


class PacketSource(Protocol):
    """What the segment writer is fed from: a :class:`MainStream` (remux) or its :class:`MaskedPackets`."""

    @property
    def video(self) -> Any: ...

    def packets(self) -> Iterator[TimedPacket]: ...


class RecorderQueue(Protocol):
    def put(self, item: RecorderMessage, block: bool = ..., timeout: float | None = ...) -> None: ...


def _send_health(out: RecorderQueue, health: RecordingHealth) -> None:
    with contextlib.suppress(queue.Full):  # a heartbeat lost in a full queue is replaced by the next one
        out.put(health, block=False)


def _send_segment(out: RecorderQueue, segment: Segment | None) -> None:
    if segment is not None:
        out.put(segment, block=True, timeout=SEGMENT_PUT_TIMEOUT_S)


def _offline(spec: RecorderSpec, reason: str) -> RecordingHealth:
    return RecordingHealth(spec.camera_id, HealthState.OFFLINE, spec.clock(), reason)


class _MaskingStoppedError(Exception):
    """Masks could not be burnt in: recording of the camera stops (never unmasked instead)."""


@dataclass(frozen=True, slots=True)
class RecorderGroupSpec:
    """The cameras one recorder process hosts (:mod:`vigie.runtime.workers.group`); picklable."""

    name: str
    cameras: tuple[RecorderSpec, ...]
    stall_s: float = 20.0
    """A stream without a packet for this long is given up on and restarted (its thread abandoned)."""
    backoff: Backoff = field(default_factory=Backoff)


def run_recorder_group(  # noqa: PLR0917 (the process's arguments, given by the supervisor)
    spec: RecorderGroupSpec,
    out: RecorderQueue,
    control: ControlQueue,
    stop: StopFlag,
    stopped: frozenset[str],
    parent: int | None = None,
) -> None:
    """The body of a recorder process: each camera remuxed in its own thread (PyAV releases the GIL while it
    demuxes and muxes), watched by the group (:func:`host_streams`); ``stopped`` are cameras not to start (their
    authorisation ended) until the supervisor switches them on; ``parent``: the supervisor's process, the group ends
    when it is gone (never run orphaned, even when it died while this process was starting)."""
    by_camera = {camera.camera_id: camera for camera in spec.cameras}
    health = HealthOutbox(out, spec.name, (RecordingHealth,))
    outbox: RecorderQueue = health

    def stalled(camera_id: str, reason: str) -> None:
        _send_health(outbox, _offline(by_camera[camera_id], reason))

    bodies = {camera_id: _body(camera, outbox) for camera_id, camera in by_camera.items()}
    host = StreamHost(
        spec.name,
        bodies,
        stall_s=spec.stall_s,
        backoff=spec.backoff,
        on_stalled=stalled,
        stopped=stopped,
        unit="packets",
    )
    raise SystemExit(host_streams(host, out, control, stop, parent=parent, health=health))


def _body(spec: RecorderSpec, out: RecorderQueue) -> StreamBody:
    """Partials are recovered at the camera's first start in the process only: later, the only partial is the one
    an abandoned (stuck) thread still holds open, which it closes itself when its read returns."""
    starts = [0]

    def body(stop: threading.Event, progress: Callable[[], None]) -> None:
        starts[0] += 1
        record_camera(spec, out, stop, progress, recover=starts[0] == 1)

    return body


def run_recorder(spec: RecorderSpec, out: RecorderQueue, stop: StopFlag) -> None:
    """One camera recorded in the calling thread until ``stop`` is set or the stream fails (tests, tools)."""
    record_camera(spec, out, stop, lambda: None)


def record_camera(
    spec: RecorderSpec, out: RecorderQueue, stop: StopFlag, progress: Callable[[], None], *, recover: bool = True
) -> None:
    """Recover what a predecessor left, then record until ``stop`` is set or the stream fails; a failure is
    reported (offline, with its reason) and raised as :class:`RecorderStopped`, for the group to restart it.

    A restart after a crash, a ``kill -9`` or a dropped stream is video lost until the first keyframe is written
    again, so this start does little before opening the stream: the partial left by a killed predecessor is
    recovered (a quick remux of one segment at most, sent to be indexed before anything new), and the masking
    module (with the configuration models it reads, ≈ 0.15 s of imports) is loaded only by cameras with masks."""
    camera_id = spec.camera_id
    try:
        for segment in recover_partials(spec.root, camera_id) if recover else ():
            _send_segment(out, segment)
        with MainStream(spec.stream, spec.clock) as stream:
            if spec.masks or spec.dome is not None:
                _record_masked(spec, stream, out, stop, progress)
            else:
                with _tap(spec, stream.video) as tap:  # the live view of the main stream reads it (one session)
                    publish = tap.publish if tap is not None else None
                    _record(spec, stream, stream, out, stop, progress=progress, publish=publish)
    except CameraError as err:
        _send_health(out, _offline(spec, f"recording stopped: {err}"))
        raise RecorderStopped(1) from None
    except _MaskingStoppedError as err:  # never record this camera unmasked instead
        _send_health(out, _offline(spec, redact_text(f"recording stopped: {err}")))
        raise RecorderStopped(1) from None
    except (RecordingError, OSError) as err:
        reason = redact_text(f"camera {camera_id}: cannot write segments: {err}")
        _send_health(out, _offline(spec, reason))
        raise RecorderStopped(3) from None
    except Exception as err:  # contained: reported, then the group restarts the stream
        reason = redact_text(f"camera {camera_id}: recorder internal error {type(err).__name__}: {err}")
        _send_health(out, _offline(spec, reason))
        raise RecorderStopped(2) from None


class RecorderStopped(Exception):
    """A camera's recording ended on a failure, already reported; ``code`` says which kind (1 stream, 2 internal,
    3 storage)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _record_masked(
    spec: RecorderSpec, stream: MainStream, out: RecorderQueue, stop: StopFlag, progress: Callable[[], None]
) -> None:
    from vigie.ingest.masking import MaskedPackets, MaskingError

    with contextlib.ExitStack() as stack:
        moving = None
        if spec.dome is not None:  # the dome's position, read by this process while it records (L6)
            from vigie.devices.dome_masking import DomeMasker, open_position_track

            track = stack.enter_context(open_position_track(spec.dome, lambda: spec.clock().timestamp()))
            moving = DomeMasker(spec.dome, track)
        try:
            masked = stack.enter_context(MaskedPackets(stream, spec.masks, moving=moving))
            tap = stack.enter_context(_tap(spec, masked.video))
            publish = tap.publish if tap is not None else None
            _record(spec, stream, masked, out, stop, progress=progress, held=masked.drain, publish=publish)
        except MaskingError as err:
            raise _MaskingStoppedError(str(err)) from err


@contextlib.contextmanager
def _tap(spec: RecorderSpec, template: Any) -> Iterator[PacketTap | None]:
    """The camera's live tap; one that cannot listen (folder not ours) costs the live view, never the
    recording."""
    if spec.live_tap is None:
        yield None
        return
    from vigie.ingest.tap import PacketTap

    try:
        tap = PacketTap(spec.live_tap, template)
    except OSError as err:
        log.warning("camera %s: no live tap of the recorded stream: %s", spec.camera_id, err)
        yield None
        return
    with tap:
        yield tap


def _record(
    spec: RecorderSpec,
    stream: MainStream,
    source: PacketSource,
    out: RecorderQueue,
    stop: StopFlag,
    *,
    progress: Callable[[], None],
    held: Callable[[], Iterable[TimedPacket]] | None = None,
    publish: Callable[[Any], None] | None = None,
) -> None:
    """``source`` is the stream itself (remux) or its ``MaskedPackets`` (whose ``video`` is the encoder's);
    ``held`` hands over the packets an encoder still holds when told to stop; ``publish`` offers each packet
    written to the live view (the camera's tap: the masked packets for a camera with masks).

    The per-packet path is kept to what a remux needs (the streams of a group share one interpreter): times stay
    epoch seconds (:meth:`MainStream.timed`), and the group's watchdog is told of progress a few times a second
    rather than at every packet (it gives up after ``stall_s``, seconds)."""
    writer = SegmentWriter(spec.camera_id, spec.root, source.video, spec.segment_seconds)
    write = writer.write_at
    rate = FrameRate()
    tick = rate.tick
    monotonic = time.monotonic
    last_beat = last_progress = float("-inf")
    items = stream.timed() if source is stream else _epoch_seconds(source.packets())
    try:
        for packet, at, broke in items:
            if stop.is_set():
                if held is not None:
                    # this packet and those the encoder still holds end the segment: later frames reference them
                    _send_segment(out, write(packet, at))
                    for last in held():
                        _send_segment(out, writer.write(last.packet, last.at))
                return  # asked to stop (the group stops its cameras when the service dies: never orphaned)
            now = monotonic()
            if now - last_progress >= PROGRESS_EVERY_S:
                progress()
                last_progress = now
            if broke:
                _send_segment(out, writer.cut())
            finished = write(packet, at)
            if finished is not None:
                _send_segment(out, finished)
            if publish is not None:
                publish(packet)
            tick(now)
            if now - last_beat >= HEARTBEAT_S:
                _send_health(out, _online(spec, stream, writer, rate.fps(now)))
                last_beat = now
    finally:
        _send_segment(out, writer.close())


def _epoch_seconds(packets: Iterable[TimedPacket]) -> Iterator[tuple[Any, float, bool]]:
    """A masked camera's packets in the form of :meth:`MainStream.timed` (its datetimes are exact µs: they come
    back unchanged from epoch seconds)."""
    for item in packets:
        yield item.packet, item.at.timestamp(), item.discontinuity


def _online(spec: RecorderSpec, stream: MainStream, writer: SegmentWriter, fps: float) -> RecordingHealth:
    check = stream.counters.timestamps
    return RecordingHealth(
        spec.camera_id,
        HealthState.ONLINE,
        spec.clock(),
        packets_per_s=round(fps, 2),
        segments=writer.counters.segments,
        bytes_written=writer.counters.bytes,
        non_monotonic=check.non_monotonic,
        jumps=check.jumps,
        writing=writer.writing,
    )
