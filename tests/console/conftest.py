"""The console in a real browser: Debian's Chromium driven by Playwright (headless, ``--no-sandbox
--disable-background-networking``), against the API world of tests/api served by a real HTTP server, with live
frames, recordings, exports, governance and the audit chain. Screenshots of each page go to
``test-artifacts/console/``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.api.export_world import data_dir_of
from tests.api.live_world import live_service
from tests.api.world import PASSWORD, Clock, World, build_world
from tests.recording.export_samples import ListAuditSink, record
from tests.support.browser import CHROMIUM, chromium_options, new_context
from tests.support.servers import serving
from tests.support.sign_on import stack  # noqa: F401 - the OpenID provider fixture, for this folder's tests
from tests.support.system_health import HealthParts
from vigie.config.camera import Authorisation
from vigie.domain.camera import Purpose
from vigie.domain.clock import LEGAL_TIME_ZONE, legal_day
from vigie.domain.users import Role
from vigie.governance.authorisation import CameraAuthorisations
from vigie.services.alerts import AlertService
from vigie.services.credentials import totp_code
from vigie.services.playback import PlaybackService
from vigie.services.snapshots import SnapshotService
from vigie.storage import create_engine_for, migrate
from vigie.storage.recording import SqlSegmentIndex
from vigie.storage.segment_store import FileSegmentStore

STATIC = Path(__file__).resolve().parents[2] / "src" / "vigie" / "web" / "static"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
RECORDED_S = 40
BROWSER_ZONE = "America/Cayenne"

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (run scripts/test.sh)")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'api.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


class RealClock(Clock):
    def __call__(self) -> datetime:
        return datetime.now(UTC)


@pytest.fixture
def health() -> HealthParts:
    """The health view's monitor and supervisor, which a test feeds (issue 17)."""
    return HealthParts()


@pytest.fixture
def recorded_until() -> datetime:
    """When the world's recording of vil-1 ends: a moment to show must be taken from here, not from the time a
    test reaches it (on a loaded machine a browser's start and a log-in can take longer than RECORDED_S)."""
    return datetime.now(UTC).replace(microsecond=0)


def authorised(cameras: Sequence[str], expired: Sequence[str] = ()) -> Callable[[Clock], CameraAuthorisations]:
    """The cameras' prefectoral authorisations as of the world's day: valid for a year, or lapsed ten days ago for
    those ``expired``."""

    def authorisations(clock: Clock) -> CameraAuthorisations:
        today = legal_day(clock)
        return CameraAuthorisations(
            {
                camera: Authorisation(
                    reference=f"DS-{camera}",
                    valid_from=today - timedelta(days=700),
                    valid_until=today + timedelta(days=-10 if camera in expired else 365),
                    purposes=(Purpose.CRIME_PREVENTION,),
                    retention_days=15,
                )
                for camera in cameras
            },
            clock,
        )

    return authorisations


@pytest.fixture
def world(db: Engine, health: HealthParts, tmp_path: Path, recorded_until: datetime) -> World:
    """The API world in real time, with the RECORDED_S seconds of vil-1 before ``recorded_until`` recorded."""
    now = recorded_until
    store = FileSegmentStore(data_dir_of(db) / "segments")
    index = SqlSegmentIndex(db)
    for segment in record(store.root, "vil-1", [(now - timedelta(seconds=RECORDED_S), RECORDED_S)]):
        index.add(segment)

    def playback(audit: ListAuditSink, clock: Clock) -> PlaybackService:
        return PlaybackService(index, store, audit, ["vil-1", "vil-2", "bron-1", "pn-1"], clock)

    def snapshots(alerts: AlertService, audit: ListAuditSink, clock: Clock) -> SnapshotService:
        return SnapshotService(alerts, index, store, audit, clock=clock)

    world = build_world(  # a real browser and a real server: sessions in real time
        db,
        static=STATIC,
        playback=playback,
        live=live_service,
        snapshots=snapshots,
        sql_audit=True,
        clock=RealClock(),
        # every camera authorised for a year but the state's, whose authorisation expired (the public page)
        authorisations=authorised(["vil-1", "vil-2", "bron-1", "pn-1"], expired=["pn-1"]),
        system_health=health.factory(tmp_path, ["vil-1", "vil-2", "bron-1", "pn-1"], db),
    )
    world.add("maire.bron", [Role.AUTHORITY], "bron", authorised_for=None, trained_ago=None)
    return world


@pytest.fixture
def server(world: World) -> Iterator[str]:
    with serving(world.client().app, timeout_graceful_shutdown=1) as base:
        yield base


@dataclass
class Browser:
    """One Chromium; :meth:`page` opens a fresh context (its own cookie jar) per person."""

    browser: sync_api.Browser
    server: str
    errors: list[str]

    def page(self, locale: str = "fr-FR") -> sync_api.Page:
        context = new_context(
            self.browser,
            base_url=self.server,
            locale=locale,
            # a browser whose machine is not on Paris time (UTC-3 all year): the console must still show and take
            # times on the Paris clock, as the server counts its days
            timezone_id=BROWSER_ZONE,
            viewport={"width": 1400, "height": 900},
            accept_downloads=True,
        )
        page = context.new_page()
        page.on("pageerror", lambda err: self.errors.append(str(err)))
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        page.on(
            "response",
            lambda r: self.errors.append(f"{r.status} {r.request.method} {r.url}") if r.status >= 400 else None,
        )
        return page


@pytest.fixture
def chromium(server: str) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium, or run scripts/test.sh)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium_options())
        errors: list[str] = []
        yield Browser(browser, server, errors)
        browser.close()
    # 401 is how a page learns it is logged out; anything else in the browser's console is a defect
    assert not [e for e in errors if "401" not in e], f"errors in the browser: {errors}"


def shot(page: sync_api.Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page: sync_api.Page, username: str, password: str = PASSWORD, code: str = "") -> None:
    page.goto("/")
    page.locator("#login-form").wait_for()
    page.fill("#username", username)
    page.fill("#password", password)
    if code:
        page.fill("#totp", code)
    page.click("#login-form button[type=submit]")


def logged_in(chromium: Browser, world: World, username: str, locale: str = "fr-FR") -> sync_api.Page:
    page = chromium.page(locale)
    code = totp_code(world.totp[username], datetime.now(UTC)) if username in world.totp else ""
    log_in(page, username, code=code)
    page.locator("#who-name").wait_for()
    return page


Login = Callable[..., sync_api.Page]


def picture_point(video: sync_api.Locator, x: float, y: float) -> tuple[float, float]:
    """Where on the screen the point (x, y) of the picture (normalised) lies, the picture shown whole in its
    <video> (object-fit: contain)."""
    video.scroll_into_view_if_needed()
    box = video.bounding_box()
    size = video.evaluate("v => [v.videoWidth, v.videoHeight]")
    assert box is not None and size[0] > 0, (box, size)
    scale = min(box["width"] / size[0], box["height"] / size[1])
    left = box["x"] + (box["width"] - size[0] * scale) / 2
    top = box["y"] + (box["height"] - size[1] * scale) / 2
    return left + x * size[0] * scale, top + y * size[1] * scale


def wall(at: datetime) -> str:
    """An instant as the console's date-time fields take it: the Paris wall clock."""
    return at.astimezone(LEGAL_TIME_ZONE).strftime("%Y-%m-%dT%H:%M:%S")
