"""A small métropole for API tests: two communes and a state service, their cameras, people in every role, and
a TestClient per person (each with its own cookie jar), on real SQL storage."""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.analytics.onnx_models import MODELS
from tests.api.audit_world import ChainedAuditSink, open_audit_service, open_test_chain
from tests.api.export_world import open_test_exports
from tests.api.governance_world import build_governance
from tests.recording.export_samples import ListAuditSink
from tests.support.clocks import FakeClock
from tests.support.copy_maker import FakeCopyMaker
from tests.support.system_health import HealthParts
from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig
from vigie.analytics.forensics.motion_footage import FootageMotionSearch
from vigie.analytics.forensics.motion_region import RecordedFile
from vigie.analytics.forensics.object_search import CameraLayout, FootageObjectSearch, ObjectSearchParams
from vigie.api.app import ApiServices, create_app
from vigie.api.security import LoginRateLimiter
from vigie.config.integrations import WebhookEndpoint
from vigie.devices.speakers.simulated import SimulatedSpeaker
from vigie.domain.access_requests import CopyMaker
from vigie.domain.actor import Actor
from vigie.domain.alerts import AlertDispatcher
from vigie.domain.camera import CameraInfo, CameraKind, CameraLocation
from vigie.domain.speakers import RecordedMessage, SpeakerInfo
from vigie.domain.users import Role
from vigie.governance.audit import AuditChain
from vigie.governance.authorisation import CameraAuthorisations
from vigie.governance.gate import ClosedGate
from vigie.services.access import CommuneInfo, Directory
from vigie.services.access_requests import AccessRequestService
from vigie.services.alerts import AlertService
from vigie.services.audit import AuditService
from vigie.services.auth import AuthService
from vigie.services.camera_groups import CameraGroupService
from vigie.services.cameras import CameraService
from vigie.services.case_bookmarks import CaseBookmarkService
from vigie.services.case_search import CaseSearchService
from vigie.services.cases import CaseService
from vigie.services.credentials import totp_code
from vigie.services.events import EventService
from vigie.services.exports import ExportService
from vigie.services.governance_access import GovernanceAccess
from vigie.services.holds import HoldService
from vigie.services.layouts import LayoutService
from vigie.services.live import LiveService
from vigie.services.map import MapCamera, MapService, field_of_view
from vigie.services.oidc import OidcLogin
from vigie.services.plates import PlateService
from vigie.services.playback import PlaybackService
from vigie.services.ptz import PtzService
from vigie.services.recordings import RecordingService
from vigie.services.sensor_statistics import SensorRef, SensorStatisticsService
from vigie.services.sensors import SensorLinkService
from vigie.services.sites import SiteInfo, SiteService, ZoneInfo
from vigie.services.snapshots import SnapshotService
from vigie.services.speakers import Speaker, SpeakerService
from vigie.services.system_health import SystemHealthService
from vigie.services.webhooks import WebhookAdministration
from vigie.storage import SqlAlertRepo, SqlHoldRepo, SqlSegmentIndex, SqlUserRepo
from vigie.storage.access_requests import SqlAccessRequestStore
from vigie.storage.camera_groups import SqlCameraGroups
from vigie.storage.case_bookmarks import SqlCaseBookmarks
from vigie.storage.case_objects import SqlCaseObjects
from vigie.storage.case_searches import SqlCaseSearches
from vigie.storage.cases import SqlCaseRepo
from vigie.storage.layouts import SqlLayouts, SqlWallOutputs
from vigie.storage.plates import SqlPlateRepo
from vigie.storage.repositories import SqlCameraStatusRepo, SqlEventRepo
from vigie.storage.segment_history import SqlSegmentHistory
from vigie.storage.sensors import SqlSensorLinkEvents, SqlSensorStatistics
from vigie.storage.site_plans import SqlSitePlans
from vigie.storage.webhooks import SqlWebhookDeliveries

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
"""The world's instant, unless it is given another clock (the browser tests run in real time)."""
TODAY = T0.date()
PASSWORD = "correct horse battery staple"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""Tests only: the service's default is argon2-cffi's RFC 9106 low-memory profile (64 MiB, 3 passes)."""

CAMERAS = (
    CameraInfo(
        "vil-1",
        "Place Lazare-Goujon",
        "villeurbanne",
        "centre",
        CameraKind.FIXED,
        simulated=True,
        location=CameraLocation(45.7663, 4.8795, "Place Lazare-Goujon, Villeurbanne"),
    ),
    CameraInfo("vil-2", "Gratte-Ciel", "villeurbanne", "centre", CameraKind.PTZ),
    CameraInfo("bron-1", "Parilly", "bron", "parilly", CameraKind.FIXED, location=CameraLocation(45.7225, 4.9067)),
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
SITES = (
    SiteInfo("centre", "villeurbanne", "Centre-ville", "Place Lazare-Goujon", ("vil-1", "vil-2")),
    SiteInfo("parilly", "bron", "Parc de Parilly", None, ("bron-1",)),
    SiteInfo("hotel-police", "police-nationale", "Hôtel de police", None, ("pn-1",)),
)
ZONES = {
    "vil-1": [
        ZoneInfo("parvis", "analysis", ((0.1, 0.5), (0.9, 0.5), (0.9, 0.95), (0.1, 0.95)), "parvis de la mairie"),
        ZoneInfo("fenetres-12", "privacy_mask", ((0.7, 0.05), (0.95, 0.05), (0.95, 0.3)), "fenêtres du n° 12"),
        ZoneInfo("sortie-metro", "directed_line", ((0.2, 0.6), (0.8, 0.6)), None, "left_to_right"),
    ],
    "bron-1": [ZoneInfo("allee", "analysis", ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0)))],
}


class Clock(FakeClock):
    """The world's clock: :data:`T0` until moved."""

    def __init__(self, now: datetime = T0) -> None:
        super().__init__(now)


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
    governance: GovernanceAccess | None = None
    """Activations and stop switches, on the world's database, audit sink and clock."""
    audit_chain: AuditChain | None = None
    """The real, signed audit chain on the world's database (everything traced lands in it with ``sql_audit``)."""
    audit_log: AuditService | None = None
    exports: ExportService | None = None
    """Exports on the world's SQL segment index (close it at the end of a test that made some)."""
    speakers: SpeakerService | None = None
    """Loudspeakers: :data:`SPEAKER_MESSAGES` on the simulated speakers of :func:`some_speakers`."""
    footage: dict[str, list[RecordedFile]] = field(default_factory=dict)
    """The recorded files of each camera the forensic object search reads (put files here before searching)."""
    copy_maker: FakeCopyMaker = field(default_factory=FakeCopyMaker)
    """The access requests' copy maker (a test double: tests/support/copy_maker.py)."""
    access_requests: AccessRequestService | None = None

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
        authorised_for: timedelta | None = timedelta(days=365),
        trained_ago: timedelta | None = timedelta(days=30),
    ) -> None:
        """An account authorised for ``authorised_for`` and trained ``trained_ago``, counted from the world's
        clock (None: no authorisation end, never trained)."""
        today = self.clock().date()
        created = self.auth.add_user(
            Actor.command_line("setup"),
            username=username,
            display_name=f"{username.title()} Test",
            commune_id=commune,
            roles=roles,
            password=PASSWORD,
            authorised_until=None if authorised_for is None else today + authorised_for,
            trained_on=None if trained_ago is None else today - trained_ago,
        )
        if created.totp_uri:
            self.totp[username] = created.totp_uri.split("secret=")[1].split("&")[0]


def _health_parts(engine: Engine) -> Callable[[CameraService, Clock], SystemHealthService]:
    """The health view's real parts, the disks being the database's folder's."""
    folder = Path(engine.url.database or ".").resolve().parent
    return HealthParts().factory(folder, [c.id for c in CAMERAS], engine)


def _no_reads(engine: Engine) -> Callable[[AlertService, ListAuditSink, Clock], PlateService]:
    """The plate routes on the world's database, behind a closed gate: no read is ever stored."""
    return lambda alerts, audit, clock: PlateService(
        SqlPlateRepo(engine), alerts, audit, clock, directory=DIRECTORY, gate=ClosedGate()
    )


SPEAKER_MESSAGES = (
    RecordedMessage(
        "park-closing",
        "villeurbanne",
        {"fr": "Le parc ferme", "en": "The park closes"},
        ("fr", "en"),
        frozenset({"operator", "supervisor"}),
        clip="1",
    ),
    RecordedMessage("evacuate", "villeurbanne", {"fr": "Évacuez la place"}, ("fr",), frozenset({"supervisor"}), "2"),
    RecordedMessage("parilly-closing", "bron", {"fr": "Le parc de Parilly ferme"}, ("fr",), frozenset({"operator"})),
)
WEBHOOK_ENDPOINTS = (
    WebhookEndpoint(
        name="police-vil",
        url="https://dispatch.example/hooks/vigie?token=t",
        communes=("villeurbanne",),
        secret_env="VIGIE_TEST_UNUSED",
    ),
    WebhookEndpoint(
        name="metro", url="https://metro.example/hooks", communes=("villeurbanne", "bron"), secret_env="VIGIE_TEST_X"
    ),
    WebhookEndpoint(name="bron-pm", url="https://bron.example/hooks", communes=("bron",), secret_env="VIGIE_TEST_Y"),
)
"""Webhook endpoints (issue 21): none is sent to (no sender in the API world); administrators re-enable them."""
SENSORS = (
    SensorRef("radar-vil", "villeurbanne", "radar", "Cours Émile-Zola"),
    SensorRef("presence-vil", "villeurbanne", "presence", "Parvis"),
    SensorRef("radar-bron", "bron", "radar", "Boulevard de l'Europe"),
)
"""Sensors (issue 21) whose statistics the API reads, 5-minute buckets."""
SENSOR_MIN_COUNT = 5
SPEAKERS = (
    SpeakerInfo("vil-spk-1", "villeurbanne", "Place Lazare-Goujon", "Parvis", ("vil-1",), "simulated"),
    SpeakerInfo("vil-spk-2", "villeurbanne", "Gratte-Ciel", "Avenue", ("vil-2",), "simulated"),
    SpeakerInfo("bron-spk-1", "bron", "Parilly", "Allée", ("bron-1",), "simulated"),
)


def some_speakers(audit: ListAuditSink, auth: AuthService, alerts: AlertService) -> SpeakerService:
    """Simulated speakers in Villeurbanne and Bron, with their communes' messages."""
    speakers = [Speaker(info, SimulatedSpeaker(info.id)) for info in SPEAKERS]
    return SpeakerService(SPEAKER_MESSAGES, speakers, audit, auth, alert_lookup=alerts.get_for)


def a_dome(audit: ListAuditSink, clock: Clock, wrap: Callable[[Any], Any] = lambda dome: dome) -> PtzService:
    """The PTZ routes with one simulated dome, camera ``vil-1`` (its clock the world's); ``wrap``: what the service
    drives instead, made from the dome (a test counting its reads)."""
    from vigie.domain.ptz import DomeOptics
    from vigie.sim.dome import SimulatedDome
    from vigie.sim.panorama import panorama

    dome = SimulatedDome(DomeOptics(), panorama(), lambda: clock().timestamp(), walkers=False)
    return PtzService({"vil-1": wrap(dome)}, audit, clock)


def plain_map(engine: Engine, cameras: Sequence[CameraInfo], audit: ListAuditSink, clock: Clock) -> MapService:
    """The map of ``cameras`` where they stand (their default field of view, no heading), without a basemap."""
    placed = [
        MapCamera(c.id, c.commune_id, c.location.lon, c.location.lat, None, *field_of_view(c.kind, None, None))
        for c in cameras
        if c.location is not None
    ]
    return MapService(placed, [(s.commune_id, s.id) for s in SITES], SqlSitePlans(engine), audit, clock)


def _footage_between(
    footage: dict[str, list[RecordedFile]], camera_id: str, start: datetime, end: datetime
) -> list[RecordedFile]:
    files = sorted(footage.get(camera_id, []), key=lambda f: f.start)
    return [f for n, f in enumerate(files) if f.start < end and (n + 1 == len(files) or files[n + 1].start > start)]


@functools.cache
def _yolox_nano(_camera_id: str) -> OnnxDetector:
    """The real YOLOX-nano of ../shared/data (tests that search footage skip without it)."""
    return OnnxDetector(OnnxDetectorConfig(model_path=MODELS / "yolox_nano.onnx", format="yolox"))


def build_world(
    engine: Engine,
    *,
    static: Path | None = None,
    playback: Callable[[ListAuditSink, Clock], PlaybackService] | None = None,
    login_attempts: int = 1000,
    dispatchers: Sequence[AlertDispatcher] = (),
    live: Callable[[ListAuditSink, Clock], LiveService] | None = None,
    snapshots: Callable[[AlertService, ListAuditSink, Clock], SnapshotService] | None = None,
    sites: SiteService | None = None,
    recordings: Callable[[ListAuditSink, Clock], RecordingService] | None = None,
    sql_audit: bool = False,
    clock: Clock | None = None,
    exports: Callable[[ListAuditSink, Clock], ExportService] | None = None,
    oidc: Callable[[AuthService, Clock], OidcLogin] | None = None,
    authorisations: Callable[[Clock], CameraAuthorisations] | None = None,
    system_health: Callable[[CameraService, Clock], SystemHealthService] | None = None,
    plates: Callable[[AlertService, ListAuditSink, Clock], PlateService] | None = None,
    ptz: Callable[[ListAuditSink, Clock], PtzService] = a_dome,
    speakers: Callable[[ListAuditSink, AuthService, AlertService], SpeakerService] = some_speakers,
    cameras: Sequence[CameraInfo] = CAMERAS,
    case_footage: Callable[[str, datetime, datetime], list[RecordedFile]] | None = None,
    case_layouts: dict[str, CameraLayout] | None = None,
    workspace: Path | None = None,
    copy_maker: CopyMaker | None = None,
    communes: Sequence[CommuneInfo] = DIRECTORY.communes,
    map_view: Callable[[ListAuditSink, Clock], MapService] | None = None,
) -> World:
    """``sites``, ``recordings``, ``system_health`` and ``plates`` default to :data:`SITES` and :data:`ZONES`, the
        SQL segment index of ``engine``, the health view's real parts and the plate store behind a closed gate, so that
        every route is served (schemathesis calls them all). ``cameras`` replaces :data:`CAMERAS` (same communes);
        ``case_footage`` the recorded files a case's searches read (default: ``World.footage``), ``case_layouts`` the
        cameras' headings and zones for the object search (default: none); ``workspace`` the folder of the access
        requests' copies (default: a new temporary folder), ``copy_maker`` the maker of their redacted copies (default:
        the test double of tests/support/copy_maker.py, kept in ``World.copy_maker``); ``communes`` the tenants
    (default: :data:`DIRECTORY`'s, which the world's accounts belong to); ``map_view`` the map (default: the cameras'
    locations, no basemap, plans in ``engine``)."""
    audit, clock = ListAuditSink(), clock or Clock()
    footage: dict[str, list[RecordedFile]] = {}
    files = case_footage or partial(_footage_between, footage)
    chain = open_test_chain(engine, clock)
    if sql_audit:  # what the services trace goes to the real chain as well as to the list
        audit = ChainedAuditSink(chain)
    audit_log = open_audit_service(chain, engine)
    cameras = tuple(cameras)
    directory = Directory(tuple(communes), camera_commune={c.id: c.commune_id for c in cameras})
    auth = AuthService(
        SqlUserRepo(engine), audit, directory, clock, sealing_key=Fernet.generate_key(), hasher=FAST_HASHER
    )
    alerts = AlertService(SqlAlertRepo(engine), audit, clock, dispatchers)
    events, status = SqlEventRepo(engine), SqlCameraStatusRepo(engine)
    play = playback(audit, clock) if playback else None
    limiter = LoginRateLimiter(attempts=login_attempts)
    governance = build_governance(engine, audit, clock)
    export_service = (
        exports(audit, clock) if exports else open_test_exports(engine, audit, clock, chain.keyring, cameras)
    )
    camera_service = CameraService(cameras, status, authorisations=authorisations(clock) if authorisations else None)
    fake_maker = FakeCopyMaker()
    access_workspace = workspace or Path(tempfile.mkdtemp(prefix="vigie-access-requests-"))
    services = ApiServices(
        EventService(events),
        camera_service,
        auth=auth,
        alerts=alerts,
        playback=play,
        live=live(audit, clock) if live else None,
        snapshots=snapshots(alerts, audit, clock) if snapshots else None,
        sites=sites or SiteService(SITES, ZONES),
        recordings=recordings(audit, clock) if recordings else RecordingService(SqlSegmentHistory(engine), audit),
        governance=governance,
        audit=audit_log,
        exports=export_service,
        oidc=oidc(auth, clock) if oidc else None,
        system_health=(system_health or _health_parts(engine))(camera_service, clock),
        plates=(plates or _no_reads(engine))(alerts, audit, clock),
        ptz=ptz(audit, clock),
        speakers=(speaker_service := speakers(audit, auth, alerts)),
        sensor_links=SensorLinkService((), audit, SqlSensorLinkEvents(engine), clock),
        sensor_statistics=SensorStatisticsService(
            SENSORS, SqlSensorStatistics(engine), audit, bucket_s=300, min_count=SENSOR_MIN_COUNT
        ),
        webhooks=WebhookAdministration(WEBHOOK_ENDPOINTS, SqlWebhookDeliveries(engine), audit, clock),
        cases=(
            case_service := CaseService(
                SqlCaseRepo(engine),
                audit,
                clock,
                holds=HoldService(SqlSegmentIndex(engine), SqlHoldRepo(engine), audit, clock),
            )
        ),
        case_search=CaseSearchService(
            case_service,
            SqlCaseObjects(engine),
            FootageObjectSearch(files, _yolox_nano, case_layouts, params=ObjectSearchParams(fps=4.0)),
            audit,
            clock,
            jobs=SqlCaseSearches(engine),
            motion=FootageMotionSearch(files),
        ),
        case_bookmarks=CaseBookmarkService(case_service, SqlCaseBookmarks(engine), audit, clock),
        camera_groups=CameraGroupService(SqlCameraGroups(engine), clock),
        # the console's saved layouts and video-wall outputs (issue 24)
        layouts=LayoutService(SqlLayouts(engine), SqlWallOutputs(engine), audit, clock),
        access_requests=AccessRequestService(
            SqlAccessRequestStore(engine), audit, clock, access_workspace, copy_maker or fake_maker
        ),
        map=(map_view or partial(plain_map, engine, cameras))(audit, clock),
    )
    if services.case_search is not None:  # as runtime/assembly/case_search.py wires it
        case_service.on_close(services.case_search.purge_case)

    app = create_app(services, static, login_limiter=limiter)

    def factory() -> TestClient:
        return TestClient(app)

    world = World(
        engine,
        auth,
        alerts,
        audit,
        clock,
        factory,
        governance=governance,
        audit_chain=chain,
        audit_log=audit_log,
        exports=export_service,
        speakers=speaker_service,
        footage=footage,
        copy_maker=fake_maker,
        access_requests=services.access_requests,
    )
    world.add("op.vil", [Role.OPERATOR])
    world.add("sup.vil", [Role.SUPERVISOR])
    world.add("inv.vil", [Role.INVESTIGATOR])
    world.add("dpo.vil", [Role.DPO], authorised_for=None, trained_ago=None)
    world.add("auditor.vil", [Role.AUDITOR], authorised_for=None, trained_ago=None)
    world.add("maire.vil", [Role.AUTHORITY], authorised_for=None, trained_ago=None)
    world.add("admin.vil", [Role.ADMINISTRATOR], authorised_for=None, trained_ago=None)
    world.add("op.bron", [Role.OPERATOR], "bron")
    world.add("admin.bron", [Role.ADMINISTRATOR], "bron", authorised_for=None, trained_ago=None)
    world.add("op.untrained", [Role.OPERATOR], trained_ago=None)
    world.add("op.expired", [Role.OPERATOR], authorised_for=timedelta(days=1))
    return world
