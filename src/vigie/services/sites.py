"""The territory as configured, as the caller may see it: sites with their cameras, and the zones drawn on a camera.

Read-only: sites and zones come from the configuration (built by the runtime). Tenant scoping is the same as for
cameras (L10): a site of a commune one does not see, or the zones of a camera one does not see, answer exactly like
things that do not exist. Zones include the privacy masks (L6), so that the console draws what is burnt out of the
picture; seeing them needs no video permission (they carry no pixels), only the camera.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from vigie.domain.geometry import Point
from vigie.domain.users import Permission
from vigie.services.access import NotVisibleError, Principal


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """A place grouping cameras (a square, a station), with the ids of its cameras in configuration order."""

    id: str
    commune_id: str
    name: str
    address: str | None = None
    camera_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ZoneInfo:
    """A zone drawn on a camera image, in normalised coordinates (0..1, origin top-left).

    ``kind`` is ``analysis`` or ``privacy_mask`` (a closed polygon) or ``directed_line`` (two points, with a
    ``direction``)."""

    id: str
    kind: str
    points: tuple[Point, ...]
    description: str | None = None
    direction: str | None = None


class SiteService:
    def __init__(self, sites: Iterable[SiteInfo], zones: Mapping[str, Sequence[ZoneInfo]]) -> None:
        """``zones``: the zones of each camera id (a camera without zones may be left out)."""
        self._sites = tuple(sites)
        self._zones = {camera_id: tuple(z) for camera_id, z in zones.items()}

    def list_for(
        self, viewer: Principal, *, commune_id: str | None = None, limit: int = 500, offset: int = 0
    ) -> list[SiteInfo]:
        """Sites of the communes ``viewer`` sees (or of ``commune_id`` only), by commune then configuration order;
        camera ids are those of cameras ``viewer`` sees."""
        viewer.require(Permission.VIEW_CAMERAS)
        if commune_id is not None and not viewer.sees_commune(commune_id):
            raise NotVisibleError(f"no commune {commune_id!r} among the communes you may see")
        sites = [
            SiteInfo(s.id, s.commune_id, s.name, s.address, tuple(viewer.visible_cameras(s.camera_ids)))
            for s in self._sites
            if viewer.sees_commune(s.commune_id) and commune_id in (None, s.commune_id)
        ]
        return sites[offset : offset + limit]

    def zones_for(self, viewer: Principal, camera_id: str) -> tuple[ZoneInfo, ...]:
        """The zones of a camera ``viewer`` sees (analysis zones, privacy masks, directed lines)."""
        viewer.require(Permission.VIEW_CAMERAS)
        viewer.require_camera(camera_id)
        return self._zones.get(camera_id, ())
