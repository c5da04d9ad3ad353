"""Recording gaps: where a camera that should record has no footage, found from the segments as they are finished.

Two ways a gap shows (issue 17):

- **between two segments**: the next segment starts later than the previous one ended, plus a tolerance (the
  playlist's jitter, :data:`~vigie.recording.playlist.GAP_TOLERANCE`). Found when the next segment arrives: the
  recording has resumed by then, so the gap is logged and counted, never left open;
- **no segment for too long**: more than ``stale_after`` segment lengths since the last segment ended (or since
  the camera was expected to record) — the recorder is down, stuck, or the camera is unreachable. This gap is
  *open*: an alarm an operator sees until the next segment arrives, which closes it at that segment's start.

A segment that arrives late but covers the suspected gap (messages queued on an overloaded host) closes the alarm
without a gap: no footage is missing. The watch is pure — segments and the time are given to it — and bounded: one
entry per watched camera, and the closed gaps of the last ``keep`` (at most ``max_kept``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from vigie.domain.recording import RecordingGap, Segment
from vigie.recording.playlist import GAP_TOLERANCE

STALE_AFTER: Final = 2.0
"""Segment lengths without a new segment after which a camera that should record is in an open gap."""
KEEP: Final = timedelta(hours=24)
MAX_KEPT: Final = 10_000
"""Closed gaps kept, at most (a flapping camera must not grow the list without bound)."""


@dataclass(frozen=True, slots=True)
class GapChange:
    """What a segment or a check changed: a gap ``opened`` (alarm raised), ``closed`` (alarm cleared, footage
    missing from ``gap.start`` to ``gap.end``), ``found`` (a gap between two segments, already over) or
    ``withdrawn`` (an open gap the late segments covered: no footage missing)."""

    kind: str
    gap: RecordingGap


@dataclass(slots=True)
class _Camera:
    since: datetime
    """When it was last expected to start recording (watched, or allowed again)."""
    last_end: datetime | None = None
    open: RecordingGap | None = None


class GapWatch:
    """The recording gaps of the cameras that should record (see the module docstring)."""

    def __init__(
        self,
        segment_seconds: float,
        *,
        tolerance: timedelta = GAP_TOLERANCE,
        stale_after: float = STALE_AFTER,
        keep: timedelta = KEEP,
        max_kept: int = MAX_KEPT,
    ) -> None:
        if segment_seconds <= 0:
            raise ValueError("segment_seconds must be positive")
        self._tolerance = tolerance
        self._silent = timedelta(seconds=segment_seconds * stale_after) + tolerance
        self._keep = keep
        self._cameras: dict[str, _Camera] = {}
        self._closed: deque[RecordingGap] = deque(maxlen=max_kept)

    def expect(self, camera_id: str, since: datetime) -> None:
        """``camera_id`` should record from ``since`` on (the service started, or its authorisation is valid
        again); a camera already expected is left as it is."""
        if camera_id not in self._cameras:
            self._cameras[camera_id] = _Camera(since)

    def release(self, camera_id: str, at: datetime) -> list[GapChange]:
        """``camera_id`` need not record any more (switched off, its authorisation ended): its open gap is closed
        at ``at`` (footage was missing until then) and it is no longer watched."""
        camera = self._cameras.pop(camera_id, None)
        if camera is None or camera.open is None:
            return []
        return [self._close(camera, at)]

    def segment(self, segment: Segment, now: datetime) -> list[GapChange]:
        """A finished segment of a watched camera (others are ignored)."""
        camera = self._cameras.get(segment.camera_id)
        if camera is None:
            return []
        changes: list[GapChange] = []
        previous = camera.last_end
        if camera.open is not None:
            opened = camera.open
            camera.open = None
            if segment.start <= opened.start + self._tolerance:
                changes.append(GapChange("withdrawn", replace(opened, end=opened.start)))
            else:
                changes.append(self._close_at(opened, segment.start))
                previous = None  # the gap is closed here, not found again below
        if previous is not None and segment.start > previous + self._tolerance:
            gap = RecordingGap(segment.camera_id, previous, segment.start, now)
            self._closed.append(gap)
            changes.append(GapChange("found", gap))
        if camera.last_end is None or segment.end > camera.last_end:
            camera.last_end = segment.end
        return changes

    def check(self, now: datetime) -> list[GapChange]:
        """Open a gap for each watched camera silent for longer than the limit."""
        changes = []
        for camera_id, camera in self._cameras.items():
            if camera.open is not None:
                continue
            start = camera.last_end or camera.since
            if now - start > self._silent:
                camera.open = RecordingGap(camera_id, start, None, now)
                changes.append(GapChange("opened", camera.open))
        return changes

    def open_gaps(self) -> list[RecordingGap]:
        return [c.open for c in self._cameras.values() if c.open is not None]

    def recent(self, now: datetime, camera_ids: Iterable[str] | None = None) -> list[RecordingGap]:
        """Gaps of the last ``keep`` (open ones included), newest first; of ``camera_ids`` only, if given."""
        wanted = None if camera_ids is None else frozenset(camera_ids)
        since = now - self._keep
        found = [g for g in (*self._closed, *self.open_gaps()) if (g.end or now) >= since]
        if wanted is not None:
            found = [g for g in found if g.camera_id in wanted]
        return sorted(found, key=lambda g: g.start, reverse=True)

    def _close(self, camera: _Camera, at: datetime) -> GapChange:
        assert camera.open is not None
        gap, camera.open = camera.open, None
        return self._close_at(gap, at)

    def _close_at(self, gap: RecordingGap, end: datetime) -> GapChange:
        closed = replace(gap, end=max(end, gap.start))
        self._closed.append(closed)
        return GapChange("closed", closed)
