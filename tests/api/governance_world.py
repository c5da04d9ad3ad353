"""The governance side of the API tests' métropole: a configuration whose communes and cameras are those of
``tests.api.world`` (same ids, tenants and kinds), and the governance service built on the world's database, audit
sink and clock, the way the runtime builds it (without the module-settings check: no camera here configures an
event module)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from tests.support.seals import Seals
from vigie.config import load_config_text
from vigie.config.models import VigieConfig
from vigie.domain.ports import AuditSink
from vigie.governance.catalogue import load_catalogue
from vigie.runtime.assembly.governance import account_roles, audit_entry
from vigie.services.governance_access import GovernanceAccess
from vigie.storage import SqlGovernanceStore

SETTINGS = {"vil-1": "public_street", "vil-2": "transit", "bron-1": "public_street", "pn-1": "public_street"}
"""Camera settings, which decide the frameworks that can cover a camera (L24)."""


def _camera(camera_id: str, kind: str) -> str:
    return f"""\
          - id: {camera_id}
            name: {camera_id}
            kind: {kind}
            setting: {SETTINGS[camera_id]}
            main_stream: rtsp://{camera_id}.example.invalid/stream1
            location: {{lat: 45.77, lon: 4.88}}
            authorisation:
              reference: 2024-DS-0142
              valid_from: 2024-03-01
              valid_until: 2029-02-28
              purposes: [crime_prevention]
              retention_days: 15
            zones:
              - kind: analysis
                id: parvis
                points: [[0.1, 0.5], [0.9, 0.5], [0.5, 0.9]]
"""


def _commune(commune_id: str, name: str, kind: str, site: str, cameras: str) -> str:
    return f"""\
  - id: {commune_id}
    name: {name}
    kind: {kind}
    sites:
      - id: {site}
        name: {site}
        signage:
          pictogram: true
          controller: Ville de Testville
          contact: dpo@testville.example
          panel: PAN-TEST-001
          posted_on: 2000-01-01
        cameras:
{cameras}"""


CONFIG_TEXT = (
    """\
version: 1
governance:
  controller: Métropole de Lyon
  controller_contact: mairie@villeurbanne.example
  dpo_contact: dpo@villeurbanne.example
communes:
"""
    + _commune(
        "villeurbanne",
        "Ville de Villeurbanne",
        "municipal",
        "centre",
        _camera("vil-1", "fixed") + _camera("vil-2", "ptz"),
    )
    + _commune("bron", "Ville de Bron", "municipal", "parilly", _camera("bron-1", "fixed"))
    + _commune("police-nationale", "Police nationale", "state", "hotel-police", _camera("pn-1", "fixed"))
)


def world_config() -> VigieConfig:
    return load_config_text(CONFIG_TEXT, "api test métropole")


def build_governance(engine: Engine, audit: AuditSink, clock: Callable[[], datetime]) -> GovernanceAccess:
    seals = Seals()
    return GovernanceAccess(
        SqlGovernanceStore(engine),
        catalogue=load_catalogue(),
        config=world_config(),
        audit=audit,
        clock=clock,
        sealer=seals.sealer,
        verifier=seals.verifier,
        accounts=account_roles(engine),
        audit_entry=audit_entry(engine),
    )
