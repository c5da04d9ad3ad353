"""An alert's image, taken from the recording at the alert's time (see :mod:`vigie.services.snapshots`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from vigie.api.deps import configured
from vigie.api.security import CurrentPrincipal
from vigie.services.snapshots import SnapshotService

router = APIRouter(prefix="/api/alerts", tags=["alerts"])


@router.get(
    "/{alert_id}/snapshot.jpg",
    summary="The recorded image at the alert's time (JPEG; audited as a playback)",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
async def snapshot(
    request: Request, principal: CurrentPrincipal, alert_id: Annotated[int, Path(ge=1, le=2**62)]
) -> Response:
    service = configured(request, "snapshots", SnapshotService, "alert images are")
    jpeg = await run_in_threadpool(service.for_alert, principal, alert_id)
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"})
