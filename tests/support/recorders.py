"""Recorder workers under a real supervisor, what they report collected, and the part of the segment index that
reconciliation reads, in memory."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime
from pathlib import Path

from vigie.domain.recording import Segment, SegmentState
from vigie.ingest.backoff import Backoff
from vigie.ingest.packets import PacketSpec
from vigie.runtime.workers.recorder import RecorderSpec, RecordingHealth
from vigie.runtime.workers.supervisor import CameraSupervisor, SupervisedMessage


class Collected:
    """The supervisor's sink: every message, readable from the test's thread."""

    def __init__(self) -> None:
        self.messages: list[SupervisedMessage] = []
        self._lock = threading.Lock()

    def __call__(self, msg: SupervisedMessage) -> None:
        with self._lock:
            self.messages.append(msg)

    def segments(self) -> list[Segment]:
        with self._lock:
            return sorted((m for m in self.messages if isinstance(m, Segment)), key=lambda s: s.start)

    def health(self) -> list[RecordingHealth]:
        with self._lock:
            return [m for m in self.messages if isinstance(m, RecordingHealth)]


def recorder(url: str, root: Path, camera_id: str = "cam") -> RecorderSpec:
    """A recorder of two-second segments, quick to notice a dead stream."""
    return RecorderSpec(PacketSpec(camera_id, url, open_timeout_s=5, read_timeout_s=3), root, segment_seconds=2.0)


def supervise(spec: RecorderSpec, sink: Collected) -> CameraSupervisor:
    return CameraSupervisor([spec], sink, stall_timeout_s=10.0, backoff=Backoff(base_s=0.3, cap_s=1.0))


class MemoryIndex:
    """The part of the segment index reconciliation uses, in memory."""

    def __init__(self) -> None:
        self.rows: dict[int, Segment] = {}

    def add(self, segment: Segment) -> Segment:
        if any(s.key == segment.key for s in self.rows.values()):
            raise ValueError(f"duplicate key {segment.key}")
        row = dataclasses.replace(segment, id=len(self.rows) + 1)
        self.rows[row.id or 0] = row
        return row

    def set_state(self, segment_id: int, state: SegmentState, at: datetime) -> None:
        self.rows[segment_id] = dataclasses.replace(self.rows[segment_id], state=state)

    def ended_before(self, camera_id: str, before: datetime, limit: int, *, after_id: int = 0) -> list[Segment]:
        stored = {SegmentState.COMPLETE, SegmentState.RECOVERED, SegmentState.QUARANTINED}
        rows = [
            s
            for i, s in sorted(self.rows.items())
            if i > after_id and s.camera_id == camera_id and s.end < before and s.state in stored
        ]
        return rows[:limit]
