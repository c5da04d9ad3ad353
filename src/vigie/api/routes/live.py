"""Live view as MJPEG (``multipart/x-mixed-replace``): an ``<img src>`` shows it, with no player (see
:mod:`vigie.ingest.live` for why this format). The view ends when the viewer leaves, and also when their session
ends (logout, expiry, account disabled), they lose the right to watch, or the camera's prefectoral authorisation
ends (L1): all are checked again every ``RECHECK_S`` seconds while frames flow. A camera whose authorisation is not
in force answers 403 ``camera_not_authorised`` (audited) instead of a picture.

The camera's own H.264, passed through without transcoding, comes over a WebSocket as fragmented MP4 for Media
Source Extensions (``/api/cameras/{id}/live.fmp4``, :mod:`vigie.ingest.live_fmp4`): authenticated like the MJPEG
route (the session cookie, checked again every ``RECHECK_S``; the handshake's ``Origin`` must be this server, as for
the wall), opened and closed through the same :class:`~vigie.services.live.LiveService` checks and audit. The
first message is text, ``{"codec", "mime", "width", "height"}``, then the init segment and fragments as binary
messages (again a text message and an init segment if the stream's parameters change). A refusal is a text
message ``{"error", "code"}`` and the socket closes: ``mjpeg_only`` (4406) for a camera with privacy masks, whose
raw stream never leaves the server (L6) — the console shows it as MJPEG. ``GET /api/cameras/live.fmp4`` lists the
cameras one may watch that way."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final, Literal, cast

import anyio
from fastapi import APIRouter, HTTPException, Path, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from vigie.api.deps import configured
from vigie.api.routes.wall import FORBIDDEN, NOT_AUTHENTICATED, POLICY_VIOLATION, _same_origin
from vigie.api.security import SESSION_COOKIE, CurrentPrincipal, still_allowed
from vigie.domain.ports import LiveQuality
from vigie.domain.users import Permission
from vigie.services.access import AccessDeniedError, NotVisibleError, Principal
from vigie.services.auth import AuthService
from vigie.services.cameras import CameraNotAuthorisedError
from vigie.services.live import LiveService, LiveView, PassThroughUnavailableError

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
NOT_FOUND: Final = 4404
MJPEG_ONLY: Final = 4406
WAIT_S: Final = 5.0


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


@router.get(
    "/live.fmp4",
    summary="The cameras you may watch as their own H.264 (fragmented MP4 over a WebSocket); the others are MJPEG",
)
async def passthrough_cameras(*, request: Request, principal: CurrentPrincipal) -> dict[str, list[str]]:
    return {"cameras": await run_in_threadpool(_service(request).passthrough_cameras, principal)}


@router.websocket("/{camera_id}/live.fmp4")
async def live_fmp4(websocket: WebSocket, camera_id: str) -> None:
    service = configured(websocket, "live", LiveService, "live view is")
    auth = configured(websocket, "auth", AuthService, "accounts are")
    token = websocket.cookies.get(SESSION_COOKIE, "")
    quality = websocket.query_params.get("quality", "wall")
    if not _same_origin(websocket):
        await websocket.close(code=POLICY_VIOLATION, reason="this page may not open live view")
        return
    if quality not in ("wall", "full") or not 0 < len(camera_id) <= 128:
        await websocket.close(code=POLICY_VIOLATION, reason="quality is wall or full")
        return
    principal = await run_in_threadpool(auth.resolve, token)
    if principal is None:
        await websocket.close(code=NOT_AUTHENTICATED, reason="log in first")
        return
    await websocket.accept()
    view = await _open(websocket, service, auth, principal, (camera_id, cast(LiveQuality, quality)))
    if view is not None:
        await _PassThrough(websocket, service, auth, view, token).run()


async def _open(
    ws: WebSocket, service: LiveService, auth: AuthService, principal: Principal, what: tuple[str, LiveQuality]
) -> LiveView | None:
    """The view of ``what`` (camera, quality), or None once the refusal is sent (and audited, for a forbidden one)
    and the socket closed."""
    camera_id, quality = what
    try:
        return await run_in_threadpool(service.open_passthrough, principal, camera_id, quality)
    except AccessDeniedError as err:
        client = ws.client.host if ws.client else "unknown"
        await run_in_threadpool(auth.denied, principal, f"GET {ws.url.path}", str(err), client)
        code, close = ("camera_not_authorised" if isinstance(err, CameraNotAuthorisedError) else "forbidden"), FORBIDDEN
        message = str(err)
    except NotVisibleError as err:
        code, close, message = "not_found", NOT_FOUND, str(err)
    except PassThroughUnavailableError as err:
        code, close, message = "mjpeg_only", MJPEG_ONLY, str(err)
    await ws.send_text(json.dumps({"error": message, "code": code}))
    await ws.close(code=close, reason=code)
    return None


class _PassThrough:
    """One fMP4 view: a task sends what the feed has, another waits for the client to leave; the first to end
    ends the view, whose end is audited."""

    def __init__(self, ws: WebSocket, service: LiveService, auth: AuthService, view: LiveView, token: str) -> None:
        self.ws, self.service, self.auth, self.view, self.token = ws, service, auth, view, token

    async def run(self) -> None:
        feed = self.view.feed
        viewer = feed.subscribe()
        sender = asyncio.create_task(self._send(viewer))
        receiver = asyncio.create_task(self._until_closed())
        reason = "left"
        try:
            done, _ = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if sender in done and not sender.cancelled() and sender.exception() is None:
                reason = sender.result()
        finally:
            for task in (sender, receiver):
                task.cancel()
            feed.unsubscribe(viewer)
            with anyio.CancelScope(shield=True):
                await asyncio.gather(sender, receiver, return_exceptions=True)
                if reason != "left":
                    await _close_quietly(self.ws, NOT_AUTHENTICATED if reason == "session ended" else FORBIDDEN, reason)
                await run_in_threadpool(
                    self.service.close, self.view, frames=viewer.sent, reason=reason, dropped=viewer.dropped
                )

    async def _until_closed(self) -> None:
        try:
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
        except (WebSocketDisconnect, RuntimeError):
            return

    async def _send(self, viewer: Any) -> str:
        """Send until the session or the camera's authorisation ends; returns why (a client that left ends it
        from the other task, or by a failed send)."""
        feed = self.view.feed
        recheck_at = time.monotonic() + RECHECK_S
        while True:
            items = await feed.next_items(viewer, WAIT_S)
            if not items and feed.error:
                await self.ws.send_text(json.dumps({"error": feed.error, "code": "no_video"}))
            pending: list[bytes] = []
            for item in items:
                if item.header is not None:
                    if pending:
                        await self.ws.send_bytes(b"".join(pending))
                        pending = []
                    await self.ws.send_text(json.dumps(item.header))
                pending.append(item.data)
            if pending:  # consecutive fragments in one message: the player appends them alike
                await self.ws.send_bytes(b"".join(pending))
            if time.monotonic() >= recheck_at:
                recheck_at = time.monotonic() + RECHECK_S
                if await still_allowed(self.auth, self.token, Permission.VIEW_LIVE) is None:
                    return "session ended"
                if self.service.refusal(self.view.camera_id) is not None:
                    return "camera authorisation ended"


async def _close_quietly(ws: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):  # the client left meanwhile
        await ws.close(code=code, reason=reason)
