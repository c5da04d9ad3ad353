"""The root of the configuration file: storage, API, and the tenants (communes and state services) with
their sites and cameras.

The camera, zone and field models live in :mod:`vigie.config.camera`, :mod:`vigie.config.zones` and
:mod:`vigie.config.fields`; they are re-exported here so that ``vigie.config.models`` names every model.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from vigie.config.camera import (
    MAX_RETENTION_DAYS,
    STREAM_SCHEMES,
    AnalysisSettings,
    Authorisation,
    Camera,
    CameraSetting,
    Location,
    MotionSettings,
)
from vigie.config.fields import ConfigModel, NonEmptyText, Slug, duplicate_error, find_duplicates, invalid
from vigie.config.zones import AnalysisZone, DirectedLineZone, LineDirection, PrivacyMaskZone, Zone
from vigie.domain.redact import redact_url

__all__ = [
    "MAX_RETENTION_DAYS",
    "STREAM_SCHEMES",
    "AnalysisSettings",
    "AnalysisZone",
    "ApiSettings",
    "Authorisation",
    "Camera",
    "CameraPlacement",
    "CameraSetting",
    "Commune",
    "CommuneKind",
    "DirectedLineZone",
    "GovernanceSettings",
    "LineDirection",
    "Location",
    "MotionSettings",
    "PrivacyMaskZone",
    "Site",
    "StorageSettings",
    "VigieConfig",
    "Zone",
]

DATABASE_BACKENDS: tuple[str, ...] = ("sqlite", "postgresql")

INSEE_PATTERN = r"^(?:\d{5}|2[AB]\d{3})$"
"""Official code of a French commune (COG): five digits, or 2A/2B and three digits in Corsica."""


def _check_database_url(url: str) -> str:
    shown = redact_url(url)
    hint = "e.g. sqlite:///var/vigie.db or postgresql+psycopg://vigie@db.example.invalid/vigie"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise invalid(f"not a SQLAlchemy database URL: {shown}", hint) from None
    if parsed.get_backend_name() not in DATABASE_BACKENDS:
        raise invalid(
            f"unsupported database {parsed.get_backend_name()!r} in {shown}", f"use SQLite or PostgreSQL, {hint}"
        )
    return url


DatabaseUrl = Annotated[str, AfterValidator(_check_database_url)]
"""A SQLAlchemy URL of a SQLite or PostgreSQL database."""


class StorageSettings(ConfigModel):
    """Where metadata, events and the audit log are stored, and where segments are written."""

    database_url: DatabaseUrl = Field(
        repr=False,  # may carry credentials; never in logs via repr()
        default="sqlite:///var/vigie.db",
        title="Database URL",
        description="SQLAlchemy URL of the metadata database: SQLite (default) or PostgreSQL "
        "(`postgresql+psycopg://...`). Prefer passing passwords through the environment.",
    )
    data_dir: Path = Field(
        default=Path("var"),
        title="Data directory",
        description="Directory for recorded segments and working files; a relative path is taken from the "
        "directory the runtime is started in.",
    )
    min_free_mb: int = Field(
        default=2048,
        ge=64,
        title="Minimum free space (MiB)",
        description="When the disk holding the data directory has less free space than this, the oldest "
        "recordings that are not under a judicial hold are deleted early (an alarm is logged); held recordings "
        "are never touched.",
    )


class ApiSettings(ConfigModel):
    """Where the HTTP API (and the operator console behind it) listens."""

    host: NonEmptyText = Field(
        default="127.0.0.1",
        title="Host",
        description="Address the API listens on; the default only accepts local connections.",
    )
    port: int = Field(default=8080, ge=1, le=65535, title="Port", description="TCP port of the API (1..65535).")


MIN_AUDIT_RETENTION_DAYS = 183
"""AI Act art. 26(6): logs of an AI system are kept at least six months (L12)."""


class GovernanceSettings(ConfigModel):
    """Audit log and record-of-processing settings. Nothing here can activate or force a module (L22)."""

    checkpoint_every: int = Field(
        default=100,
        ge=1,
        le=100_000,
        title="Checkpoint every",
        description="Audit entries between two signed checkpoints of the chain (1..100000).",
    )
    audit_retention_days: int = Field(
        default=1095,
        ge=MIN_AUDIT_RETENTION_DAYS,
        le=36_500,
        title="Audit retention (days)",
        description="Days audit entries are kept: default 1095 (3 years, L12), at least 183 (6 months, AI Act "
        "art. 26(6)).",
    )
    controller: NonEmptyText | None = Field(
        default=None,
        title="Controller",
        description="The data controller named in the record of processing (e.g. `Ville de Belvédère, "
        "représentée par son maire`).",
    )
    controller_contact: NonEmptyText | None = Field(
        default=None,
        title="Controller contact",
        description="Postal or e-mail address of the controller, printed in the record of processing.",
    )
    dpo_contact: NonEmptyText | None = Field(
        default=None,
        title="DPO contact",
        description="How to reach the data protection officer (e.g. `dpo@belvedere.fr`), printed in the record "
        "of processing.",
    )


class CommuneKind(enum.StrEnum):
    """Who operates the cameras: a commune (municipal police) or a state service."""

    MUNICIPAL = "municipal"
    """A commune or inter-communal body; plate reading is never available to it (L34)."""
    STATE = "state"
    """Police nationale, gendarmerie or douanes (CSI L233-1)."""


class Site(ConfigModel):
    """A place grouping cameras (a square, a station, a school surroundings)."""

    id: Slug = Field(title="Site id", description="Identifier, unique within its commune.")
    name: NonEmptyText = Field(title="Name", description="Name shown to operators.")
    address: str | None = Field(default=None, title="Address", description="Postal address of the site.")
    cameras: tuple[Camera, ...] = Field(
        default=(), title="Cameras", description="Cameras of the site; camera ids are unique across the file."
    )


class Commune(ConfigModel):
    """A tenant: a commune (or inter-communal body) or a state service, owning sites and cameras (L10)."""

    id: Slug = Field(title="Tenant id", description="Identifier, unique across the file (e.g. `villeurbanne`).")
    name: NonEmptyText = Field(title="Name", description="Official name (e.g. `Ville de Villeurbanne`).")
    kind: CommuneKind = Field(
        title="Kind",
        description="`municipal` for a commune or inter-communal body, `state` for police nationale, "
        "gendarmerie or douanes.",
    )
    insee_code: str | None = Field(
        default=None,
        pattern=INSEE_PATTERN,
        title="INSEE code",
        description="Official commune code (5 characters, e.g. `69266`), for municipal tenants.",
    )
    sites: tuple[Site, ...] = Field(default=(), title="Sites", description="Sites of the tenant.")

    @field_validator("sites")
    @classmethod
    def _unique_site_ids(cls, sites: tuple[Site, ...]) -> tuple[Site, ...]:
        duplicates = find_duplicates((site.id, (index, "id")) for index, site in enumerate(sites))
        if duplicates:
            raise duplicate_error("site ids of a commune", duplicates)
        return sites


@dataclass(frozen=True, slots=True)
class CameraPlacement:
    """A camera with the tenant and site it belongs to: what the runtime iterates over."""

    commune: Commune
    site: Site
    camera: Camera


class VigieConfig(ConfigModel):
    """The whole configuration file."""

    version: Literal[1] = Field(title="Format version", description="Version of this file format; always 1.")
    storage: StorageSettings = Field(
        default_factory=StorageSettings, title="Storage", description="Database and data directory."
    )
    api: ApiSettings = Field(default_factory=ApiSettings, title="API", description="Where the HTTP API listens.")
    governance: GovernanceSettings = Field(
        default_factory=GovernanceSettings,
        title="Governance",
        description="Audit log checkpoints and retention, controller and DPO of the record of processing.",
    )
    communes: tuple[Commune, ...] = Field(
        default=(),
        title="Communes",
        description="Tenants (communes and state services) with their sites and cameras.",
    )

    @model_validator(mode="after")
    def _unique_ids(self) -> VigieConfig:
        communes = find_duplicates((c.id, ("communes", i, "id")) for i, c in enumerate(self.communes))
        if communes:
            raise duplicate_error("commune ids", communes)
        cameras = find_duplicates(
            (camera.id, ("communes", c, "sites", s, "cameras", k, "id"))
            for c, commune in enumerate(self.communes)
            for s, site in enumerate(commune.sites)
            for k, camera in enumerate(site.cameras)
        )
        if cameras:
            raise duplicate_error("camera ids", cameras)
        return self

    def placements(self) -> Iterator[CameraPlacement]:
        """Every camera, enabled or not, with its commune and site, in file order."""
        for commune in self.communes:
            for site in commune.sites:
                for camera in site.cameras:
                    yield CameraPlacement(commune, site, camera)

    def find_camera(self, camera_id: str) -> CameraPlacement | None:
        """The camera with this id and where it is, or None."""
        return next((p for p in self.placements() if p.camera.id == camera_id), None)

    @property
    def camera_count(self) -> int:
        return sum(len(site.cameras) for commune in self.communes for site in commune.sites)
