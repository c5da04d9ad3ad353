"""The camera list as the console reads it, built once per process for everyone who sees the same cameras.

The console reads the list of its cameras at every refresh (``GET /api/cameras``, every 15 s) and its live feed
watches it for changes (``/api/feed``, every 2 s per connection). A transport network's operator sees 4,241
cameras: built per request and per connection — the health of every camera read, a model and a dict per camera,
the JSON written — the lists took most of an API process's interpreter at the métropole's size and its console
calls waited behind them (docs/sizing.md). So a process builds each list at most once every ``max_age_s`` for
each set of visible tenants (people of one tenant see the same cameras: :meth:`Principal.sees_camera`), and
every request and feed connection of that set shares the JSON. The permission is checked per person, before the
shared list is handed over.

The feed sends the list when what an operator acts on changes — a camera's state or its reason — not at every new
frame rate: :attr:`CameraListing.signature` covers only those; the figures (``fps_in``, ``since``) are refreshed
with the console's own refresh.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from vigie.api.schemas import CameraOut, LocationOut
from vigie.domain.users import Permission
from vigie.services.access import Principal
from vigie.services.cameras import CameraService, CameraView

MAX_AGE_S = 1.0
"""How old a shared list may be: health is written by the sink every few seconds per camera anyway."""


@dataclass(frozen=True, slots=True)
class CameraListing:
    body: bytes
    """The JSON array of :class:`CameraOut`, as ``GET /api/cameras`` answers it."""
    signature: str
    """Changes when a camera appears, goes, or changes state or reason (what the live feed reports)."""


def camera_out(v: CameraView) -> CameraOut:
    return CameraOut(
        id=v.info.id,
        name=v.info.name,
        commune_id=v.info.commune_id,
        site_id=v.info.site_id,
        kind=v.info.kind.value,
        simulated=v.info.simulated,
        state=v.state.value,
        reason=v.health.reason if v.health else "",
        since=v.health.at if v.health else None,
        fps_in=v.health.fps_in if v.health else 0.0,
        location=LocationOut(lat=loc.lat, lon=loc.lon, address=loc.address) if (loc := v.info.location) else None,
    )


class CameraLists:
    """This process's shared camera lists, by set of visible tenants (a few dozen at most: the tenants and their
    sharing agreements)."""

    def __init__(self, max_age_s: float = MAX_AGE_S, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._max_age_s, self._monotonic = max_age_s, monotonic
        self._lists: dict[frozenset[str], tuple[float, CameraListing]] = {}
        self._lock = threading.Lock()
        """One build at a time: the requests that arrive during a build wait for it and share it."""

    def listing(self, service: CameraService, principal: Principal) -> CameraListing:
        principal.require(Permission.VIEW_CAMERAS)  # per person, whoever built the shared list
        key = principal.communes
        with self._lock:
            kept = self._lists.get(key)
            now = self._monotonic()
            if kept is not None and now - kept[0] < self._max_age_s:
                return kept[1]
            views = service.list_cameras(principal)
            listing = _listing(views)
            self._lists[key] = (self._monotonic(), listing)
            return listing


def _listing(views: list[CameraView]) -> CameraListing:
    # One pydantic pass for the whole list (TypeAdapter would validate it again; the models are built valid).
    body = b"[" + b",".join(camera_out(v).model_dump_json().encode() for v in views) + b"]"
    signature = hashlib.sha256()
    for v in views:
        signature.update(f"{v.info.id}\x00{v.state.value}\x00{v.health.reason if v.health else ''}\x01".encode())
    return CameraListing(body, signature.hexdigest())
