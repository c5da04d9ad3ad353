"""The recordings timeline of a camera: playable spans, gaps, and what was recorded but cannot be played. The
service checks the playback permission and the tenant and audits every reading."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from vigie.api.deps import configured
from vigie.api.schemas import GapOut, Instant, RecordingTimelineOut, SpanOut, UnavailableSpanOut
from vigie.api.security import CurrentPrincipal
from vigie.services.recordings import RecordingService

router = APIRouter(tags=["recordings"])


def _service(request: Request) -> RecordingService:
    return configured(request, "recordings", RecordingService, "recordings are")


@router.get(
    "/api/cameras/{camera_id}/recordings",
    response_model=RecordingTimelineOut,
    summary="Timeline of a camera's recordings over a range of at most 7 days (audited)",
)
def recordings_timeline(
    *,
    request: Request,
    principal: CurrentPrincipal,
    camera_id: Annotated[str, Path(max_length=128)],
    start: Annotated[Instant, Query(description="start of the range, with a time zone")],
    end: Annotated[Instant, Query(description="end of the range (exclusive), with a time zone")],
    min_gap_s: Annotated[
        float, Query(ge=0, le=3600, description="gaps up to this long are not shown (a zoomed-out view)")
    ] = 0.5,
) -> RecordingTimelineOut:
    timeline = _service(request).timeline_for(principal, camera_id, start, end, min_gap=timedelta(seconds=min_gap_s))
    return RecordingTimelineOut(
        camera_id=timeline.camera_id,
        start=timeline.start,
        end=timeline.end,
        recorded=[SpanOut(start=s.start, end=s.end, segments=s.segments) for s in timeline.recorded],
        gaps=[GapOut(start=g.start, end=g.end) for g in timeline.gaps],
        unavailable=[
            UnavailableSpanOut(start=u.start, end=u.end, segments=u.segments, state=u.state.value)
            for u in timeline.unavailable
        ],
    )
