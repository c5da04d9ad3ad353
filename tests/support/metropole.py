"""The reference métropole's cameras for tests and benchmarks (issue 24): 4,891 cameras — 650 street cameras in 15
communes, 4,241 transit cameras of the inter-communal transport network — as a configuration the service validates
(:func:`metropole_config`), and the parts the API world of tests/api/world.py is built from (:func:`world_parts`,
the same mapping as the production composition: runtime/assembly).

Everything is derived from the camera's number, so that a test can name the cameras it looks for
(:data:`EXPIRED`, :data:`OFFLINE` and the names below). No camera starts a pipeline: the world's cameras are what
the configuration says, their health is what a test records in the status table (:func:`record_health`), as the
sink would."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from vigie.config.models import VigieConfig
from vigie.domain.camera import CameraHealth, CameraInfo, HealthState
from vigie.domain.clock import Clock
from vigie.governance.authorisation import CameraAuthorisations
from vigie.runtime.assembly.auth import directory
from vigie.runtime.assembly.site import camera_location, open_site_service
from vigie.services.access import CommuneInfo
from vigie.services.sites import SiteService
from vigie.storage.repositories import SqlCameraStatusRepo

STREET, TRANSIT = 650, 4241
TOTAL = STREET + TRANSIT
TRANSIT_TENANT = "transports"
CENTRE_TENANT = "metropole"
"""The métropole's supervision centre: owns no camera; every commune and the network share theirs with it."""

COMMUNES: tuple[tuple[str, str, float, float], ...] = (
    ("lyon", "Lyon", 45.7640, 4.8357),
    ("villeurbanne", "Villeurbanne", 45.7667, 4.8803),
    ("venissieux", "Vénissieux", 45.6970, 4.8860),
    ("vaulx-en-velin", "Vaulx-en-Velin", 45.7786, 4.9206),
    ("bron", "Bron", 45.7386, 4.9131),
    ("caluire-et-cuire", "Caluire-et-Cuire", 45.7953, 4.8467),
    ("saint-priest", "Saint-Priest", 45.6958, 4.9439),
    ("rillieux-la-pape", "Rillieux-la-Pape", 45.8214, 4.8983),
    ("meyzieu", "Meyzieu", 45.7667, 5.0036),
    ("oullins-pierre-benite", "Oullins-Pierre-Bénite", 45.7142, 4.8075),
    ("decines-charpieu", "Décines-Charpieu", 45.7686, 4.9586),
    ("sainte-foy-les-lyon", "Sainte-Foy-lès-Lyon", 45.7336, 4.7928),
    ("ecully", "Écully", 45.7744, 4.7775),
    ("tassin-la-demi-lune", "Tassin-la-Demi-Lune", 45.7625, 4.7553),
    ("givors", "Givors", 45.5906, 4.7689),
)
"""(id, name, latitude, longitude) of the 15 communes."""

STREET_SITES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("hotel-de-ville", "Hôtel de Ville", "Place de l'Hôtel de Ville", ("mairie", "parvis")),
    ("gare", "Gare", "Place de la Gare", ("gare", "parvis")),
    ("ecole-jules-ferry", "École Jules-Ferry", "12 rue Jules-Ferry", ("école",)),
    ("marche", "Place du Marché", "Place du Marché", ("marché",)),
    ("republique", "Place de la République", "Place de la République", ("place",)),
    ("parc", "Parc municipal", "Avenue du Parc", ("parc",)),
    ("stade", "Stade", "Rue du Stade", ("stade",)),
    ("mediatheque", "Médiathèque", "3 rue Victor-Hugo", ("équipement",)),
)
"""(id, name, address, tags) of each commune's street sites."""

STREET_VIEWS = ("parvis", "entrée", "carrefour", "rue", "parking", "allée")
LINES: tuple[tuple[str, str, int], ...] = (
    ("A", "métro", 14),
    ("B", "métro", 10),
    ("C", "métro", 5),
    ("D", "métro", 15),
    ("T1", "tram", 25),
    ("T2", "tram", 25),
    ("T3", "tram", 10),
    ("T4", "tram", 25),
    ("T5", "tram", 9),
    ("T6", "tram", 13),
    ("T7", "tram", 6),
    ("C3", "bus", 30),
    ("C13", "bus", 30),
)
"""(line, mode, stations) of the transport network."""
STATION_WORDS = (
    "Gare",
    "Hôtel de Ville",
    "Université",
    "Hôpital",
    "Mairie",
    "Parc",
    "Centre",
    "Église",
    "Lycée",
    "Marché",
    "Stade",
    "Pont",
    "Porte",
    "Quartier",
    "Campus",
)
TRANSIT_VIEWS = ("quai 1", "quai 2", "accès nord", "accès sud", "mezzanine", "distributeurs", "rame", "parvis")
KINDS = ("fixed", "fixed", "fixed", "ptz", "fixed", "multisensor", "fixed", "thermal")

EXPIRED = ("villeurbanne-hotel-de-ville-1", "tc-0007")
"""Cameras whose prefectoral authorisation ended ten days before the configuration's day."""
OFFLINE = ("villeurbanne-gare-1", "tc-0003")
"""Cameras :func:`record_health` reports offline."""


@dataclass(frozen=True)
class WorldParts:
    """What tests/api/world.py's ``build_world`` takes to serve the métropole."""

    cameras: tuple[CameraInfo, ...]
    communes: tuple[CommuneInfo, ...]
    sites: SiteService
    config: VigieConfig

    def authorisations(self, clock: Clock) -> CameraAuthorisations:
        """Every camera's authorisation on ``clock`` (as the service judges them)."""
        return CameraAuthorisations.of([p.camera for p in self.config.placements()], clock)


def _authorisation(reference: str, today: date, expired: bool) -> dict[str, Any]:
    return {
        "reference": reference,
        "valid_from": (today - timedelta(days=700)).isoformat(),
        "valid_until": (today + timedelta(days=-10 if expired else 365)).isoformat(),
        "purposes": ["crime_prevention"],
        "retention_days": 15,
    }


def _street(today: date) -> list[dict[str, Any]]:
    communes = []
    per_commune = [STREET // len(COMMUNES) + (1 if n < STREET % len(COMMUNES) else 0) for n in range(len(COMMUNES))]
    number = 0
    for (commune_id, name, lat, lon), count in zip(COMMUNES, per_commune, strict=True):
        sites: dict[str, dict[str, Any]] = {}
        for k in range(count):
            site_id, site_name, address, tags = STREET_SITES[k % len(STREET_SITES)]
            site = sites.setdefault(
                site_id, {"id": site_id, "name": site_name, "address": f"{address}, {name}", "cameras": []}
            )
            n = len(site["cameras"]) + 1
            camera_id = f"{commune_id}-{site_id}-{n}"
            number += 1
            site["cameras"].append(
                {
                    "id": camera_id,
                    "name": f"{site_name} — {STREET_VIEWS[(n - 1) % len(STREET_VIEWS)]}",
                    "kind": KINDS[number % len(KINDS)],
                    "main_stream": f"rtsp://10.1.{number // 250}.{number % 250 + 1}/main",
                    "location": {
                        "lat": round(lat + (k % 7 - 3) * 0.0011, 6),
                        "lon": round(lon + (k // 7 - 3) * 0.0013, 6),
                        "address": f"{address}, {name}",
                    },
                    "tags": list(tags),
                    "authorisation": _authorisation(f"69-VP-{number:05d}", today, camera_id in EXPIRED),
                }
            )
        communes.append(
            {"id": commune_id, "name": f"Ville de {name}", "kind": "municipal", "sites": list(sites.values())}
        )
    return communes


def _stations() -> list[tuple[str, str, str, str, float, float]]:
    """(site id, station name, line, mode, lat, lon) of every station of the network."""
    stations = []
    for n, (line, mode, count) in enumerate(LINES):
        for k in range(count):
            commune = COMMUNES[(n + k) % len(COMMUNES)]
            word = STATION_WORDS[(k + n) % len(STATION_WORDS)]
            name = f"{word} {commune[1]}" if k % 3 else f"{commune[1]} {word}"
            stations.append(
                (
                    f"{line.lower()}-{k + 1:02d}",
                    f"{line} {name}",
                    line,
                    mode,
                    round(commune[2] + (k % 5 - 2) * 0.002, 6),
                    round(commune[3] + (k % 4 - 2) * 0.002, 6),
                )
            )
    return stations


def _transit(today: date) -> dict[str, Any]:
    stations = _stations()
    cameras: list[list[dict[str, Any]]] = [[] for _ in stations]
    for n in range(TRANSIT):
        s = n % len(stations)
        _, name, line, mode, lat, lon = stations[s]
        view = TRANSIT_VIEWS[(n // len(stations)) % len(TRANSIT_VIEWS)]
        camera_id = f"tc-{n:04d}"
        cameras[s].append(
            {
                "id": camera_id,
                "name": f"{name} — {view} {n // len(stations) + 1}",
                "kind": KINDS[n % len(KINDS)],
                "setting": "transit",
                "main_stream": f"rtsp://10.2.{n // 250}.{n % 250 + 1}/main",
                "location": {
                    "lat": round(lat + (n % 3 - 1) * 0.0002, 6),
                    "lon": round(lon + (n % 2) * 0.0002, 6),
                    "address": f"Station {name}",
                },
                "tags": ["transit", mode, f"ligne {line}", view.split(" ")[0]],
                "authorisation": _authorisation(f"69-TC-{n:05d}", today, camera_id in EXPIRED),
            }
        )
    sites = [
        {"id": site_id, "name": name, "address": f"Station {name}", "cameras": cams}
        for (site_id, name, *_), cams in zip(stations, cameras, strict=True)
    ]
    return {"id": TRANSIT_TENANT, "name": "Réseau de transports de la Métropole", "kind": "municipal", "sites": sites}


def metropole_data(today: date, data_dir: str, database_url: str) -> dict[str, Any]:
    """The configuration file's content (YAML or JSON) with the cameras' authorisations valid around ``today``."""
    communes = [
        *_street(today),
        _transit(today),
        {"id": CENTRE_TENANT, "name": "Métropole — centre de supervision", "kind": "municipal", "sites": []},
    ]
    return {
        "version": 1,
        "storage": {"database_url": database_url, "data_dir": data_dir},
        "communes": communes,
    }


def metropole_config(today: date, data_dir: str = "var/metropole", database_url: str = "") -> VigieConfig:
    url = database_url or f"sqlite:///{data_dir}/vigie.db"
    return VigieConfig.model_validate(metropole_data(today, data_dir, url))


def world_parts(config: VigieConfig) -> WorldParts:
    """The cameras, tenants and sites as the production composition builds them from ``config``."""
    cameras = tuple(
        CameraInfo(
            p.camera.id,
            p.camera.name,
            p.commune.id,
            p.site.id,
            p.camera.kind,
            False,
            location=camera_location(p.camera),
            tags=p.camera.tags,
        )
        for p in config.placements()
        if p.camera.enabled
    )
    return WorldParts(cameras, directory(config).communes, open_site_service(config, {c.id for c in cameras}), config)


def record_health(engine: Engine, cameras: Sequence[CameraInfo], at: datetime) -> None:
    """Every camera online, but :data:`OFFLINE`, as the sink writes the workers' reports."""
    SqlCameraStatusRepo(engine).record_many(
        CameraHealth(c.id, HealthState.OFFLINE, at, "no answer from the camera", 0.0)
        if c.id in OFFLINE
        else CameraHealth(c.id, HealthState.ONLINE, at, "", 5.0)
        for c in cameras
    )


OPERATOR = "op.metro"
"""An operator of the supervision centre, who sees every camera (:func:`metropole_world`)."""


def metropole_world(engine: Engine, parts: WorldParts, **options: Any) -> Any:
    """The API world of tests/api/world.py over the métropole's cameras, with :data:`OPERATOR` seeing all of them
    (every tenant shares its cameras with the centre) and every camera's health recorded (:func:`record_health`).
    ``options`` go to ``build_world`` (static folder, clock, live view, health view)."""
    from tests.api.world import build_world
    from vigie.domain.actor import Actor
    from vigie.domain.users import Role

    world = build_world(
        engine,
        cameras=parts.cameras,
        communes=parts.communes,
        sites=parts.sites,
        authorisations=parts.authorisations,
        **options,
    )
    today = world.clock().date()
    for commune in parts.communes:
        if commune.id != CENTRE_TENANT:
            world.auth.record_agreement(
                Actor.command_line("setup", commune_id=commune.id),
                partner_commune=CENTRE_TENANT,
                reference=f"Convention {commune.id} / métropole",
                starts_on=today - timedelta(days=30),
                ends_on=today + timedelta(days=365),
            )
    world.add(OPERATOR, [Role.OPERATOR], CENTRE_TENANT)
    record_health(engine, parts.cameras, world.clock())
    return world
