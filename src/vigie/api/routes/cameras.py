from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request, Response

from vigie.api.camera_lists import CameraListing, CameraLists, ListingFacts
from vigie.api.schemas import CameraOut
from vigie.api.security import CurrentPrincipal
from vigie.domain.users import Permission
from vigie.services.access import Principal
from vigie.services.cameras import CameraService
from vigie.services.governance_access import GovernanceAccess
from vigie.services.sites import SiteService

router = APIRouter(prefix="/api/cameras", tags=["cameras"])


@router.get(
    "",
    response_model=list[CameraOut],
    summary="Cameras you may see, and their health (shared by all who see the same cameras, a few seconds old at most)",
)
def list_cameras(request: Request, principal: CurrentPrincipal) -> Response:
    listing = camera_listing(request, principal)
    if "gzip" in request.headers.get("accept-encoding", "").lower():  # every browser
        return Response(
            listing.gzipped(),
            media_type="application/json",
            headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
        )
    return Response(listing.body, media_type="application/json", headers={"Vary": "Accept-Encoding"})


def camera_listing(request: Request, principal: Principal) -> CameraListing:
    """The list ``principal`` may see, shared by this process (:mod:`vigie.api.camera_lists`)."""
    service: CameraService = request.app.state.services.cameras
    lists: CameraLists = request.app.state.camera_lists
    return lists.listing(service, principal, listing_facts(request, principal))


def listing_facts(request: Request, principal: Principal) -> ListingFacts:
    """The commune and site names the tree shows, and the analysis active on each camera (issue 24)."""
    sites: SiteService | None = getattr(request.app.state.services, "sites", None)
    governance: GovernanceAccess | None = getattr(request.app.state.services, "governance", None)

    def names() -> tuple[Mapping[str, str], Mapping[str, str]]:
        communes = {c.id: c.name for c in principal.directory.communes}
        places = {s.id: s.name for s in sites.list_for(principal, limit=1_000_000)} if sites is not None else {}
        return communes, places

    def analysis() -> Mapping[str, tuple[str, ...]]:
        if governance is None:
            return {}
        public = governance.public_analysis()  # in force now, stopped cameras left out
        if public.stopped:
            return {}
        active: dict[str, set[str]] = {}
        for item in public.activations:
            for camera in item.camera_ids:
                active.setdefault(camera, set()).add(item.module)
        if principal.can(Permission.READ_GOVERNANCE):  # cameras analysed because their footage is simulated
            for camera, modules in governance.status_for(principal, limit=1).simulated:
                active.setdefault(camera, set()).update(modules)
        return {camera: tuple(sorted(modules)) for camera, modules in active.items()}

    return ListingFacts(names=names, analysis=analysis)
