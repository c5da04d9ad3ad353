"""The console's map (issue 24; docs/map.md): what to draw (basemap, cameras' fields of view, site plans), the
city's basemap tiles, and the site plans' upload (an image as the request body, placed by its four corners)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from vigie.api.deps import configured
from vigie.api.security import CurrentPrincipal
from vigie.domain.site_plans import PLAN_NAME_MAX, SitePlan
from vigie.services.map import MapCamera, MapService

router = APIRouter(prefix="/api/map", tags=["map"])

TILE_URL = "/api/map/tiles/{z}/{x}/{y}"
PLAN_UPLOAD_CAP = 32 * 1024 * 1024 + 1
"""The framework's cap for a plan upload: the largest ``map.plan_max_bytes``; the service's own limit comes first."""
_TILE_CACHE = "private, max-age=3600"  # a person's browser keeps the tiles an hour; nothing shared keeps them


def _service(request: Request) -> MapService:
    return configured(request, "map", MapService, "the map is")


class BasemapOut(BaseModel):
    container: str = Field(description="mbtiles or pmtiles")
    format: str = Field(description="png, jpg, webp (raster) or pbf (vector tiles)")
    vector: bool
    tiles: str = Field(description="the tiles' URL template on this server")
    style: str | None = Field(description="a vector basemap's MapLibre style on this server; None for raster")
    min_zoom: int
    max_zoom: int
    bounds: list[float] | None = Field(description="[west, south, east, north] in degrees, when the file says")
    name: str


class DomeLensOut(BaseModel):
    pan_range_deg: float
    hfov_wide_deg: float
    hfov_tele_deg: float


class MapCameraOut(BaseModel):
    id: str
    lon: float
    lat: float
    heading_deg: float | None = Field(description="bearing it looks towards (a dome: of its pan 0); None: unknown")
    fov_deg: float = Field(description="horizontal angle drawn around the heading")
    range_m: float = Field(description="how far the field of view is drawn, in metres")
    dome: DomeLensOut | None = Field(description="a dome's lens: its live pan and zoom turn the drawn field of view")


class SitePlanOut(BaseModel):
    id: int
    commune_id: str
    site_id: str
    name: str
    media_type: str
    width: int
    height: int
    size: int
    sha256: str
    corners: list[list[float]] = Field(description="[lon, lat] of the top-left, top-right, bottom-right, bottom-left")
    image: str = Field(description="the image's URL on this server")
    uploaded_by: str
    uploaded_at: str


class MapOut(BaseModel):
    basemap: BasemapOut | None
    basemap_error: str | None = Field(description="why the configured basemap cannot be shown, or None")
    center: list[float] | None = Field(description="[lon, lat] the map opens at (configured or the basemap's)")
    zoom: float | None
    cameras: list[MapCameraOut]
    plans: list[SitePlanOut]
    plan_max_bytes: int


def _camera(c: MapCamera) -> MapCameraOut:
    dome = c.dome
    lens = (
        DomeLensOut(
            pan_range_deg=dome.pan_range_deg, hfov_wide_deg=dome.hfov_wide_deg, hfov_tele_deg=dome.hfov_tele_deg
        )
        if dome
        else None
    )
    return MapCameraOut(
        id=c.id, lon=c.lon, lat=c.lat, heading_deg=c.heading_deg, fov_deg=c.fov_deg, range_m=c.range_m, dome=lens
    )


def plan_out(p: SitePlan) -> SitePlanOut:
    return SitePlanOut(
        id=p.id or 0,
        commune_id=p.commune_id,
        site_id=p.site_id,
        name=p.name,
        media_type=p.media_type,
        width=p.width,
        height=p.height,
        size=p.size,
        sha256=p.sha256,
        corners=[list(c) for c in p.corners],
        image=f"/api/map/plans/{p.id}/image",
        uploaded_by=p.uploaded_by,
        uploaded_at=p.uploaded_at.isoformat(),
    )


@router.get("", response_model=MapOut, summary="What the map draws: basemap, cameras' fields of view, site plans")
def map_view(request: Request, principal: CurrentPrincipal) -> MapOut:
    view = _service(request).view(principal)
    basemap = None
    center = view.center
    zoom = view.zoom
    if view.basemap is not None:
        info: Any = view.basemap
        basemap = BasemapOut(
            container=info.container,
            format=info.format,
            vector=info.vector,
            tiles=TILE_URL,
            style="/api/map/style.json" if info.vector else None,
            min_zoom=info.min_zoom,
            max_zoom=info.max_zoom,
            bounds=list(info.bounds) if info.bounds else None,
            name=info.name,
        )
        center = center or info.center
        zoom = zoom if zoom is not None else info.center_zoom
    return MapOut(
        basemap=basemap,
        basemap_error=view.basemap_error,
        center=list(center) if center else None,
        zoom=zoom,
        cameras=[_camera(c) for c in view.cameras],
        plans=[plan_out(p) for p in view.plans],
        plan_max_bytes=view.plan_max_bytes,
    )


@router.get(
    "/tiles/{z}/{x}/{y}",
    summary="A tile of the city's basemap (XYZ numbering); 204 where the basemap has none",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}, "application/x-protobuf": {}}},
        204: {"description": "the basemap has no tile there (outside the city, or past its zooms)"},
        503: {"description": "no basemap configured, or it cannot be read"},
    },
)
def tile(
    request: Request,
    principal: CurrentPrincipal,
    z: Annotated[int, Path(ge=0, le=24)],
    x: Annotated[int, Path(ge=0, lt=1 << 24)],
    y: Annotated[int, Path(ge=0, lt=1 << 24)],
) -> Response:
    found = _service(request).tile(principal, z, x, y)
    if found is None:  # MapLibre draws nothing for a 204, and does not report it as an error
        return Response(status_code=204, headers={"Cache-Control": _TILE_CACHE})
    headers = {"Cache-Control": _TILE_CACHE}
    if found.gzip:
        headers["Content-Encoding"] = "gzip"
    return Response(found.data, media_type=found.media_type, headers=headers)


@router.get("/style.json", summary="The vector basemap's MapLibre style (its tiles on this server)")
def style(request: Request, principal: CurrentPrincipal) -> JSONResponse:
    return JSONResponse(_service(request).style(principal), headers={"Cache-Control": "no-store"})


PlanId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("/plans/{plan_id}", response_model=SitePlanOut, summary="A site plan of a commune you see")
def get_plan(request: Request, principal: CurrentPrincipal, plan_id: PlanId) -> SitePlanOut:
    return plan_out(_service(request).plan(principal, plan_id))


@router.get(
    "/plans/{plan_id}/image",
    summary="A site plan's image (PNG or JPEG, decoded and checked when it was uploaded)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/jpeg": {}}}},
)
def plan_image(request: Request, principal: CurrentPrincipal, plan_id: PlanId) -> Response:
    image = _service(request).plan_image(principal, plan_id)
    return Response(
        image.data, media_type=image.media_type, headers={"Cache-Control": "private, no-cache", "ETag": image.sha256}
    )


@router.post(
    "/plans",
    response_model=SitePlanOut,
    status_code=201,
    summary="Upload a site plan (the PNG or JPEG as the request body) and place it by its corners (audited)",
    max_body_size=PLAN_UPLOAD_CAP,
    responses={413: {"description": "the image is larger than map.plan_max_bytes"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "the PNG or JPEG image as is (fetch(url, {body: file}) or curl --data-binary)",
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload_plan(
    *,
    request: Request,
    principal: CurrentPrincipal,
    commune_id: Annotated[str, Query(min_length=1, max_length=64)],
    site_id: Annotated[str, Query(min_length=1, max_length=64)],
    name: Annotated[str, Query(min_length=1, max_length=PLAN_NAME_MAX)],
    corners: Annotated[
        str,
        Query(
            max_length=400,
            description="8 numbers, comma-separated: lon,lat of the top-left, top-right, bottom-right and "
            "bottom-left corners",
        ),
    ],
) -> SitePlanOut:
    # The raw body, not a multipart form (no python-multipart dependency), as the export verification's upload.
    service = _service(request)
    try:
        numbers = [float(v) for v in corners.split(",")]
    except ValueError:
        raise HTTPException(422, "corners: 8 numbers separated by commas (lon,lat of each corner)") from None
    if len(numbers) != 8:
        raise HTTPException(422, f"corners: 8 numbers (lon,lat of 4 corners), not {len(numbers)}")
    pairs = [numbers[i : i + 2] for i in range(0, 8, 2)]
    limit = service.plan_max_bytes
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            raise HTTPException(413, f"a site plan is at most {limit} bytes (map.plan_max_bytes)")
    plan = await run_in_threadpool(
        partial(
            service.upload,
            principal,
            commune_id=commune_id,
            site_id=site_id,
            name=name,
            corners=pairs,
            image=bytes(received),
        )
    )
    return plan_out(plan)


@router.delete("/plans/{plan_id}", status_code=204, summary="Remove a site plan of your commune (audited)")
def remove_plan(request: Request, principal: CurrentPrincipal, plan_id: PlanId) -> None:
    _service(request).remove(principal, plan_id)
