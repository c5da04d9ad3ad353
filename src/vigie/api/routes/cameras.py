from __future__ import annotations

from fastapi import APIRouter, Request

from vigie.api.schemas import CameraOut
from vigie.api.security import CurrentPrincipal
from vigie.services.cameras import CameraService

router = APIRouter(prefix="/api/cameras", tags=["cameras"])


@router.get("", response_model=list[CameraOut], summary="Cameras you may see, and their health")
def list_cameras(request: Request, principal: CurrentPrincipal) -> list[CameraOut]:
    service: CameraService = request.app.state.services.cameras
    return [
        CameraOut(
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
        )
        for v in service.list_cameras(principal)
    ]
