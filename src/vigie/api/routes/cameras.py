from __future__ import annotations

from fastapi import APIRouter, Request, Response

from vigie.api.camera_lists import CameraListing, CameraLists
from vigie.api.schemas import CameraOut
from vigie.api.security import CurrentPrincipal
from vigie.services.access import Principal
from vigie.services.cameras import CameraService

router = APIRouter(prefix="/api/cameras", tags=["cameras"])


@router.get(
    "",
    response_model=list[CameraOut],
    summary="Cameras you may see, and their health (shared by all who see the same cameras, a few seconds old at most)",
)
def list_cameras(request: Request, principal: CurrentPrincipal) -> Response:
    return Response(camera_listing(request, principal).body, media_type="application/json")


def camera_listing(request: Request, principal: Principal) -> CameraListing:
    """The list ``principal`` may see, shared by this process (:mod:`vigie.api.camera_lists`)."""
    service: CameraService = request.app.state.services.cameras
    lists: CameraLists = request.app.state.camera_lists
    return lists.listing(service, principal)
