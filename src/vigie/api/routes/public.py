"""The public information page's data, without login (R252-10, L36): which cameras exist, where.

Only what the public notice must say: camera name, commune, site and kind. No health, no video, no alert.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from vigie.api.schemas import PublicCameraOut
from vigie.services.cameras import CameraService

router = APIRouter(prefix="/api/public", tags=["public"])


@router.get("/cameras", response_model=list[PublicCameraOut], summary="Cameras in service (public, no login)")
def public_cameras(request: Request, response: Response) -> list[PublicCameraOut]:
    service: CameraService = request.app.state.services.cameras
    response.headers["Cache-Control"] = "public, max-age=60"
    return [
        PublicCameraOut(id=c.id, name=c.name, commune_id=c.commune_id, site_id=c.site_id, kind=c.kind.value)
        for c in service.public_list()
    ]
