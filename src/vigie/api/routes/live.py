"""Live view as MJPEG (``multipart/x-mixed-replace``): an ``<img src>`` shows it, with no player (see
:mod:`vigie.ingest.live` for why this format). The view ends when the viewer leaves, and also when their session
ends (logout, expiry, account disabled), they lose the right to watch, or the camera's prefectoral authorisation
ends (L1): all are checked again every ``RECHECK_S`` seconds while frames flow. A camera whose authorisation is not
in force answers 403 ``camera_not_authorised`` (audited) instead of a picture."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Final, Literal

import anyio
from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from vigie.api.deps import configured
from vigie.api.security import SESSION_COOKIE, CurrentPrincipal, still_allowed
from vigie.domain.users import Permission
from vigie.services.live import LiveService, LiveView

router = APIRouter(prefix="/api/cameras", tags=["live"])
BOUNDARY: Final = "vigieframe"
RECHECK_S: Final = 30.0
FIRST_FRAME_TIMEOUT_S: Final = 10.0
CameraId = Annotated[str, Path(min_length=1, max_length=128)]
QualityQuery = Annotated[
    Literal["wall", "full"],
    Query(description="wall: the camera's sub stream, small; full: its main stream, for a single view"),
]
_NO_STORE = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def _service(request: Request) -> LiveService:
    return configured(request, "live", LiveService, "live view is")


@router.get(
    "/{camera_id}/live.mjpeg",
    summary="Live view of a camera as MJPEG (multipart/x-mixed-replace), privacy masks burnt in",
    response_class=StreamingResponse,
    responses={200: {"content": {f"multipart/x-mixed-replace; boundary={BOUNDARY}": {}}}},
)
async def live_mjpeg(
    *, request: Request, principal: CurrentPrincipal, camera_id: CameraId, quality: QualityQuery = "wall"
) -> StreamingResponse:
    service = _service(request)
    view = await run_in_threadpool(service.open, principal, camera_id, quality)
    token = request.cookies.get(SESSION_COOKIE, "")
    return StreamingResponse(
        _frames(request, service, view, token),
        media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
        headers=_NO_STORE,
    )


@router.get(
    "/{camera_id}/live.jpg",
    summary="The camera's latest live image (JPEG), privacy masks burnt in",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
async def live_still(
    *, request: Request, principal: CurrentPrincipal, camera_id: CameraId, quality: QualityQuery = "wall"
) -> Response:
    service = _service(request)
    view = await run_in_threadpool(service.open, principal, camera_id, quality)
    viewer = view.feed.subscribe()
    frame = None
    try:
        frame = await view.feed.next_frame(viewer, 0, FIRST_FRAME_TIMEOUT_S)
    finally:
        view.feed.unsubscribe(viewer)
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(service.close, view, frames=0 if frame is None else 1, reason="still")
    if frame is None:
        detail = view.feed.error or f"no picture from camera {camera_id} yet: try again in a few seconds"
        raise HTTPException(status_code=503, detail=detail)
    return Response(frame.jpeg, media_type="image/jpeg", headers=_NO_STORE)


async def _frames(request: Request, service: LiveService, view: LiveView, token: str) -> AsyncIterator[bytes]:
    feed = view.feed
    viewer = feed.subscribe()
    sent, seq, reason = 0, 0, "left"
    recheck_at = time.monotonic() + RECHECK_S
    try:
        while True:
            frame = await feed.next_frame(viewer, seq, 5.0)
            if frame is not None:
                seq = frame.seq
                head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(frame.jpeg)}\r\n\r\n"
                yield head.encode() + frame.jpeg + b"\r\n"
                sent += 1
            if time.monotonic() >= recheck_at:
                recheck_at = time.monotonic() + RECHECK_S
                if await still_allowed(request.app.state.services.auth, token, Permission.VIEW_LIVE) is None:
                    reason = "session ended"
                    return
                if service.refusal(view.camera_id) is not None:  # the camera's authorisation ended (L1)
                    reason = "camera authorisation ended"
                    return
    finally:
        feed.unsubscribe(viewer)
        # The viewer left: the response task is being cancelled, and anyio cancels every later await in it
        # unless shielded; the end of the view must still reach the audit log.
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(service.close, view, frames=sent, reason=reason)
