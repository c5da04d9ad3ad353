"""What was recorded on a camera over a time range: the playback timeline of the console.

The timeline says where footage can be played (contiguous segments merged into spans), where nothing can (gaps),
and why some of it cannot although it was recorded: segments quarantined after a crash, missing from the store, or
destroyed (L3, L5). It shows no pixels, but it tells when a camera recorded, so it asks what playback asks: the
playback permission with a valid authorisation and training (L8, L9) and the camera in the caller's tenant or
shared with it (L10). Each reading is audited as a search of recordings (L11); a camera the caller may not see
answers like one that does not exist (404), and that refusal is audited too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

from vigie.domain.audit import AuditAction, AuditEvent, format_time
from vigie.domain.ports import AuditSink
from vigie.domain.recording import Segment, SegmentState
from vigie.domain.users import Permission
from vigie.recording.playlist import GAP_TOLERANCE
from vigie.services.access import NotVisibleError, Principal
from vigie.services.events import InvalidQuery, check_range

MAX_TIMELINE_RANGE: Final = timedelta(days=7)
"""The longest range one timeline covers (a week of 10 s segments is ~60,000 index rows)."""
MAX_MIN_GAP: Final = timedelta(hours=1)

PLAYABLE: Final = frozenset({SegmentState.COMPLETE, SegmentState.RECOVERED})
UNAVAILABLE: Final = frozenset({SegmentState.QUARANTINED, SegmentState.MISSING, SegmentState.DELETED})


class SegmentHistory(Protocol):
    """The segment index read as a history: every segment, whatever its state (implemented in ``vigie.storage``)."""

    def overlapping(self, camera_id: str, start: datetime, end: datetime) -> Sequence[Segment]:
        """Every indexed segment of ``camera_id`` overlapping [start, end), in any state, by start time."""
        ...


@dataclass(frozen=True, slots=True)
class Span:
    """Merged segments: ``segments`` of them, contiguous within the tolerance, clipped to the range asked."""

    start: datetime
    end: datetime
    segments: int


@dataclass(frozen=True, slots=True)
class UnavailableSpan:
    """Recorded, but not playable: quarantined, missing from the store, or destroyed."""

    start: datetime
    end: datetime
    segments: int
    state: SegmentState


@dataclass(frozen=True, slots=True)
class Gap:
    """Part of the range with nothing playable."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Timeline:
    camera_id: str
    start: datetime
    end: datetime
    recorded: tuple[Span, ...]
    gaps: tuple[Gap, ...]
    unavailable: tuple[UnavailableSpan, ...]


def build_timeline(
    camera_id: str, segments: Iterable[Segment], start: datetime, end: datetime, *, min_gap: timedelta = GAP_TOLERANCE
) -> Timeline:
    """The timeline of [start, end) from ``segments``: spans separated by at most ``min_gap`` are one span (the
    playlist treats steps under :data:`GAP_TOLERANCE` as continuous; a zoomed-out view may ask for more), and only
    longer gaps are listed. Times are UTC."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    pieces = list(segments)
    recorded = _merge((s for s in pieces if s.state in PLAYABLE), start, end, min_gap)
    unavailable = [
        UnavailableSpan(span.start, span.end, span.segments, state)
        for state in sorted(UNAVAILABLE)
        for span in _merge((s for s in pieces if s.state is state), start, end, min_gap)
    ]
    bounds = [start, *(t for span in recorded for t in (span.start, span.end)), end]
    gaps = [Gap(a, b) for a, b in zip(bounds[::2], bounds[1::2], strict=True) if b - a > min_gap]
    return Timeline(
        camera_id,
        start,
        end,
        tuple(recorded),
        tuple(gaps),
        tuple(sorted(unavailable, key=lambda u: (u.start, u.state))),
    )


def _merge(segments: Iterable[Segment], start: datetime, end: datetime, min_gap: timedelta) -> list[Span]:
    """Clip to [start, end) and merge by hand: a sort and one pass, no interval library needed for that."""
    spans: list[Span] = []
    for segment in sorted(segments, key=lambda s: (s.start, s.end)):
        first, last = max(segment.start.astimezone(UTC), start), min(segment.end.astimezone(UTC), end)
        if last <= first:
            continue
        if spans and first - spans[-1].end <= min_gap:
            previous = spans[-1]
            spans[-1] = Span(previous.start, max(previous.end, last), previous.segments + 1)
        else:
            spans.append(Span(first, last, 1))
    return spans


class RecordingService:
    def __init__(self, history: SegmentHistory, audit: AuditSink, *, max_range: timedelta = MAX_TIMELINE_RANGE) -> None:
        self._history = history
        self._audit = audit
        self._max_range = max_range

    def timeline_for(
        self,
        viewer: Principal,
        camera_id: str,
        start: datetime,
        end: datetime,
        *,
        min_gap: timedelta = GAP_TOLERANCE,
    ) -> Timeline:
        """The timeline of ``camera_id`` over [start, end) for ``viewer``; audited, refusals included."""
        viewer.require(Permission.PLAYBACK)
        if not viewer.sees_camera(camera_id):
            self._audit.append(
                AuditEvent(
                    actor=viewer.actor,
                    action=AuditAction.ACCESS_DENIED,
                    target=camera_id,
                    details={"resource": "recordings", "reason": "camera not among those this person may see"},
                )
            )
            raise NotVisibleError(f"no camera {camera_id!r} among the cameras you may see")
        self._check(start, end, min_gap)
        segments = self._history.overlapping(camera_id, start, end)
        timeline = build_timeline(camera_id, segments, start, end, min_gap=min_gap)
        self._audit.append(
            AuditEvent(
                actor=viewer.actor,
                action=AuditAction.SEARCH,
                target=camera_id,
                details={
                    "resource": "recordings",
                    "start": format_time(start),
                    "end": format_time(end),
                    "spans": len(timeline.recorded),
                    "unavailable": len(timeline.unavailable),
                },
            )
        )
        return timeline

    def _check(self, start: datetime, end: datetime, min_gap: timedelta) -> None:
        too_long = f"a timeline covers at most {self._max_range.days} days; ask for a shorter range"
        check_range(start, end, self._max_range, too_long)
        if not timedelta(0) <= min_gap <= MAX_MIN_GAP:
            raise InvalidQuery(f"min_gap must be between 0 and {MAX_MIN_GAP.total_seconds():.0f} seconds")
