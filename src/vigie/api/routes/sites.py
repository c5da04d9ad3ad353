"""Sites of the communes one sees, with their cameras, and the zones drawn on a camera (analysis zones, privacy
masks, directed lines) for the console to draw over the picture. Tenant scoping is done by the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from vigie.api.deps import configured
from vigie.api.schemas import CameraZonesOut, SiteOut, SitePageOut, ZoneOut
from vigie.api.security import CurrentPrincipal
from vigie.services.sites import SiteService

router = APIRouter(tags=["sites"])


def _service(request: Request) -> SiteService:
    return configured(request, "sites", SiteService, "sites are")


@router.get("/api/sites", response_model=SitePageOut, summary="Sites of the communes you see, with their cameras")
def list_sites(
    *,
    request: Request,
    principal: CurrentPrincipal,
    commune_id: Annotated[str | None, Query(max_length=64, description="only the sites of this commune")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> SitePageOut:
    sites = _service(request).list_for(principal, commune_id=commune_id, limit=limit, offset=offset)
    return SitePageOut(
        items=[
            SiteOut(id=s.id, commune_id=s.commune_id, name=s.name, address=s.address, camera_ids=list(s.camera_ids))
            for s in sites
        ],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(sites) == limit else None,
    )


@router.get(
    "/api/cameras/{camera_id}/zones",
    response_model=CameraZonesOut,
    summary="Zones drawn on a camera you see: analysis zones, privacy masks, directed lines (normalised)",
)
def camera_zones(
    request: Request, principal: CurrentPrincipal, camera_id: Annotated[str, Path(max_length=128)]
) -> CameraZonesOut:
    zones = _service(request).zones_for(principal, camera_id)
    return CameraZonesOut(
        camera_id=camera_id,
        zones=[
            ZoneOut(
                id=z.id,
                kind=z.kind,
                description=z.description,
                points=[(x, y) for x, y in z.points],
                direction=z.direction,
            )
            for z in zones
        ],
    )
