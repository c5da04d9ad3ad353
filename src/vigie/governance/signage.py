"""Commissioning by signage (CSI L251-3, R252-3; L7): a camera runs only once a panel informs the public.

:class:`CameraSignage` is what the runtime knows of one camera's panel (its own record or its site's, see
:mod:`vigie.config.signage`); :meth:`CameraSignage.refusal` says, on a given Paris day, why the camera is not
commissioned, or None. It joins the prefectoral authorisation in
:meth:`vigie.governance.authorisation.CameraAuthorisations.refusal`, the one place that says why a camera does not
record, stream or get analysed; the supervisor writes that reason into the camera's health, where operators see it.

:func:`site_panels` gives, per site, the controllers and contacts printed on its panels, for the public page (the
panel is public already: an organisation and a service's address, never a person's name).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from vigie.config.models import CameraPlacement, Commune
from vigie.config.signage import Signage, effective_signage, missing_signage_message


@dataclass(frozen=True, slots=True)
class CameraSignage:
    """The panel covering one camera (None: none recorded), and the site to name when there is none."""

    camera_id: str
    site_id: str
    record: Signage | None

    def refusal(self, today: date) -> str | None:
        """Why the camera is not commissioned on ``today`` (no record; a panel dated later), or None."""
        if self.record is None:
            return missing_signage_message(self.camera_id, self.site_id)
        if self.record.posted_on > today:
            return (
                f"camera {self.camera_id}: not commissioned: its signage panel {self.record.panel} is dated "
                f"{self.record.posted_on}, after today (L7) — it starts that day; correct `signage.posted_on` if the "
                "panel is already up"
            )
        return None


def camera_signage(placements: Iterable[CameraPlacement]) -> dict[str, CameraSignage]:
    """Camera id → the panel covering it (its own record, else its site's)."""
    return {
        p.camera.id: CameraSignage(p.camera.id, p.site.id, effective_signage(p.site, p.camera.signage))
        for p in placements
    }


@dataclass(frozen=True, slots=True)
class PanelContact:
    """A controller and a contact as a panel prints them, and the cameras that panel covers."""

    controller: str
    contact: str
    camera_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SitePanels:
    """What the panels of one site tell the public: one entry per distinct controller and contact."""

    commune_id: str
    site_id: str
    site_name: str
    panels: tuple[PanelContact, ...]


def site_panels(communes: Iterable[Commune], camera_ids: Iterable[str] | None = None) -> list[SitePanels]:
    """Per site (configuration order), the distinct controllers and contacts of the panels covering its cameras
    (``camera_ids``: only those cameras; None: every enabled camera). A site none of whose cameras is covered is
    left out: its cameras are not commissioned."""
    wanted = None if camera_ids is None else set(camera_ids)
    found: list[SitePanels] = []
    for commune in communes:
        for site in commune.sites:
            panels: dict[tuple[str, str], list[str]] = {}
            for camera in site.cameras:
                record = effective_signage(site, camera.signage)
                shown = camera.enabled if wanted is None else camera.id in wanted
                if record is not None and shown:
                    panels.setdefault((record.controller, record.contact), []).append(camera.id)
            if panels:
                entries = tuple(PanelContact(k[0], k[1], tuple(ids)) for k, ids in panels.items())
                found.append(SitePanels(commune.id, site.id, site.name, entries))
    return found
