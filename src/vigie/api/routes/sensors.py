"""What the sensors left (issue 21): the bookmarks their link rules put on a camera's recordings, shown on the playback
timeline, and their statistics per period. The services check the permission and the tenant, and audit each read
(``search``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from vigie.api.deps import configured
from vigie.api.schemas import Instant
from vigie.api.security import CurrentPrincipal
from vigie.services.sensor_statistics import Period, SensorStatisticsService
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


class SensorOut(BaseModel):
    id: str = Field(description="the sensor's id in the configuration")
    kind: str = Field(description="`radar`, `presence` or `occupancy`")
    name: str = Field(description="what operators call it")


class SensorPeriodOut(BaseModel):
    sensor: str = Field(description="the sensor's id")
    measure: str = Field(
        description="`vehicles.approaching`, `vehicles.receding` (speeds in km/h), `presence` or `occupancy` (ratios)"
    )
    start: datetime = Field(description="start of the period (cut at the range's start)")
    end: datetime = Field(description="end of the period (cut at the range's end)")
    count: int = Field(description="readings in the period: vehicles, presences, occupancy readings")
    mean: float | None = Field(
        description="mean value (speed, ratio) over the buckets of at least `min_count` readings; null when none is, "
        "or for presence"
    )
    maximum: float | None = Field(description="top value over the same buckets; null likewise")
    withheld_buckets: int = Field(description="buckets below `min_count`: counted, their values withheld (L33)")


class SensorStatisticsOut(BaseModel):
    min_count: int = Field(description="`sensors.min_count`: a bucket of fewer readings shows its count only")
    periods: list[SensorPeriodOut]


@router.get("/api/sensors", response_model=list[SensorOut], summary="The sensors of one's commune")
def list_sensors(request: Request, principal: CurrentPrincipal) -> list[SensorOut]:
    service = configured(request, "sensor_statistics", SensorStatisticsService, "sensor statistics are")
    return [SensorOut(id=s.id, kind=s.kind, name=s.name) for s in service.sensors_for(principal)]


@router.get(
    "/api/sensors/statistics",
    response_model=SensorStatisticsOut,
    summary="A sensor's (or one's commune's sensors') totals per period, over a range of at most 31 days",
)
def sensor_statistics(
    *,
    request: Request,
    principal: CurrentPrincipal,
    start: Annotated[Instant, Query(description="start of the range, with a time zone")],
    end: Annotated[Instant, Query(description="end of the range (exclusive), with a time zone")],
    sensor: Annotated[
        str | None, Query(max_length=128, description="one sensor's id; omitted: every sensor of one's commune")
    ] = None,
    period: Annotated[
        Period, Query(description="`bucket` (as stored), `hour`, or `day` (Europe/Paris days)")
    ] = Period.HOUR,
) -> SensorStatisticsOut:
    service = configured(request, "sensor_statistics", SensorStatisticsService, "sensor statistics are")
    periods = service.periods_for(principal, sensor, start, end, period)
    return SensorStatisticsOut(
        min_count=service.min_count,
        periods=[
            SensorPeriodOut(
                sensor=p.sensor_id,
                measure=p.measure,
                start=p.start,
                end=p.end,
                count=p.count,
                mean=p.mean,
                maximum=p.maximum,
                withheld_buckets=p.withheld_buckets,
            )
            for p in periods
        ],
    )
