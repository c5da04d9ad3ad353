"""The camera list as the console reads it, built once per process for everyone who sees the same cameras.

The console reads the list of its cameras at every refresh (``GET /api/cameras``, every 15 s) and its live feed
watches it for changes (``/api/feed``, every 2 s per connection). A transport network's operator sees 4,241
cameras: built per request and per connection — the health of every camera read, a model and a dict per camera,
the JSON written — the lists took most of an API process's interpreter at the métropole's size and its console
calls waited behind them (docs/sizing.md). So a process keeps one list per set of visible tenants (people of one
tenant see the same cameras: :meth:`Principal.sees_camera`), rebuilt in the background once it is ``max_age_s``
old, and every request and feed connection of that set shares its JSON. The permission is checked per person,
before the shared list is handed over.

The feed sends the list when what an operator acts on changes — a camera's state or its reason — not at every new
frame rate: :attr:`CameraListing.signature` covers only those; the figures (``fps_in``, ``since``) are refreshed
with the console's own refresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from vigie.api.schemas import CameraOut, LocationOut
from vigie.domain.users import Permission
from vigie.services.access import Principal
from vigie.services.cameras import CameraService, CameraView

log = logging.getLogger(__name__)
TOO_OLD = 3
"""A list older than this many ``max_age_s`` is not served while the next is built: the caller waits for it."""

MAX_AGE_S = 2.0
"""How old a shared list may be before it is rebuilt: the feed polls every 2 s, and the sink writes a camera's
health when it changes or every 10 s."""

FIGURES_MAX_AGE_S = 10.0
"""How old the list's figures (``fps_in``, ``since``) may be: a rebuild whose cameras' states and reasons are those
of the last one keeps its JSON until it is this old (the console refreshes its figures every 15 s). Writing 4,241
cameras' JSON every 2 s for one transport tenant (1.2 MB) held an API process's interpreter about 50 ms each time
(48–55 ms measured on the 2-core development host), which the console's other calls waited behind."""


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
    sharing agreements).

    A list older than ``max_age_s`` is rebuilt in the background while its callers get the one they had (at most
    one build more old): while the consoles poll, none waits for a build. A list nobody asked for in
    ``TOO_OLD × max_age_s`` is built for its next caller, who waits. Each camera's identity is
    written as JSON once (it comes from the configuration); a build writes only its health."""

    def __init__(
        self,
        max_age_s: float = MAX_AGE_S,
        monotonic: Callable[[], float] = time.monotonic,
        figures_max_age_s: float = FIGURES_MAX_AGE_S,
    ) -> None:
        self._max_age_s, self._monotonic, self._figures_max_age_s = max_age_s, monotonic, figures_max_age_s
        self._lists: dict[frozenset[str], tuple[float, CameraListing]] = {}
        self._written: dict[frozenset[str], float] = {}
        """When each list's JSON was last written (a build that changed no state or reason keeps it)."""
        self._building: set[frozenset[str]] = set()
        self._identities: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._first = threading.Lock()
        """One first build at a time: the requests that arrive during it wait for it and share it."""

    def listing(self, service: CameraService, principal: Principal) -> CameraListing:
        principal.require(Permission.VIEW_CAMERAS)  # per person, whoever built the shared list
        key = principal.communes
        with self._lock:
            kept = self._lists.get(key)
            age = math.inf if kept is None else self._monotonic() - kept[0]
            if age >= self._max_age_s * TOO_OLD:
                kept = None  # nobody asked for a while: built for this caller, never that old a list served
            refresh = kept is not None and age >= self._max_age_s and key not in self._building
            if refresh:
                self._building.add(key)
        if kept is None:
            with self._first:
                with self._lock:
                    kept = self._lists.get(key)
                if kept is None or self._monotonic() - kept[0] >= self._max_age_s * TOO_OLD:
                    return self._build(key, service, principal)
            return kept[1]
        if refresh:
            threading.Thread(target=self._refresh, args=(key, service, principal), daemon=True).start()
        return kept[1]

    def _refresh(self, key: frozenset[str], service: CameraService, principal: Principal) -> None:
        try:
            self._build(key, service, principal)
        except Exception:  # the database away: the list kept is served until a build succeeds
            log.warning("the camera list could not be refreshed; the last one is served", exc_info=True)
        finally:
            with self._lock:
                self._building.discard(key)

    def _build(self, key: frozenset[str], service: CameraService, principal: Principal) -> CameraListing:
        began = self._monotonic()
        views = service.list_cameras(principal)
        signature = _signature(views)
        with self._lock:
            kept, written = self._lists.get(key), self._written.get(key, -math.inf)
        if kept is not None and kept[1].signature == signature and began - written < self._figures_max_age_s:
            listing = kept[1]  # no state or reason changed: the JSON kept, its figures up to 10 s old
        else:
            listing = CameraListing(self._body(views), signature)
            written = began
        with self._lock:
            self._lists[key] = (began, listing)
            self._written[key] = written
        return listing

    def _body(self, views: list[CameraView]) -> bytes:
        # Written with the standard json module from each camera's identity dumped once by pydantic (CameraOut's
        # own serialisation), rather than one CameraOut per camera per build: 4,241 models a second for one
        # transport tenant were most of a build's cost.
        items = []
        for v in views:
            health = v.health
            identity = self._identities.get(v.info.id)
            if identity is None:
                identity = camera_out(CameraView(v.info, None)).model_dump(mode="json", exclude=set(HEALTH_FIELDS))
                self._identities[v.info.id] = identity
            reason = health.reason if health else ""
            items.append(
                {
                    **identity,
                    "state": v.state.value,
                    "reason": reason,
                    "since": _SINCE.dump_python(health.at if health else None, mode="json"),
                    "fps_in": health.fps_in if health else 0.0,
                }
            )
        return json.dumps(items, separators=(",", ":"), ensure_ascii=False).encode()


def _signature(views: list[CameraView]) -> str:
    signature = hashlib.sha256()
    for v in views:
        reason = v.health.reason if v.health else ""
        signature.update(f"{v.info.id}\x00{v.state.value}\x00{reason}\x01".encode())
    return signature.hexdigest()


HEALTH_FIELDS = ("state", "reason", "since", "fps_in")
_SINCE: TypeAdapter[datetime | None] = TypeAdapter(datetime | None)
