"""An alert's image, taken from the recording at the alert's time (see :mod:`vigie.services.snapshots`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

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
    service: SnapshotService | None = getattr(request.app.state.services, "snapshots", None)
    if service is None:
        raise HTTPException(status_code=503, detail="alert images are not available on this server")
    jpeg = await run_in_threadpool(service.for_alert, principal, alert_id)
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"})
