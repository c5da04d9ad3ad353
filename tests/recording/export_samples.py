"""Real MPEG-TS segments for export and playback tests: a small H.264 clip encoded with PyAV, cut on keyframes.

Frames are 64×48 at 10 fps with a keyframe every second; frame ``i`` is uniformly grey at level ``(i * 5) % 250``
so a test can tell which frames a file holds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from vigie.domain.audit import AuditEvent, AuditRecord
from vigie.domain.recording import Segment, SegmentState
from vigie.recording.manifest import CameraIdentity

FPS = 10
WIDTH, HEIGHT = 64, 48


def encode_packets(seconds: float) -> list[av.Packet[Any]]:
    """H.264 packets of a ``seconds`` long clip, no B-frames, one keyframe per second."""
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    codec.time_base = Fraction(1, FPS)
    codec.framerate = Fraction(FPS)
    codec.options = {"g": str(FPS), "keyint_min": str(FPS), "sc_threshold": "0", "bf": "0", "preset": "ultrafast"}
    codec.open()
    packets: list[av.Packet[Any]] = []
    for i in range(round(seconds * FPS)):
        level = (i * 5) % 250
        frame = av.VideoFrame.from_ndarray(np.full((HEIGHT, WIDTH, 3), level, np.uint8), format="rgb24")
        frame = frame.reformat(format="yuv420p")
        frame.pts, frame.time_base = i, Fraction(1, FPS)
        packets += codec.encode(frame)
    packets += codec.encode(None)
    return packets


def write_ts(path: Path, packets: list[av.Packet[Any]], *, restart_at_zero: bool = False) -> None:
    """One MPEG-TS file of ``packets``; with ``restart_at_zero`` its timestamps start at 0 (as after a restart)."""
    with av.open(str(path), "w", format="mpegts") as out:
        stream = out.add_stream("h264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        first = packets[0].pts or 0
        for packet in packets:
            if restart_at_zero:
                packet.pts = (packet.pts or 0) - first
                packet.dts = (packet.dts or 0) - first
            packet.stream = stream
            out.mux(packet)


@dataclass
class SampleFootage:
    """Segments of one camera, stored under ``store_root`` and indexed in ``segments``."""

    segments: list[Segment]
    store_root: Path


def record(
    store_root: Path,
    camera_id: str,
    runs: list[tuple[datetime, float]],
    *,
    segment_seconds: int = 2,
    restart_at_zero: bool = False,
) -> list[Segment]:
    """Write ``runs`` (start, seconds) of footage as segments of ``segment_seconds`` into ``store_root``."""
    segments = []
    for run_start, seconds in runs:
        packets = encode_packets(seconds)
        per = segment_seconds * FPS
        for n in range(0, len(packets), per):
            start = run_start + timedelta(seconds=n / FPS)
            end = start + timedelta(seconds=min(per, len(packets) - n) / FPS)
            key = f"{camera_id}/{start:%Y/%m/%d}/{start:%Y%m%dT%H%M%S.%fZ}.ts"
            path = store_root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            write_ts(path, packets[n : n + per], restart_at_zero=restart_at_zero)
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            segments.append(Segment(camera_id, key, start, end, len(data), digest, SegmentState.COMPLETE))
    return segments


class MemorySegmentIndex:
    """The ``SegmentIndex`` port over a list (the SQL index is tested in tests/storage)."""

    def __init__(self, segments: list[Segment] | None = None) -> None:
        self.segments: list[Segment] = []
        for segment in segments or []:
            self.add(segment)

    def add(self, segment: Segment) -> Segment:
        stored = replace(segment, id=len(self.segments) + 1)
        self.segments.append(stored)
        return stored

    def set_state(self, segment_id: int, state: SegmentState, at: datetime) -> None:
        index = segment_id - 1
        self.segments[index] = replace(self.segments[index], state=state)

    def between(self, camera_id: str, start: datetime, end: datetime) -> list[Segment]:
        playable = {SegmentState.COMPLETE, SegmentState.RECOVERED}
        found = [
            s
            for s in self.segments
            if s.camera_id == camera_id and s.start < end and s.end > start and s.state in playable
        ]
        return sorted(found, key=lambda s: s.start)

    def oldest(self, limit: int) -> list[Segment]:
        return sorted(self.segments, key=lambda s: s.start)[:limit]


CAMERAS = {
    "cam-001": CameraIdentity(
        "cam-001", "Place de la Mairie", 45.7667, 4.8799, "1 place de la Mairie, Villeurbanne", "parvis, vers le nord"
    ),
    "cam-002": CameraIdentity("cam-002", "Gare", 45.76, 4.86, None, None),
    "cam-003": CameraIdentity("cam-003", "Dépôt", 45.75, 4.85),
}


def decoded_levels(path: Path) -> list[int]:
    """The grey level of every frame of a video file, in display order (decoding: the file plays)."""
    with av.open(str(path)) as container:
        return [round(float(frame.to_ndarray(format="gray").mean())) for frame in container.decode(video=0)]


class ListAuditSink:
    """An ``AuditSink`` that keeps events in a list (the chain itself is tested in tests/governance)."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def append(self, event: AuditEvent) -> AuditRecord:
        self.events.append(event)
        return AuditRecord(
            len(self.events), datetime(2026, 1, 1, tzinfo=UTC), event.actor, str(event.action), event.target, {}, "", ""
        )
