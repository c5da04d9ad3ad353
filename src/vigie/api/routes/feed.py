"""A live feed for the console (Server-Sent Events): new alerts of the cameras one may see, the camera list when a
camera's state or reason changes, and the cameras a sensor's link rule asks to show on the wall (issue 21). The
workers run in other processes and write to the database, so the feed reads the services every ``POLL_S`` seconds
per connection (one indexed query for alerts; the camera list shared by the process, :mod:`vigie.api.camera_lists`):
an operator learns of an alert within that delay without reloading anything. The session is checked again every
``RECHECK_S``; when it has ended the feed says so (``event: ended``) and closes.

Why SSE and not a WebSocket: the feed only flows from the server, SSE reconnects by itself, passes proxies as plain
HTTP, and carries the session cookie and its checks like any other request."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from vigie.api.camera_lists import CameraListing
from vigie.api.routes.alerts import alert_out
from vigie.api.routes.cameras import camera_listing
from vigie.api.security import SESSION_COOKIE, CurrentPrincipal, still_allowed
from vigie.domain.sensors import SensorLinkEvent
from vigie.domain.users import Permission
from vigie.services.access import Principal
from vigie.services.alerts import AlertService
from vigie.services.sensors import SensorLinkService

router = APIRouter(prefix="/api", tags=["feed"])
POLL_S: Final = 2.0
RECHECK_S: Final = 30.0
KEEPALIVE_S: Final = 15.0
BACKLOG: Final = 50
"""Alerts read per poll; more new alerts than this within one poll are left to the alert list."""


@router.get(
    "/feed",
    summary="Server-Sent Events: `alert` (a new alert, as in /api/alerts), `cameras` (the camera list first, then the "
    "cameras that appear or change state, merged by id), `cameras-gone` (ids of cameras gone), "
    "`sensor` (a sensor's link rule asks to show cameras on the wall)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def feed(request: Request, principal: CurrentPrincipal) -> StreamingResponse:
    token = request.cookies.get(SESSION_COOKIE, "")
    return StreamingResponse(
        _events(request, principal, token),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _sensor_out(link: SensorLinkEvent, cameras: list[str]) -> dict[str, Any]:
    return {
        "id": link.id,
        "rule": link.rule,
        "sensor": link.sensor_id,
        "action": link.action,
        "cameras": cameras,
        "label": link.label,
        "at": link.at.isoformat(),
        "observed_at": link.observed_at.isoformat(),
    }


def _camera_changes(listing: CameraListing, signature_sent: str, sent: dict[str, str]) -> list[bytes]:
    """Nothing when the list's signature is the one sent. After the first whole list, only the cameras that
    appeared or changed (``cameras``, merged by id by the console) and the ids of those gone (``cameras-gone``):
    the whole list is about 2 MB at the métropole's size. ``sent`` becomes what the connection's console holds."""
    if listing.signature == signature_sent:
        return []
    if not sent or not listing.keys:
        sent.clear()
        sent.update(listing.keys)
        return [b"event: cameras\ndata: " + listing.body + b"\n\n"]
    changed = [listing.parts[c] for c, key in listing.keys.items() if sent.get(c) != key]
    gone = [c for c in sent if c not in listing.keys]
    chunks = []
    if changed:
        chunks.append(b"event: cameras\ndata: [" + b",".join(changed) + b"]\n\n")
    if gone:
        chunks.append(_event("cameras-gone", gone))
    sent.clear()
    sent.update(listing.keys)  # what this connection's console now holds
    return chunks


def _event(name: str, data: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def _events(request: Request, principal: Principal, token: str) -> AsyncIterator[bytes]:
    service: AlertService | None = getattr(request.app.state.services, "alerts", None)
    alerts = service if service is not None and principal.can(Permission.READ_ALERTS) else None
    last_alert = 0
    if alerts is not None:
        newest = await run_in_threadpool(alerts.list_for, principal, limit=1)
        last_alert = (newest[0].id or 0) if newest else 0
    links: SensorLinkService | None = getattr(request.app.state.services, "sensor_links", None)
    wall = links if links is not None and principal.can(Permission.VIEW_LIVE) else None
    last_link = 0
    if wall is not None:
        last_link = await run_in_threadpool(wall.newest_id)
    cameras_sent = ""
    keys_sent: dict[str, str] = {}
    recheck_at = time.monotonic() + RECHECK_S
    keepalive_at = time.monotonic() + KEEPALIVE_S
    yield b"retry: 3000\n\n"
    while True:
        if alerts is not None:
            recent = await run_in_threadpool(alerts.list_for, principal, limit=BACKLOG)
            for alert in sorted((a for a in recent if (a.id or 0) > last_alert), key=lambda a: a.id or 0):
                last_alert = alert.id or 0
                yield _event("alert", alert_out(alert, alerts.priority_of(alert)).model_dump(mode="json"))
        if wall is not None:
            for link in await run_in_threadpool(wall.recent, after_id=last_link, limit=BACKLOG):
                last_link = link.id or last_link
                shown = principal.visible_cameras(link.cameras)
                if link.action == "show_on_wall" and shown:
                    yield _event("sensor", _sensor_out(link, shown))
        listing = await run_in_threadpool(camera_listing, request, principal)
        for chunk in _camera_changes(listing, cameras_sent, keys_sent):
            yield chunk
        cameras_sent = listing.signature
        now = time.monotonic()
        if now >= keepalive_at:
            keepalive_at = now + KEEPALIVE_S
            yield b": keepalive\n\n"
        if now >= recheck_at:
            recheck_at = now + RECHECK_S
            current = await still_allowed(request.app.state.services.auth, token)
            if current is None:
                yield _event("ended", {"reason": "session ended"})
                return
            principal = current
        await asyncio.sleep(POLL_S)
