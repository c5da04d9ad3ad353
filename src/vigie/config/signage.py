"""The information panel put up where cameras film (CSI L251-3 and R252-3, RGPD art. 13; L7).

A camera is commissioned only once a panel tells the public that it is filmed: the pictogram, who controls the
processing and where to exercise one's rights. One record usually covers a whole site (``signage`` on the site),
a camera may carry its own (``signage`` on the camera, which then replaces the site's for it). A camera with
neither is not commissioned: the runtime neither records, streams nor analyses it
(:mod:`vigie.governance.signage`), and ``vigie config check`` names it (:func:`unsigned_cameras`).

The panel's date is compared with the service's clock at run time, not here: validators do no I/O and read no
clock, and a panel dated after today keeps its camera off until that day.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from vigie.config.fields import ConfigModel, Loc, NonEmptyText, invalid

if TYPE_CHECKING:
    from vigie.config.models import Site, VigieConfig


class Signage(ConfigModel):
    """The signage record of a panel: what it shows, who put it up and when (L7)."""

    pictogram: bool = Field(
        title="Pictogram shown",
        description="The panel shows the camera pictogram (CSI R252-3); must be `true`: a panel without it does not "
        "inform the public and the camera cannot be commissioned.",
    )
    controller: NonEmptyText = Field(
        title="Controller",
        description="The controller named on the panel, an organisation as printed (e.g. `Ville de Villeurbanne`); "
        "shown on the public page.",
    )
    contact: NonEmptyText = Field(
        title="Contact",
        description="Where the panel tells people to exercise their rights: the service's address, e-mail or "
        "telephone as printed (e.g. `dpo@mairie-villeurbanne.fr`); shown on the public page.",
    )
    panel: NonEmptyText = Field(
        title="Panel photo or reference",
        description="The photo of the panel in place (a path in the deployment's records) or its reference in the "
        "commune's inventory (e.g. `PAN-2026-014`), kept as evidence that it was put up.",
    )
    posted_on: date = Field(
        title="Put up on",
        description="Day the panel was put up (YYYY-MM-DD); not after today: a panel dated later keeps its "
        "cameras off until that day.",
    )

    @field_validator("pictogram")
    @classmethod
    def _pictogram_shown(cls, value: bool) -> bool:
        if not value:
            raise invalid(
                "the panel does not show the camera pictogram: the camera cannot be commissioned without it (L7)",
                "put up a panel with the pictogram (CSI R252-3), then set `pictogram: true`",
            )
        return value


def effective_signage(site: Site, camera_signage: Signage | None) -> Signage | None:
    """The record that covers a camera: its own, else its site's; None when neither exists."""
    return camera_signage if camera_signage is not None else site.signage


def missing_signage_message(camera_id: str, site_id: str) -> str:
    """What an operator reads where a camera without a signage record is down, and in ``vigie config check``."""
    return (
        f"camera {camera_id}: not commissioned: no signage record (L7) — add `signage:` to camera {camera_id} "
        f"or its site {site_id}"
    )


def unsigned_cameras(config: VigieConfig) -> Iterator[tuple[Loc, str, str]]:
    """``(location, message, hint)`` for each enabled camera covered by no signage record: a warning of ``vigie
    config check`` (the file is valid; the camera simply stays off until its panel is recorded)."""
    for c, commune in enumerate(config.communes):
        for s, site in enumerate(commune.sites):
            for k, camera in enumerate(site.cameras):
                if camera.enabled and effective_signage(site, camera.signage) is None:
                    yield (
                        ("communes", c, "sites", s, "cameras", k),
                        missing_signage_message(camera.id, site.id),
                        "signage: {pictogram: true, controller: ..., contact: ..., panel: ..., posted_on: YYYY-MM-DD}",
                    )
