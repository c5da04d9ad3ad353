from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from vigie.api.schemas import EventOut, EventPageOut, Instant, RegionOut
from vigie.api.security import CurrentPrincipal
from vigie.services.events import EventService

router = APIRouter(prefix="/api/events", tags=["events"])


def _service(request: Request) -> EventService:
    service: EventService = request.app.state.services.events
    return service


@router.get("", response_model=EventPageOut, summary="List events, newest first")
def list_events(
    *,
    request: Request,
    principal: CurrentPrincipal,
    camera_id: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[Instant | None, Query(description="only events still running at or after this time")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> EventPageOut:
    page = _service(request).list_events(principal, camera_id=camera_id, since=since, limit=limit, offset=offset)
    return EventPageOut(
        items=[
            EventOut(
                id=e.id or 0,
                camera_id=e.camera_id,
                module=e.module,
                kind=e.kind,
                started_at=e.started_at,
                ended_at=e.ended_at,
                region=RegionOut(x=e.region.x, y=e.region.y, w=e.region.w, h=e.region.h),
                score=e.score,
                model_version=e.model_version,
                observations=e.observations,
            )
            for e in page.items
        ],
        limit=page.limit,
        offset=page.offset,
        next_offset=page.next_offset,
    )
