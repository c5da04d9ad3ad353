"""What the sensors' link rules left on a camera's recordings (issue 21): bookmarks, shown on the playback timeline.
The service checks the playback permission and the tenant, and audits each read as the timeline's (``search``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from vigie.api.deps import configured
from vigie.api.schemas import Instant
from vigie.api.security import CurrentPrincipal
from vigie.services.sensors import SensorLinkService

router = APIRouter(tags=["sensors"])


class BookmarkOut(BaseModel):
    at: datetime = Field(description="when the link rule was carried out (Vigie's clock, the recordings' time)")
    observed_at: datetime = Field(description="when the sensor measured it (the sensor's clock)")
    label: str = Field(description="the rule's label")
    rule: str = Field(description="the link rule's id in the configuration")
    sensor: str = Field(description="the sensor's id")


@router.get(
    "/api/cameras/{camera_id}/bookmarks",
    response_model=list[BookmarkOut],
    summary="Bookmarks the sensors' link rules put on a camera's recordings, over a range of at most 7 days",
)
def camera_bookmarks(
    *,
    request: Request,
    principal: CurrentPrincipal,
    camera_id: Annotated[str, Path(max_length=128)],
    start: Annotated[Instant, Query(description="start of the range, with a time zone")],
    end: Annotated[Instant, Query(description="end of the range (exclusive), with a time zone")],
) -> list[BookmarkOut]:
    service = configured(request, "sensor_links", SensorLinkService, "sensors are")
    return [
        BookmarkOut(at=b.at, observed_at=b.observed_at, label=b.label, rule=b.rule, sensor=b.sensor_id)
        for b in service.bookmarks_for(principal, camera_id, start, end)
    ]
