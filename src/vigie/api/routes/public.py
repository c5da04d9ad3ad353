"""The public information page and its data, without login (R252-10, L36): which cameras exist, where, and which
algorithmic analysis is in force on them, under which decision.

Only what the public notice must say: camera name, commune, site, kind and address, and its prefectoral
authorisation (reference, last day, and whether it is in force: an expired camera is listed as expired, L1); module,
legal framework, purpose, decision and period; per site, the controller and contact its signage panels print (L7).
No health, no video, no alert, no name of a person.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from vigie.api.deps import configured
from vigie.api.schemas import (
    PublicActivationOut,
    PublicAnalysisOut,
    PublicCameraOut,
    PublicPanelOut,
    PublicSiteSignageOut,
)
from vigie.services.cameras import CameraService
from vigie.services.governance_access import GovernanceAccess

router = APIRouter(prefix="/api/public", tags=["public"])
CACHE = "public, max-age=60"


@router.get("/cameras", response_model=list[PublicCameraOut], summary="Cameras in service (public, no login)")
def public_cameras(request: Request, response: Response) -> list[PublicCameraOut]:
    service: CameraService = request.app.state.services.cameras
    response.headers["Cache-Control"] = CACHE
    cameras = []
    for c in service.public_list():
        check = service.authorisation(c.id)
        cameras.append(
            PublicCameraOut(
                id=c.id,
                name=c.name,
                commune_id=c.commune_id,
                site_id=c.site_id,
                kind=c.kind.value,
                address=c.location.address if c.location else None,
                authorisation=None if check is None else check.state.value,
                authorisation_reference=check.reference or None if check else None,
                authorised_until=None if check is None else check.valid_until,
            )
        )
    return cameras


@router.get(
    "/signage", response_model=list[PublicSiteSignageOut], summary="Controller and contact per site (public, no login)"
)
def public_signage(request: Request, response: Response) -> list[PublicSiteSignageOut]:
    """What each site's information panels print (L7): the controller and where to exercise one's rights."""
    service: CameraService = request.app.state.services.cameras
    response.headers["Cache-Control"] = CACHE
    return [
        PublicSiteSignageOut(
            commune_id=site.commune_id,
            site_id=site.site_id,
            site_name=site.site_name,
            panels=[
                PublicPanelOut(controller=p.controller, contact=p.contact, camera_ids=list(p.camera_ids))
                for p in site.panels
            ],
        )
        for site in service.public_signage()
    ]


@router.get("/analysis", response_model=PublicAnalysisOut, summary="Algorithmic analysis in force (public, no login)")
def public_analysis(request: Request, response: Response) -> PublicAnalysisOut:
    governance = configured(request, "governance", GovernanceAccess, "governance is")
    response.headers["Cache-Control"] = CACHE
    summary = governance.public_analysis()
    return PublicAnalysisOut(
        at=summary.at,
        stopped=summary.stopped,
        activations=[
            PublicActivationOut(
                module=a.module,
                module_title=a.module_title,
                framework=a.framework_title,
                commune_id=a.tenant,
                camera_ids=list(a.camera_ids),
                purpose=a.purpose,
                decision_number=a.decision_number,
                decision_date=a.decision_date,
                starts_at=a.starts_at,
                runs_until=a.runs_until,
            )
            for a in summary.activations
        ],
    )
