"""A small métropole for API tests: two communes and a state service, their cameras, people in every role, and
a TestClient per person (each with its own cookie jar), on real SQL storage."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.recording.export_samples import ListAuditSink
from vigie.api.app import ApiServices, create_app
from vigie.api.security import LoginRateLimiter
from vigie.domain.alerts import AlertDispatcher
from vigie.domain.camera import CameraInfo, CameraKind
from vigie.domain.users import Role
from vigie.services.access import CommuneInfo, Directory
from vigie.services.alerts import AlertService
from vigie.services.auth import AuthService, totp_code
from vigie.services.cameras import CameraService
from vigie.services.events import EventService
from vigie.services.playback import PlaybackService
from vigie.storage import SqlAlertRepo, SqlUserRepo
from vigie.storage.repositories import SqlCameraStatusRepo, SqlEventRepo

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TODAY = T0.date()
PASSWORD = "correct horse battery staple"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""Tests only: the service's default is argon2-cffi's RFC 9106 low-memory profile (64 MiB, 3 passes)."""

CAMERAS = (
    CameraInfo("vil-1", "Place Lazare-Goujon", "villeurbanne", "centre", CameraKind.FIXED, simulated=True),
    CameraInfo("vil-2", "Gratte-Ciel", "villeurbanne", "centre", CameraKind.PTZ),
    CameraInfo("bron-1", "Parilly", "bron", "parilly", CameraKind.FIXED),
    CameraInfo("pn-1", "Commissariat", "police-nationale", "hotel-police", CameraKind.FIXED),
)
DIRECTORY = Directory(
    communes=(
        CommuneInfo("villeurbanne", "Ville de Villeurbanne", "municipal", ("centre",)),
        CommuneInfo("bron", "Ville de Bron", "municipal", ("parilly",)),
        CommuneInfo("police-nationale", "Police nationale", "state", ("hotel-police",)),
    ),
    camera_commune={c.id: c.commune_id for c in CAMERAS},
)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class World:
    engine: Engine
    auth: AuthService
    alerts: AlertService
    audit: ListAuditSink
    clock: Clock
    app_factory: Callable[[], TestClient]
    totp: dict[str, str] = field(default_factory=dict)
    """Second-factor secret of each account that has one (read back from its otpauth URI)."""

    def client(self) -> TestClient:
        return self.app_factory()

    def login(self, username: str, password: str = PASSWORD) -> TestClient:
        """A client logged in as ``username`` (with its TOTP code when it has one); its CSRF header is set."""
        client = self.client()
        body = {"username": username, "password": password}
        if username in self.totp:
            body["totp"] = totp_code(self.totp[username], self.clock())
        response = client.post("/api/auth/login", json=body)
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return client

    def add(
        self,
        username: str,
        roles: Sequence[Role],
        commune: str = "villeurbanne",
        *,
        authorised_until: date | None = TODAY + timedelta(days=365),
        trained_on: date | None = TODAY - timedelta(days=30),
    ) -> None:
        created = self.auth.add_user(
            "cli:setup",
            username=username,
            display_name=f"{username.title()} Test",
            commune_id=commune,
            roles=roles,
            password=PASSWORD,
            authorised_until=authorised_until,
            trained_on=trained_on,
        )
        if created.totp_uri:
            self.totp[username] = created.totp_uri.split("secret=")[1].split("&")[0]


def build_world(
    engine: Engine,
    *,
    static: Path | None = None,
    playback: Callable[[ListAuditSink, Clock], PlaybackService] | None = None,
    login_attempts: int = 1000,
    dispatchers: Sequence[AlertDispatcher] = (),
) -> World:
    audit, clock = ListAuditSink(), Clock()
    auth = AuthService(
        SqlUserRepo(engine), audit, DIRECTORY, clock, sealing_key=Fernet.generate_key(), hasher=FAST_HASHER
    )
    alerts = AlertService(SqlAlertRepo(engine), audit, clock, dispatchers)
    events, status = SqlEventRepo(engine), SqlCameraStatusRepo(engine)
    play = playback(audit, clock) if playback else None
    limiter = LoginRateLimiter(attempts=login_attempts)
    services = ApiServices(
        EventService(events), CameraService(CAMERAS, status), auth=auth, alerts=alerts, playback=play
    )

    app = create_app(services, static, login_limiter=limiter)

    def factory() -> TestClient:
        return TestClient(app)

    world = World(engine, auth, alerts, audit, clock, factory)
    world.add("op.vil", [Role.OPERATOR])
    world.add("sup.vil", [Role.SUPERVISOR])
    world.add("inv.vil", [Role.INVESTIGATOR])
    world.add("dpo.vil", [Role.DPO], authorised_until=None, trained_on=None)
    world.add("auditor.vil", [Role.AUDITOR], authorised_until=None, trained_on=None)
    world.add("maire.vil", [Role.AUTHORITY], authorised_until=None, trained_on=None)
    world.add("admin.vil", [Role.ADMINISTRATOR], authorised_until=None, trained_on=None)
    world.add("op.bron", [Role.OPERATOR], "bron")
    world.add("admin.bron", [Role.ADMINISTRATOR], "bron", authorised_until=None, trained_on=None)
    world.add("op.untrained", [Role.OPERATOR], trained_on=None)
    world.add("op.expired", [Role.OPERATOR], authorised_until=TODAY + timedelta(days=1))
    return world
