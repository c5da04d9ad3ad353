"""The console in a real browser (Debian's Chromium driven by Playwright, headless): log in, see one's cameras and
pending alerts, confirm one, log out; a wrong password and a missing second factor are told. Screenshots of each
page go to ``test-artifacts/console/``."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine

from tests.api.world import PASSWORD, World, build_world
from tests.conftest import free_port
from vigie.domain.alerts import AlertState
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.services.auth import totp_code
from vigie.storage import SqlAlertRepo

STATIC = Path(__file__).resolve().parents[2] / "src" / "vigie" / "web" / "static"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (run scripts/test.sh)")
if not Path(CHROMIUM).exists():
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium, or run scripts/test.sh)", allow_module_level=True
    )


@pytest.fixture
def world(db: Engine) -> World:
    world = build_world(db, static=STATIC)
    world.clock.now = datetime.now(UTC)  # a real browser and a real server: sessions in real time
    for camera in ("vil-1", "bron-1"):
        world.alerts.raise_alert(
            Observation(camera, "intrusion", "intrusion", world.clock.now, (Box(0.2, 0.3, 0.1, 0.2),), 0.91, "m@1")
        )
    return world


@pytest.fixture
def server(world: World) -> Iterator[str]:
    port = free_port()
    app = world.client().app
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def page(server: str) -> Iterator[sync_api.Page]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-background-networking"]
        )
        context = browser.new_context(base_url=server, locale="fr-FR")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        yield page
        browser.close()
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


def test_an_operator_logs_in_sees_their_cameras_and_confirms_an_alert(page: sync_api.Page, world: World) -> None:
    log_in(page, "wrong.user", "not a password at all")
    sync_api.expect(page.locator("#login-error")).to_have_text("wrong username or password")
    shot(page, "01-login-refused")

    log_in(page, "op.vil")
    sync_api.expect(page.locator("#cameras tbody tr")).to_have_count(2)
    sync_api.expect(page.locator("#who-name")).to_contain_text("operator")
    rows = page.locator("#alerts tbody tr")
    sync_api.expect(rows).to_have_count(1)  # Bron's alert is not shown to Villeurbanne
    sync_api.expect(page.locator("#cameras")).not_to_contain_text("bron-1")
    shot(page, "02-console-operator")

    alert_id = int(rows.first.get_attribute("data-alert") or 0)
    rows.first.locator("button[data-action=confirm]").click()
    sync_api.expect(rows).to_have_count(0)
    decided = SqlAlertRepo(world.engine).get(alert_id)
    assert decided is not None and decided.state is AlertState.CONFIRMED and decided.decided_by == "op.vil"
    shot(page, "03-alert-confirmed")

    page.click("#logout")
    page.locator("#login-form").wait_for()
    page.reload()
    sync_api.expect(page.locator("#login")).to_be_visible()


def test_a_dpo_needs_the_second_factor_in_the_browser(page: sync_api.Page, world: World) -> None:
    log_in(page, "dpo.vil")
    sync_api.expect(page.locator("#login-error")).to_contain_text("6-digit code")
    log_in(page, "dpo.vil", code=totp_code(world.totp["dpo.vil"], datetime.now(UTC)))
    sync_api.expect(page.locator("#who-name")).to_contain_text("dpo")
    sync_api.expect(page.locator("#alerts button")).to_have_count(0)  # a DPO reads alerts but does not decide
    shot(page, "04-console-dpo")
