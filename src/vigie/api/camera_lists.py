"""The camera list as the console reads it, built once per process for everyone who sees the same cameras.

The console reads the list of its cameras at every refresh (``GET /api/cameras``, every 15 s) and its live feed
watches it for changes (``/api/feed``, every 2 s per connection). A transport network's operator sees 4,241
cameras: built per request and per connection — the health of every camera read, a model and a dict per camera,
the JSON written — the lists took most of an API process's interpreter at the métropole's size and its console
calls waited behind them (docs/sizing.md). So a process keeps one list per set of visible tenants (people of one
tenant see the same cameras: :meth:`Principal.sees_camera`), rebuilt in the background once it is ``max_age_s``
old, and every request and feed connection of that set shares its JSON. The permission is checked per person,
before the shared list is handed over.

The feed sends the list when what an operator acts on changes — a camera's state or its reason, whether it records,
its authorisation, the analysis on it — not at every new frame rate: :attr:`CameraListing.signature` covers only
those; the figures (``fps_in``, ``since``) are refreshed with the console's own refresh. At the métropole's size the
whole list is about 2 MB of JSON, so a feed connection sends it once and then only the cameras whose state key
changed (:attr:`CameraListing.keys`, :attr:`CameraListing.parts`); the console merges them by id.

The console's camera tree (issue 24) also needs each camera's commune and site names and tags (written once per
camera with its identity) and its state at a glance: its prefectoral authorisation today (L1), whether it records,
and the analysis modules active on it (:class:`ListingFacts`, asked once per build).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from json.encoder import encode_basestring
from typing import Any

from pydantic import TypeAdapter

from vigie.api.schemas import CameraOut, LocationOut
from vigie.domain.camera import HealthState
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
    keys: Mapping[str, str] = field(default_factory=dict)
    """Each camera's state key (state, reason, recording, authorisation, analysis): what the feed compares."""
    parts: Mapping[str, bytes] = field(default_factory=dict)
    """Each camera's JSON object, as in :attr:`body`: what the feed sends of the cameras that changed."""
    _gzipped: list[bytes] = field(default_factory=list, compare=False, repr=False)

    def gzipped(self) -> bytes:
        """:attr:`body` compressed with gzip, once per list (every console of the set asks for the same list): at the
        métropole's size 2.4 MB of JSON a console re-reads every 15 s become a tenth of that. Two first askers at
        once may both compress it; either result is the same."""
        if not self._gzipped:
            self._gzipped.append(gzip.compress(self.body, compresslevel=5, mtime=0))
        return self._gzipped[0]


@dataclass(frozen=True, slots=True)
class ListingFacts:
    """What the list says of the cameras besides their health, read once per build by whoever builds it.

    ``names``: (commune id → name, site id → name), asked only when a camera's identity is first written.
    ``analysis``: camera id → the analysis modules active on it now (empty under a global stop)."""

    names: Callable[[], tuple[Mapping[str, str], Mapping[str, str]]] | None = None
    analysis: Callable[[], Mapping[str, tuple[str, ...]]] | None = None


NO_FACTS = ListingFacts()
AUTHORISATION_MAX_AGE_S = 60.0
"""How old the cameras' authorisation states may be: they change with the Paris day (L1), judged again each minute."""
RECORDING_FAILED = "recording "
"""How the sink writes a failing recorder into its camera's reason (``recording offline: …``,
:meth:`vigie.runtime.workers.sink.WorkerMessageSink._publish`): such a camera is not recording."""


def camera_out(v: CameraView, commune_name: str = "", site_name: str = "") -> CameraOut:
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
        commune_name=commune_name,
        site_name=site_name,
        tags=list(v.info.tags),
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
        self._identities: dict[str, bytes] = {}
        """Each camera's identity as the opening of its JSON object (without the closing brace)."""
        self._authorised: dict[str, tuple[str, bool] | None] = {}
        """Camera id → its authorisation's state and whether it may run (None: the service judges none)."""
        self._authorised_at = -math.inf
        self._lock = threading.Lock()
        self._first = threading.Lock()
        """One first build at a time: the requests that arrive during it wait for it and share it."""

    def listing(self, service: CameraService, principal: Principal, facts: ListingFacts = NO_FACTS) -> CameraListing:
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
                    return self._build(key, service, principal, facts)
            return kept[1]
        if refresh:
            threading.Thread(target=self._refresh, args=(key, service, principal, facts), daemon=True).start()
        return kept[1]

    def _refresh(self, key: frozenset[str], service: CameraService, principal: Principal, facts: ListingFacts) -> None:
        try:
            self._build(key, service, principal, facts)
        except Exception:  # the database away: the list kept is served until a build succeeds
            log.warning("the camera list could not be refreshed; the last one is served", exc_info=True)
        finally:
            with self._lock:
                self._building.discard(key)

    def _build(
        self, key: frozenset[str], service: CameraService, principal: Principal, facts: ListingFacts
    ) -> CameraListing:
        began = self._monotonic()
        views = service.list_cameras(principal)
        analysis = facts.analysis() if facts.analysis is not None else {}
        authorisations = self._authorisations(service, views, began)
        states = [_state_of(v, authorisations[v.info.id], analysis.get(v.info.id, ())) for v in views]
        keys = {v.info.id: _key(v, s) for v, s in zip(views, states, strict=True)}
        signature = _signature(keys)
        with self._lock:
            kept, written = self._lists.get(key), self._written.get(key, -math.inf)
        if kept is not None and kept[1].signature == signature and began - written < self._figures_max_age_s:
            listing = kept[1]  # no state or reason changed: the JSON kept, its figures up to 10 s old
        else:
            parts = self._parts(views, states, facts)
            body = b"[" + b",".join(parts.values()) + b"]"
            listing = CameraListing(body, signature, keys, parts)
            written = began
        with self._lock:
            self._lists[key] = (began, listing)
            self._written[key] = written
        return listing

    def _authorisations(
        self, service: CameraService, views: list[CameraView], now: float
    ) -> dict[str, tuple[str, bool] | None]:
        """Each camera's authorisation today, judged again at most every :data:`AUTHORISATION_MAX_AGE_S` (it
        changes with the legal day): 4,891 judgements of the Paris day per build were a sixth of a build."""
        with self._lock:
            if now - self._authorised_at >= AUTHORISATION_MAX_AGE_S:
                self._authorised, self._authorised_at = {}, now
            known = self._authorised
        missing = {v.info.id: _judged(service, v.info.id) for v in views if v.info.id not in known}
        if missing:
            with self._lock:
                known = self._authorised = {**self._authorised, **missing}
        return known

    def _parts(self, views: list[CameraView], states: list[dict[str, Any]], facts: ListingFacts) -> dict[str, bytes]:
        # Each camera's identity (from the configuration) is written as JSON once, by pydantic (CameraOut's own
        # serialisation), and kept as the opening of its object; a build writes only the state after it, by hand
        # (the standard json module's string escaping): one json.dumps per camera per build was half of a
        # 4,891-camera build, and one CameraOut per camera most of it before that.
        names: tuple[Mapping[str, str], Mapping[str, str]] | None = None
        parts = {}
        for v, state in zip(views, states, strict=True):
            health = v.health
            opening = self._identities.get(v.info.id)
            if opening is None:
                if names is None:
                    names = facts.names() if facts.names is not None else ({}, {})
                communes, sites = names
                out = camera_out(
                    CameraView(v.info, None), communes.get(v.info.commune_id, ""), sites.get(v.info.site_id, "")
                )
                identity = out.model_dump(mode="json", exclude=set(HEALTH_FIELDS))
                opening = json.dumps(identity, separators=(",", ":"), ensure_ascii=False)[:-1].encode()
                self._identities[v.info.id] = opening
            since = _SINCE.dump_python(health.at if health else None, mode="json")
            analysis = ",".join(_string(m) for m in state["analysis"])
            rest = (
                f',"state":{_string(state["state"])},"reason":{_string(state["reason"])},'
                f'"authorisation":{_string(state["authorisation"])},'
                f'"recording":{"true" if state["recording"] else "false"},"analysis":[{analysis}],'
                f'"since":{"null" if since is None else _string(since)},'
                f'"fps_in":{float(health.fps_in) if health else 0.0!r}}}'
            )
            parts[v.info.id] = opening + rest.encode()
        return parts


def _judged(service: CameraService, camera_id: str) -> tuple[str, bool] | None:
    check = service.authorisation(camera_id)
    return None if check is None else (check.state.value, check.usable)


def _state_of(v: CameraView, check: tuple[str, bool] | None, analysis: tuple[str, ...]) -> dict[str, Any]:
    """What an operator sees of a camera at a glance (the tree's badges), besides its identity."""
    reason = v.health.reason if v.health else ""
    authorised = check is None or check[1]
    reporting = v.state in (HealthState.ONLINE, HealthState.DEGRADED)
    return {
        "state": v.state.value,
        "reason": reason,
        "authorisation": "unknown" if check is None else check[0],
        "recording": authorised and reporting and RECORDING_FAILED not in reason,
        "analysis": list(analysis),
    }


def _key(v: CameraView, state: dict[str, Any]) -> str:
    return "\x00".join(
        (
            v.info.id,
            state["state"],
            state["reason"],
            state["authorisation"],
            str(state["recording"]),
            *state["analysis"],
        )
    )


def _signature(keys: Mapping[str, str]) -> str:
    signature = hashlib.sha256()
    for key in keys.values():
        signature.update(key.encode() + b"\x01")
    return signature.hexdigest()


HEALTH_FIELDS = ("state", "reason", "since", "fps_in", "authorisation", "recording", "analysis")
_SINCE: TypeAdapter[datetime | None] = TypeAdapter(datetime | None)
_string: Callable[[str], str] = encode_basestring
"""A str as a JSON string (the json module's own escaping, its C version where there is one)."""
