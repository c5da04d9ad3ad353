"""The camera wall over one WebSocket: every tile's live images on a single connection.

Why not one MJPEG response per tile: a browser opens at most six HTTP/1.1 connections to a server, and an MJPEG
response holds one for as long as it is watched — a wall of twelve would show six tiles and then starve the
console's own requests. One WebSocket carries them all: the console says which cameras it shows
(``{"cameras": [...]}``, again whenever the page of the wall changes), and receives binary messages, each one
JPEG of one camera: one byte giving the length of the camera id, the id in UTF-8, then the JPEG. A camera it may
not watch comes back as a text message ``{"camera": id, "error": message}`` instead.

The session cookie authenticates the connection like any request; the handshake's ``Origin`` must be this server
(a page of another site cannot open it in the person's name). Each camera's view is opened and closed through
:class:`~vigie.services.live.LiveService`, so the audit log has it like any live view; the session is checked
again every ``RECHECK_S`` and the socket closes when it has ended. A slow client gets the newest image of each
camera, never a backlog.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Final
from urllib.parse import urlsplit

import anyio
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from vigie.api.deps import configured
from vigie.api.security import SESSION_COOKIE, still_allowed
from vigie.domain.users import Permission
from vigie.services.access import AccessDeniedError, NotVisibleError, Principal
from vigie.services.auth import AuthService
from vigie.services.live import LiveService, LiveView

router = APIRouter(tags=["live"])
WALL_MAX: Final = 16
"""Cameras one wall connection may show at once (a page of the wall is 12)."""
log = logging.getLogger(__name__)

RECHECK_S: Final = 30.0
STOP_TRIES: Final = 10
"""Cancellations (a second apart) a tile's task gets to end when it is taken off the wall."""
POLICY_VIOLATION: Final = 1008
NOT_AUTHENTICATED: Final = 4401
FORBIDDEN: Final = 4403


def _same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:  # not a browser (a command-line client): the cookie alone decides
        return True
    return urlsplit(origin).netloc == websocket.headers.get("host", "")


@router.websocket("/api/live/wall")
async def wall(websocket: WebSocket) -> None:
    service = configured(websocket, "live", LiveService, "live view is")
    auth = configured(websocket, "auth", AuthService, "accounts are")
    token = websocket.cookies.get(SESSION_COOKIE, "")
    if not _same_origin(websocket):
        await websocket.close(code=POLICY_VIOLATION, reason="this page may not open the wall")
        return
    principal = await run_in_threadpool(auth.resolve, token)
    if principal is None:
        await websocket.close(code=NOT_AUTHENTICATED, reason="log in first")
        return
    try:
        principal.require(Permission.VIEW_LIVE)
    except AccessDeniedError as err:
        client = websocket.client.host if websocket.client else "unknown"
        await run_in_threadpool(auth.denied, principal, "GET /api/live/wall", str(err), client)
        await websocket.close(code=FORBIDDEN, reason=str(err)[:120])
        return
    await websocket.accept()
    await _Wall(websocket, service, auth, principal, token).run()


class _Wall:
    def __init__(
        self, websocket: WebSocket, service: LiveService, auth: AuthService, principal: Principal, token: str
    ) -> None:
        self.ws = websocket
        self.service = service
        self.auth = auth
        self.principal = principal
        self.token = token
        self.pumps: dict[str, tuple[asyncio.Task[None], LiveView]] = {}
        self.sent: dict[str, int] = {}
        self.send_lock = asyncio.Lock()

    async def run(self) -> None:
        reason = "left"
        try:
            while True:
                try:
                    with anyio.fail_after(RECHECK_S):
                        message = await self.ws.receive_text()
                except TimeoutError:
                    message = None
                if not await self._still_allowed():
                    reason = "session ended"
                    await self.ws.close(code=NOT_AUTHENTICATED, reason="your session has ended")
                    return
                await self._drop_unauthorised()
                if message is not None:
                    await self._watch(_cameras(message))
        except WebSocketDisconnect:
            pass
        finally:
            for camera in list(self.pumps):
                await self._stop(camera, reason)

    async def _still_allowed(self) -> bool:
        current = await still_allowed(self.auth, self.token, Permission.VIEW_LIVE)
        if current is None:
            return False
        self.principal = current
        return True

    async def _watch(self, cameras: list[str] | str) -> None:
        if isinstance(cameras, str):
            await self.ws.send_text(json.dumps({"error": cameras}))
            return
        for camera in [c for c in self.pumps if c not in cameras]:
            await self._stop(camera, "left")
        for camera in cameras:
            if camera in self.pumps:
                continue
            try:
                # shielded: a view whose opening is audited is registered, so that its end is audited too, even
                # when the socket is torn down meanwhile
                with anyio.CancelScope(shield=True):
                    view = await run_in_threadpool(self.service.open, self.principal, camera, "wall")
                    self.sent[camera] = 0
                    self.pumps[camera] = (asyncio.create_task(self._pump(view)), view)
            except (AccessDeniedError, NotVisibleError) as err:
                if isinstance(err, AccessDeniedError):  # audited like every refused access (404s are not)
                    client = self.ws.client.host if self.ws.client else "unknown"
                    await run_in_threadpool(self.auth.denied, self.principal, f"WALL {camera}", str(err), client)
                await self.ws.send_text(json.dumps({"camera": camera, "error": str(err)}))

    async def _drop_unauthorised(self) -> None:
        """Stop the tiles of cameras whose prefectoral authorisation has ended since they were opened (L1)."""
        for camera in list(self.pumps):
            refusal = self.service.refusal(camera)
            if refusal is not None:
                await self._stop(camera, "camera authorisation ended")
                await self.ws.send_text(json.dumps({"camera": camera, "error": f"live view ended: {refusal}"}))

    async def _pump(self, view: LiveView) -> None:
        feed = view.feed
        viewer = feed.subscribe()
        prefix = bytes([len(view.camera_id.encode())]) + view.camera_id.encode()
        seq = 0
        try:
            while True:
                frame = await feed.next_frame(viewer, seq, 5.0)
                if frame is None:
                    continue
                seq = frame.seq
                async with self.send_lock:
                    await self.ws.send_bytes(prefix + frame.jpeg)
                self.sent[view.camera_id] += 1
        finally:
            feed.unsubscribe(viewer)

    async def _stop(self, camera: str, reason: str) -> None:
        """End one tile's view and audit its end. Shielded from the socket's own cancellation: a tile taken off
        the wall just as the socket is torn down was once neither still open (for the final clean-up) nor recorded
        as ended — a view seen in the audit log with no end."""
        with anyio.CancelScope(shield=True):
            task, view = self.pumps.pop(camera)
            # cancelled until it ends: shielded, one cancellation lost inside the task would wait here for ever
            for _ in range(STOP_TRIES):
                task.cancel()
                await asyncio.wait({task}, timeout=1.0)
                if task.done():
                    break
            else:
                log.error(
                    "wall: the tile of %s did not stop after %d cancellations; its view is closed", camera, STOP_TRIES
                )
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.debug("wall: the tile of %s ended with %r", camera, task.exception())
            await run_in_threadpool(self.service.close, view, frames=self.sent.pop(camera, 0), reason=reason)


def _cameras(message: str) -> list[str] | str:
    """The cameras a ``{"cameras": [...]}`` message asks for, or what is wrong with it."""
    try:
        data = json.loads(message)
    except ValueError:
        return 'send {"cameras": ["camera-id", ...]} as JSON'
    cameras = data.get("cameras") if isinstance(data, dict) else None
    if not isinstance(cameras, list) or not all(isinstance(c, str) and 0 < len(c) <= 128 for c in cameras):
        return 'send {"cameras": ["camera-id", ...]}: a list of camera ids'
    if len(cameras) > WALL_MAX:
        return f"a wall shows at most {WALL_MAX} cameras at once"
    return list(dict.fromkeys(cameras))
