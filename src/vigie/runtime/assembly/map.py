"""Building the console's map (issue 24) from the configuration: the basemap file opened read-only (a missing or
damaged one is said on the map and by ``vigie config check``, and stops nothing else), the cameras' fields of view,
and the site plans kept in the database."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator
from datetime import datetime

from sqlalchemy import Engine

from vigie.config.fields import Loc
from vigie.config.models import Camera, VigieConfig
from vigie.domain.basemap import BasemapError
from vigie.domain.camera import CameraKind
from vigie.domain.ports import AuditSink
from vigie.services.map import DomeLens, MapCamera, MapService, field_of_view, load_style
from vigie.storage.basemap import Basemap, open_basemap
from vigie.storage.site_plans import SqlSitePlans

log = logging.getLogger(__name__)

TILES_URL = "/api/map/tiles/{z}/{x}/{y}"


def map_camera(camera: Camera, commune_id: str) -> MapCamera:
    where = camera.location
    fov, reach = field_of_view(camera.kind, where.fov_deg, where.range_m)
    dome = None
    if camera.kind is CameraKind.PTZ and camera.onvif is not None:
        optics = camera.onvif.optics
        dome = DomeLens(optics.pan_range_deg, optics.hfov_wide_deg, optics.hfov_tele_deg)
    return MapCamera(camera.id, commune_id, where.lon, where.lat, where.heading_deg, fov, reach, dome)


def open_map_service(
    config: VigieConfig, cameras: Collection[str], engine: Engine, audit: AuditSink, clock: Callable[[], datetime]
) -> MapService:
    """The map of ``cameras`` (those the API serves), with the configured basemap if it can be read."""
    settings = config.map
    basemap: Basemap | None = None
    error: str | None = None
    style = None
    if settings.basemap is not None:
        try:
            basemap = open_basemap(settings.basemap)
            if basemap.info.vector:
                info = basemap.info
                style = load_style(settings.style, TILES_URL, (info.min_zoom, info.max_zoom), info.bounds)
        except (BasemapError, ValueError) as err:
            error = str(err)
            log.error("map: the basemap cannot be shown: %s", error)
            if basemap is not None:
                basemap.close()
                basemap = None
    return MapService(
        [map_camera(p.camera, p.commune.id) for p in config.placements() if p.camera.id in cameras],
        [(c.id, s.id) for c in config.communes for s in c.sites],
        SqlSitePlans(engine),
        audit,
        clock,
        basemap=basemap,
        basemap_error=error,
        style=style,
        center=settings.center,
        zoom=settings.zoom,
        plan_max_bytes=settings.plan_max_bytes,
    )


def check_map(config: VigieConfig) -> Iterator[tuple[Loc, str, str]]:
    """``vigie config check``: the basemap file opens and holds tiles it can serve; a vector basemap's style reads."""
    settings = config.map
    if settings.basemap is None:
        return
    try:
        basemap = open_basemap(settings.basemap)
    except BasemapError as err:
        yield ("map", "basemap"), str(err), "see docs/map.md for the formats a basemap may have"
        return
    try:
        if basemap.info.vector:
            load_style(settings.style, TILES_URL)
    except ValueError as err:
        yield ("map", "style"), str(err), "see docs/map.md, Vector basemaps"
    finally:
        basemap.close()
