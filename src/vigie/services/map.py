"""The console's map (issue 24): the city's basemap tiles, the cameras' fields of view, and the site plans people
upload and place on the map.

Everything here is for signed-in people who see cameras (``view_cameras``): the basemap is the city's, served only
by this server (never a tile service outside); a camera's field of view is drawn only for the cameras one sees;
plans are read by the people who see their commune and uploaded or removed by those with ``manage_site_plans`` for
their own commune, each upload and removal audited. A plan image is decoded before it is kept (PNG or JPEG, bounded
in bytes and in pixels), so that what the browsers are handed is an image and nothing else.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, Protocol

from PIL import Image, UnidentifiedImageError

from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.basemap import BasemapError
from vigie.domain.camera import CameraKind
from vigie.domain.ports import AuditSink
from vigie.domain.site_plans import (
    MAX_SITE_PLANS_PER_SITE,
    PLAN_MAX_SIDE,
    PLAN_NAME_MAX,
    SitePlan,
    SitePlanError,
    SitePlans,
    checked_corners,
)
from vigie.domain.users import Permission
from vigie.services.access import NotVisibleError, Principal

log = logging.getLogger(__name__)

FIELD_OF_VIEW_DEFAULTS: dict[CameraKind, tuple[float, float]] = {
    CameraKind.FIXED: (60.0, 40.0),
    CameraKind.PTZ: (60.0, 100.0),
    CameraKind.THERMAL: (40.0, 150.0),
    CameraKind.MULTISENSOR: (180.0, 40.0),
}
"""``(angle in degrees, range in metres)`` drawn for a camera whose location does not say (config docs)."""

_PIL_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}


class BasemapUnavailableError(Exception):
    """The configured basemap cannot be read (the message says why)."""


class NoBasemapError(Exception):
    """No basemap is configured (or no vector one, for a style)."""


class TileSource(Protocol):
    """A basemap as the service reads it (:mod:`vigie.storage.basemap`)."""

    @property
    def info(self) -> Any: ...

    def tile(self, z: int, x: int, y: int) -> Any: ...


@dataclass(frozen=True, slots=True)
class DomeLens:
    """What turns a dome's reported pan and zoom into a bearing and an angle (its ``onvif.optics``)."""

    pan_range_deg: float
    hfov_wide_deg: float
    hfov_tele_deg: float


@dataclass(frozen=True, slots=True)
class MapCamera:
    """A camera as the map draws it: where it stands, where it looks, how wide and how far."""

    id: str
    commune_id: str
    lon: float
    lat: float
    heading_deg: float | None
    fov_deg: float
    range_m: float
    dome: DomeLens | None = None


def field_of_view(kind: CameraKind, fov_deg: float | None, range_m: float | None) -> tuple[float, float]:
    angle, reach = FIELD_OF_VIEW_DEFAULTS.get(kind, (60.0, 40.0))
    return fov_deg if fov_deg is not None else angle, range_m if range_m is not None else reach


@dataclass(frozen=True, slots=True)
class MapView:
    """What the console's map needs: the basemap (or why there is none), where to open, the cameras, the plans."""

    basemap: Any | None
    basemap_error: str | None
    style: dict[str, Any] | None
    center: tuple[float, float] | None
    zoom: float | None
    cameras: list[MapCamera]
    plans: list[SitePlan]
    plan_max_bytes: int


@dataclass(frozen=True, slots=True)
class PlanImage:
    data: bytes
    media_type: str
    sha256: str


class MapService:
    def __init__(
        self,
        cameras: Iterable[MapCamera],
        sites: Iterable[tuple[str, str]],
        plans: SitePlans,
        audit: AuditSink,
        clock: Callable[[], datetime],
        *,
        basemap: TileSource | None = None,
        basemap_error: str | None = None,
        style: dict[str, Any] | None = None,
        center: tuple[float, float] | None = None,
        zoom: float | None = None,
        plan_max_bytes: int = 8 * 1024 * 1024,
    ) -> None:
        """``sites``: the configured ``(commune_id, site_id)``; ``basemap_error``: why the configured basemap could
        not be opened (the map says it, nothing else stops)."""
        self._cameras = tuple(cameras)
        self._sites = frozenset(sites)
        self._plans, self._audit, self._clock = plans, audit, clock
        self._basemap, self._basemap_error = basemap, basemap_error
        self._style, self._center, self._zoom = style, center, zoom
        self.plan_max_bytes = plan_max_bytes

    # --- reading ---------------------------------------------------------------------------------------------------

    def view(self, viewer: Principal) -> MapView:
        viewer.require(Permission.VIEW_CAMERAS)
        return MapView(
            basemap=self._basemap.info if self._basemap is not None else None,
            basemap_error=self._basemap_error,
            style=self._style,
            center=self._center,
            zoom=self._zoom,
            cameras=[c for c in self._cameras if viewer.sees_camera(c.id)],
            plans=self._plans.list(viewer.communes),
            plan_max_bytes=self.plan_max_bytes,
        )

    def tile(self, viewer: Principal, z: int, x: int, y: int) -> Any | None:
        """The basemap's tile ``z/x/y`` (XYZ, north first), or None where the file has none."""
        viewer.require(Permission.VIEW_CAMERAS)
        if self._basemap is None:
            self._no_basemap("no basemap configured (map.basemap, docs/map.md)")
        try:
            return self._basemap.tile(z, x, y)
        except BasemapError as err:  # a damaged part of the file: this tile is refused, the others still served
            log.warning("map: %s", err)
            raise BasemapUnavailableError(str(err)) from None

    def style(self, viewer: Principal) -> dict[str, Any]:
        viewer.require(Permission.VIEW_CAMERAS)
        if self._basemap is None or self._style is None:
            self._no_basemap("no vector basemap configured (map.basemap, docs/map.md)")
        return self._style

    def _no_basemap(self, what: str) -> NoReturn:
        if self._basemap_error is not None:  # configured, but it cannot be read
            raise BasemapUnavailableError(self._basemap_error)
        raise NoBasemapError(what)

    def plan(self, viewer: Principal, plan_id: int) -> SitePlan:
        viewer.require(Permission.VIEW_CAMERAS)
        found = self._plans.get(plan_id)
        if found is None or not viewer.sees_commune(found.commune_id):
            raise NotVisibleError(f"no site plan {plan_id} among the plans of the communes you may see")
        return found

    def plan_image(self, viewer: Principal, plan_id: int) -> PlanImage:
        found = self.plan(viewer, plan_id)
        data = self._plans.image(plan_id)
        if data is None:
            raise NotVisibleError(f"no site plan {plan_id} among the plans of the communes you may see")
        return PlanImage(data, found.media_type, found.sha256)

    # --- changing (a person with manage_site_plans, for their own commune; audited) --------------------------------

    def upload(
        self, viewer: Principal, *, commune_id: str, site_id: str, name: str, corners: object, image: bytes
    ) -> SitePlan:
        viewer.require(Permission.MANAGE_SITE_PLANS)
        if commune_id != viewer.user.commune_id:
            raise NotVisibleError(f"you place plans on the sites of {viewer.user.commune_id} only, not {commune_id}")
        if (commune_id, site_id) not in self._sites:
            mine = sorted(s for c, s in self._sites if c == commune_id)
            raise NotVisibleError(
                f"no site {site_id!r} in commune {commune_id} (configured: {', '.join(mine) or 'none'})"
            )
        name = name.strip()
        if not name or len(name) > PLAN_NAME_MAX:
            raise SitePlanError(f"a plan's name has 1 to {PLAN_NAME_MAX} characters")
        placed = checked_corners(corners)
        media_type, width, height = self._decoded(image)
        if self._plans.count(commune_id, site_id) >= MAX_SITE_PLANS_PER_SITE:
            raise SitePlanError(
                f"site {site_id} has {MAX_SITE_PLANS_PER_SITE} plans already: remove one before adding another"
            )
        now = self._clock()
        digest = hashlib.sha256(image).hexdigest()
        plan = self._plans.add(
            SitePlan(
                None,
                commune_id,
                site_id,
                name,
                media_type,
                width,
                height,
                len(image),
                digest,
                placed,
                viewer.actor,
                now,
            ),
            image,
        )
        self._audit.append(
            AuditEvent(
                viewer.actor,
                AuditAction.SITE_PLAN_UPLOADED,
                f"site_plan:{plan.id}",
                {
                    "commune_id": commune_id,
                    "site_id": site_id,
                    "name": name,
                    "media_type": media_type,
                    "width": width,
                    "height": height,
                    "size": len(image),
                    "sha256": digest,
                    "corners": [list(c) for c in placed],
                },
                now,
            )
        )
        log.info("map: site plan %s of %s/%s uploaded by %s", plan.id, commune_id, site_id, viewer.actor)
        return plan

    def remove(self, viewer: Principal, plan_id: int) -> None:
        viewer.require(Permission.MANAGE_SITE_PLANS)
        found = self._plans.get(plan_id)
        if found is None or found.commune_id != viewer.user.commune_id:
            raise NotVisibleError(f"no site plan {plan_id} among the plans of {viewer.user.commune_id}")
        self._plans.delete(plan_id)
        self._audit.append(
            AuditEvent(
                viewer.actor,
                AuditAction.SITE_PLAN_REMOVED,
                f"site_plan:{plan_id}",
                {"commune_id": found.commune_id, "site_id": found.site_id, "name": found.name, "sha256": found.sha256},
                self._clock(),
            )
        )

    def _decoded(self, image: bytes) -> tuple[str, int, int]:
        """``(media type, width, height)`` of a PNG or JPEG decoded whole, or :class:`SitePlanError`."""
        if len(image) > self.plan_max_bytes:
            raise SitePlanError(
                f"the plan image is {len(image)} bytes, more than the {self.plan_max_bytes} accepted "
                "(map.plan_max_bytes): export it smaller"
            )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(image)) as opened:
                    kind = _PIL_FORMATS.get(opened.format or "")
                    if kind is None:
                        raise SitePlanError(f"the plan is a {opened.format} image: upload a PNG or a JPEG")
                    width, height = opened.size
                    if max(width, height) > PLAN_MAX_SIDE:
                        raise SitePlanError(
                            f"the plan is {width} × {height} pixels: at most {PLAN_MAX_SIDE} on each side"
                        )
                    opened.load()  # decoded whole: a truncated or corrupt file is refused here
        except SitePlanError:
            raise
        except (
            UnidentifiedImageError,
            OSError,
            ValueError,
            SyntaxError,
            Image.DecompressionBombError,
            Image.DecompressionBombWarning,
        ) as err:
            raise SitePlanError(f"the plan is not a readable PNG or JPEG image ({type(err).__name__})") from None
        return kind, width, height


def load_style(
    path: Path | None,
    tiles_url: str,
    zooms: tuple[int, int] | None = None,
    bounds: tuple[float, float, float, float] | None = None,
) -> dict[str, Any]:
    """The vector basemap's MapLibre style: the file's (its source ``basemap`` pointed at ``tiles_url``), or the
    built-in one of the OpenMapTiles schema. ``zooms`` (least, most) and ``bounds`` are the basemap file's: the
    zooms it holds tiles for, which the source must say (past its most the map draws the last zoom's tiles
    enlarged; without it the map asks for zooms the file does not have, a city export stopping at 14 left the
    street level blank). Raises ``ValueError`` naming what is wrong with the file."""
    if path is None:
        style = default_vector_style()
    else:
        try:
            style = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"map.style {path}: cannot be read as JSON ({err})") from None
        if not isinstance(style, dict) or not isinstance(style.get("sources"), dict) or "layers" not in style:
            raise ValueError(f"map.style {path}: not a MapLibre style (no `sources` or `layers`)")
        if not isinstance(style["sources"].get("basemap"), dict):
            raise ValueError(f"map.style {path}: no source named `basemap` for the server to point at its tiles")
        if "glyphs" in style or "sprite" in style:
            raise ValueError(
                f"map.style {path}: `glyphs` and `sprite` would be fetched from elsewhere: remove them (the labels "
                "are then drawn with the browser's own fonts) and the layers that need a sprite (icons)"
            )
    source = {"type": "vector", "tiles": [tiles_url]} | {
        k: v for k, v in style["sources"]["basemap"].items() if k in ("minzoom", "maxzoom", "bounds", "attribution")
    }
    if zooms is not None:  # the tiles the file holds, whatever the style said
        source["minzoom"], source["maxzoom"] = zooms
    if bounds is not None:
        source["bounds"] = list(bounds)
    style["sources"]["basemap"] = source
    return style


def default_vector_style() -> dict[str, Any]:
    """A plain style for OpenMapTiles-schema vector tiles (what most cities' and OpenStreetMap exports hold): water,
    land use, parks, buildings, roads, and the names of streets and places, which the operator finds a camera by.
    No `glyphs`: MapLibre then draws the labels with the browser's own fonts (its local glyph drawing), so no font
    file is carried nor fetched from elsewhere."""

    def fill(layer: str, source_layer: str, colour: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        out = {
            "id": layer,
            "type": "fill",
            "source": "basemap",
            "source-layer": source_layer,
            "paint": {"fill-color": colour},
        }
        return out | (extra or {})

    return {
        "version": 8,
        "sources": {"basemap": {"type": "vector"}},
        "layers": [
            {"id": "land", "type": "background", "paint": {"background-color": "#efece6"}},
            fill("landcover", "landcover", "#dfe8d3"),
            fill("landuse", "landuse", "#e6e1d8"),
            fill("park", "park", "#cfe3c0"),
            fill("water", "water", "#a9c7e8"),
            fill("building", "building", "#d6d0c8", {"minzoom": 13}),
            {
                "id": "roads",
                "type": "line",
                "source": "basemap",
                "source-layer": "transportation",
                "paint": {"line-color": "#ffffff", "line-width": ["interpolate", ["linear"], ["zoom"], 10, 0.5, 18, 8]},
            },
            {
                "id": "boundaries",
                "type": "line",
                "source": "basemap",
                "source-layer": "boundary",
                "paint": {"line-color": "#9a8fa6", "line-dasharray": [3, 2]},
            },
            label("street-names", "transportation_name", 13, {"symbol-placement": "line"}, "#2f2f2f"),
            label("place-names", "place", 10, {}, "#1f1f1f"),
        ],
    }


def label(layer: str, source_layer: str, minzoom: int, layout: dict[str, Any], colour: str) -> dict[str, Any]:
    """A symbol layer of the features' names (French first, as OpenMapTiles exports carry ``name:fr``), dark on a
    white halo; ``text-font`` lists font families the browser has (no `glyphs`: drawn locally)."""
    return {
        "id": layer,
        "type": "symbol",
        "source": "basemap",
        "source-layer": source_layer,
        "minzoom": minzoom,
        "layout": {
            "text-field": ["coalesce", ["get", "name:fr"], ["get", "name"]],
            "text-font": ["DejaVu Sans", "Noto Sans", "sans-serif"],
            "text-size": ["interpolate", ["linear"], ["zoom"], 13, 11, 18, 15],
        }
        | layout,
        "paint": {"text-color": colour, "text-halo-color": "#ffffff", "text-halo-width": 1.5},
    }
