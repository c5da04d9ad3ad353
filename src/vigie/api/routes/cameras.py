from __future__ import annotations

from fastapi import APIRouter, Request

from vigie.api.schemas import CameraOut, LocationOut
from vigie.api.security import CurrentPrincipal
from vigie.services.access import Principal
from vigie.services.cameras import CameraService, CameraView

router = APIRouter(prefix="/api/cameras", tags=["cameras"])


@router.get("", response_model=list[CameraOut], summary="Cameras you may see, and their health")
def list_cameras(request: Request, principal: CurrentPrincipal) -> list[CameraOut]:
    return cameras_for(request, principal)


def cameras_for(request: Request, principal: Principal) -> list[CameraOut]:
    service: CameraService = request.app.state.services.cameras
    return [camera_out(v) for v in service.list_cameras(principal)]


def camera_out(v: CameraView) -> CameraOut:
    return CameraOut(
        id=v.info.id,
        name=v.info.name,
        commune_id=v.info.commune_id,
        site_id=v.info.site_id,
        kind=v.info.kind.value,
        simulated=v.info.simulated,
        state=v.state.value,
        reason=v.health.reason if v.health else "",
        since=v.health.at if v.health else None,
        fps_in=v.health.fps_in if v.health else 0.0,
        location=LocationOut(lat=loc.lat, lon=loc.lon, address=loc.address) if (loc := v.info.location) else None,
    )
