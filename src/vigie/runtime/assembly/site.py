"""Building the sites service and camera locations from the configuration (read-only: what the file says)."""

from __future__ import annotations

from collections.abc import Collection

from vigie.config.models import Camera, DirectedLineZone, VigieConfig, Zone
from vigie.domain.camera import CameraLocation
from vigie.services.sites import SiteInfo, SiteService, ZoneInfo


def camera_location(camera: Camera) -> CameraLocation:
    return CameraLocation(camera.location.lat, camera.location.lon, camera.location.address)


def zone_info(zone: Zone) -> ZoneInfo:
    direction = zone.direction.value if isinstance(zone, DirectedLineZone) else None
    points = tuple((float(x), float(y)) for x, y in zone.points)
    return ZoneInfo(zone.id, zone.kind, points, zone.description, direction)


def open_site_service(config: VigieConfig, cameras: Collection[str]) -> SiteService:
    """Sites of every tenant, naming only ``cameras`` (those the API serves: the enabled ones), and their zones."""
    sites = [
        SiteInfo(site.id, commune.id, site.name, site.address, tuple(c.id for c in site.cameras if c.id in cameras))
        for commune in config.communes
        for site in commune.sites
    ]
    zones = {p.camera.id: [zone_info(z) for z in p.camera.zones] for p in config.placements() if p.camera.id in cameras}
    return SiteService(sites, zones)
