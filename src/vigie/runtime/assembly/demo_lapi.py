"""The demo's plate reading (LAPI): a state tenant, its plate-reading camera, a real activation and a hit list.

Plate reading is reserved to state services (L34), so the demo adds one — "Police nationale (démonstration)" — beside
its commune, with one camera dedicated to a lane, simulated by the built-in scene ``lane``. The simulated-footage
exemption does not cover this module (:func:`vigie.runtime.assembly.governance.exemptible_modules`): the demo
records an activation for it the way an installation does, through the governance service — requested by the
tenant's supervisor, approved by its DPO and by the prefect's delegate, all three accounts of the demo's own, every
step signed and audited — and imports a small hit list with its SHA-256, as the tenant's supervisor. Reads then
happen on every car of the scene; only the one on the list (``GE-042-ZR``, scripted at 12 s of each 30-s loop) is ever
visible, as a pending alert and in the tenant's matches (L35: the others are only counted).
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from vigie.domain.activation import ActivationRequest
from vigie.domain.actor import Actor
from vigie.domain.plates import MODULE
from vigie.domain.users import Role
from vigie.governance.activation import ActivationState
from vigie.runtime.assembly.demo_scenes import LAPI_CAMERA
from vigie.services.auth import AuthService
from vigie.services.governance import GovernanceService
from vigie.services.plates import PlateService

log = logging.getLogger(__name__)

LAPI_TENANT = "pn-demo"
LAPI_SITE = "voie-rapide"
LAPI_FRAMEWORK = "lapi-csi-l233-1"
WANTED_PLATE = "GE-042-ZR"
"""The scripted car of the ``lane`` scene, on the demo's hit list."""
HIT_LIST_FILE = "hit-list-demo.tsv"
LAPI_LOGIN_FILE = "demo-lapi-login.txt"
ACTIVATION_DAYS = 30
"""An activation for a month from the demo's start; a later start finds it in force and records no other."""
ANALYSIS_WIDTH = 640
"""The lane camera is analysed at its full width: its plates are about 105 px wide there."""
DETECT_SIDE = 480
"""A car's box (about 350 px wide) scaled to 480 px for finding its plate: every plate of the scene read, at 0.66
the reader's cost at 640 (bench/lpr_camera.py)."""


@dataclass(frozen=True, slots=True)
class LapiAccounts:
    """The state tenant's demo accounts: who requests, the two who approve (two people, two roles)."""

    supervisor: str = "pn-superviseur"
    dpo: str = "pn-dpo"
    authority: str = "pn-prefecture"


ACCOUNTS = LapiAccounts()
_ACTOR = Actor.command_line("demo")


LAPI_SIGNAGE: dict[str, Any] = {
    "pictogram": True,
    "controller": "Direction départementale de la sécurité publique (démonstration)",
    "contact": "ddsp-demonstration@interieur.example",
    "panel": "PAN-DEMO-LAPI-01",
    "posted_on": "2026-01-01",  # the day its authorisation starts
}
"""The panel of the demo's expressway (L7): the state service is the controller there."""


def lapi_commune(url: str) -> dict[str, Any]:
    """The state tenant of the demo's configuration, with its plate-reading camera showing ``url``."""
    camera = {
        "id": LAPI_CAMERA,
        "name": "LAPI — voie rapide (simulée)",
        "kind": "fixed",
        "setting": "public_street",
        "main_stream": url,
        "location": {"lat": 45.760, "lon": 4.846, "address": "Demo expressway"},
        "authorisation": {
            "reference": "DEMO-SIMULATION-LAPI",
            "valid_from": "2026-01-01",
            "valid_until": "2030-12-31",
            "purposes": ["crime_prevention"],
            "retention_days": 7,
        },
        "analysis": {
            "fps": 3,
            "width": ANALYSIS_WIDTH,
            "modules": {MODULE: {"lpr_camera": True, "detect_side": DETECT_SIDE}},
        },
    }
    return {
        "id": LAPI_TENANT,
        "name": "Police nationale (démonstration)",
        "kind": "state",
        "sites": [{"id": LAPI_SITE, "name": "Voie rapide", "signage": LAPI_SIGNAGE, "cameras": [camera]}],
    }


def ensure_lapi_accounts(accounts: AuthService, data_dir: Path, today: date) -> Path:
    """The state tenant's three accounts, created once; only the supervisor's password is written (to
    ``demo-lapi-login.txt``, mode 0600: the account that sees the tenant's matches). The DPO and the prefect's
    delegate only approve the demo's activation at its start; their random passwords are written nowhere."""
    login = data_dir / LAPI_LOGIN_FILE
    roles = {
        ACCOUNTS.supervisor: ("Superviseur LAPI (démonstration)", [Role.OPERATOR, Role.SUPERVISOR, Role.INVESTIGATOR]),
        ACCOUNTS.dpo: ("DPO de la police nationale (démonstration)", [Role.DPO]),
        ACCOUNTS.authority: ("Délégué du préfet (démonstration)", [Role.AUTHORITY]),
    }
    for username, (name, held) in roles.items():
        password = secrets.token_urlsafe(12)
        if accounts.principal_exists(username):
            if username != ACCOUNTS.supervisor:
                continue
            if login.is_file():
                accounts.update_user(_ACTOR, username, authorised_until=today + timedelta(days=365))
                continue
            accounts.reset_password(_ACTOR, username, password)  # its file was removed: a new password in it
            _write_login(login, username, password)
            continue
        accounts.add_user(
            _ACTOR,
            username=username,
            display_name=name,
            commune_id=LAPI_TENANT,
            roles=held,
            password=password,
            authorised_until=today + timedelta(days=365) if Role.OPERATOR in held else None,
            trained_on=today if Role.OPERATOR in held else None,
        )
        if username == ACCOUNTS.supervisor:
            _write_login(login, username, password)
    return login


def _write_login(path: Path, username: str, password: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(f"username: {username}\npassword: {password}\n")


def ensure_lapi_activation(governance: GovernanceService, now: datetime) -> int:
    """The id of an activation of plate reading on the demo's LAPI camera in force at ``now``: the one recorded by
    an earlier start, or a new one requested and approved through the governance service (two people, two roles).
    Raises ``RuntimeError`` with the service's refusals when it refuses (the demo then runs without LAPI)."""
    for item in governance.status(now).activations:
        a = item.activation
        if a.module == MODULE and LAPI_CAMERA in a.camera_ids and item.state is ActivationState.ACTIVE:
            return a.id
    request = ActivationRequest(
        tenant=LAPI_TENANT,
        module=MODULE,
        camera_ids=(LAPI_CAMERA,),
        framework=LAPI_FRAMEWORK,
        decision_number="DEMO-LAPI-SIMULATION",
        decision_date=now.date(),
        dpia_reference="DEMO-AIPD-LAPI",
        purpose="Démonstration de la LAPI sur une voie simulée (aucune donnée réelle)",
        starts_at=now,
        ends_at=now + timedelta(days=ACTIVATION_DAYS),
        requested_by=ACCOUNTS.supervisor,
        requested_role=str(Role.SUPERVISOR),
    )
    outcome = governance.request(request)
    if not outcome.accepted or outcome.activation_id is None:
        raise RuntimeError(f"plate reading not activated: {outcome.message}")
    for name, role in ((ACCOUNTS.dpo, Role.DPO), (ACCOUNTS.authority, Role.AUTHORITY)):
        approved = governance.approve(outcome.activation_id, Actor(name, str(role), LAPI_TENANT))
        if not approved.accepted:
            raise RuntimeError(f"plate reading not approved by {name}: {approved.message}")
    return outcome.activation_id


def hit_list_text() -> bytes:
    """The demo's hit list: the scripted car of the lane scene, as a stolen vehicle."""
    return (
        "# Liste de démonstration (véhicules fictifs du simulateur)\n"
        "plate\treason\tlist\n"
        f"{WANTED_PLATE}\tvol déclaré (démonstration)\tvoles\n"
    ).encode()


def ensure_hit_list(plates: PlateService, accounts: AuthService, data_dir: Path) -> None:
    """Import the demo's hit list as the tenant's supervisor, vouched for by its SHA-256 (audited); the file is
    kept in the demo folder so the import can be repeated with ``vigie lapi``."""
    data = hit_list_text()
    (data_dir / HIT_LIST_FILE).write_bytes(data)
    viewer = accounts.principal_for(ACCOUNTS.supervisor)
    digest = hashlib.sha256(data).hexdigest()
    if any(done.sha256 == digest for done in plates.imports_for(viewer)[:1]):
        return  # the last import is this very file: nothing to replace
    plates.import_as(viewer, data, checksum=digest)
