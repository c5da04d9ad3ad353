"""What the README promises a new user, in a real browser on ``vigie demo`` over the real RTSP server: log in with
the demo's own account, see the simulated cameras live on the wall and in a single view (the picture moves),
handle the alert the street camera's bin fire raises (once confirmed, it is on the demo's own MQTT broker), play
back what was just recorded, export it for a requisition, download the signed package and have it verified."""

from __future__ import annotations

import os
import time
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.support.browser import chromium_options
from tests.support.demo_console import logged_in, put_alarms_aside, running_demo
from tests.support.mosquitto import Subscriber
from tests.support.waiting import wait_for
from vigie.domain.clock import LEGAL_TIME_ZONE
from vigie.runtime.assembly.demo_broker import find_mosquitto

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (run scripts/test.sh)")
expect = sync_api.expect


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    with running_demo(tmp_path) as (base, (login,), data):
        yield base, login, data


def alerts_consumer(data: Path) -> Subscriber | None:
    """A subscriber to the demo's own broker's alerts, or None where Mosquitto is not installed (never in CI)."""
    if find_mosquitto() is None and os.environ.get("CI") != "true":
        return None
    port = yaml.safe_load((data / "vigie.yaml").read_text(encoding="utf-8"))["mqtt"]["port"]
    return Subscriber(port, None, None, ["vigie/demo/alerts"], client_id="e2e-demo-alerts")


def playing(page: sync_api.Page, selector: str) -> None:
    """The <video> plays: shown, with a picture, and its time advances."""
    page.wait_for_function(
        "s => { const v = document.querySelector(s); "
        "return v && !v.hidden && v.videoWidth > 0 && v.currentTime > 0.3 }",
        arg=selector,
    )
    start: float = page.evaluate("s => document.querySelector(s).currentTime", selector)
    page.wait_for_function(
        "([s, t]) => document.querySelector(s).currentTime > t + 0.5", arg=[selector, start], timeout=10_000
    )


def moving(page: sync_api.Page, selector: str) -> bool:
    """Two reads of the picture (an image or a video) a second apart differ: it is live, not a still."""
    read = """s => { const i = document.querySelector(s); const c = document.createElement('canvas');
      c.width = 64; c.height = 36; const x = c.getContext('2d'); x.drawImage(i, 0, 0, 64, 36);
      return Array.from(x.getImageData(0, 0, 64, 36).data); }"""
    first = page.evaluate(read, selector)
    for _ in range(10):
        page.wait_for_timeout(500)
        if page.evaluate(read, selector) != first:
            return True
    return False


@pytest.mark.rtsp
@pytest.mark.slow
def test_a_new_user_logs_in_watches_live_plays_back_and_exports(demo: tuple[str, dict[str, str], Path]) -> None:
    base, login, data = demo
    started = time.monotonic()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium_options())
        page = logged_in(browser, base, login["username"], login["password"], accept_downloads=True)
        expect(page.locator("#wall .tile[data-camera]")).to_have_count(3)  # sim1, sim2 and the dome (docs/devices.md)
        # the demo analyses its generated footage without an activation: the banner says so
        expect(page.locator("#banner")).to_contain_text("analysis of simulated footage")
        # the wall and the single view play the cameras' own H.264 (fMP4 into Media Source Extensions, issue 16)
        for camera in ("sim1", "sim2", "dome1"):
            playing(page, f"#wall .tile[data-camera='{camera}'] video")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "demo-01-wall.png"))
        page.locator("#wall .tile[data-camera='sim1'] .tile-open").click()
        playing(page, "#single-mse")
        assert page.locator("#single-video").is_hidden(), "no MJPEG where the browser plays the stream"
        assert moving(page, "#single-mse"), "the single view shows a still picture"
        page.screenshot(path=str(ARTIFACTS / "demo-02-single.png"))

        # The street camera's bin catches fire 20 s into each loop: the fire_start module raises an alert.
        page.goto("/#/alerts")
        row = page.locator("#alerts tbody tr").first
        expect(row).to_be_visible(timeout=90_000)
        expect(row).to_contain_text("fire_start")
        # Its image is the recorded frame (once the segment holding that moment is written: the console retries).
        page.wait_for_function(
            "() => document.querySelector('#alerts tbody tr .snapshot img')?.naturalWidth > 0", timeout=60_000
        )
        image = page.request.get(f"/api/alerts/{row.get_attribute('data-alert')}/snapshot.jpg")
        assert image.status == 200, f"alert image answered {image.status}: {image.text()[:200]}"
        assert image.headers["content-type"] == "image/jpeg" and image.body()[:3] == b"\xff\xd8\xff"
        page.screenshot(path=str(ARTIFACTS / "demo-03-alert.png"))
        consumer = alerts_consumer(data)
        confirmed = int(row.get_attribute("data-alert") or 0)  # the row is another alert's once this one is decided
        try:
            row.locator("button[data-action=confirm]").click()
            expect(page.locator("#decided tbody tr").first).to_contain_text("confirmed")
            if consumer is not None:  # confirmed by a person: now it is published (L27)
                got = wait_for(consumer.messages, 10, "the confirmed alert on the demo's broker")
                assert [m.payload["alert"]["id"] for m in got] == [confirmed]
        finally:
            if consumer is not None:
                consumer.close()

        # Let a few segments be recorded, then play them back and export them.
        page.wait_for_timeout(max(0, 25_000 - (time.monotonic() - started) * 1000))
        page.goto("/#/playback/sim1")
        expect(page.locator("#timeline .span").first).to_be_visible()
        put_alarms_aside(page)
        page.locator("#timeline .span").first.click()
        page.wait_for_function("() => document.querySelector('#playback-video').readyState >= 2")
        page.screenshot(path=str(ARTIFACTS / "demo-04-playback.png"))

        page.goto("/#/exports")
        now = datetime.now(LEGAL_TIME_ZONE)  # the console's forms take Paris time
        page.select_option("#export-camera", "sim1")
        page.fill("#export-start", (now - timedelta(seconds=20)).strftime("%Y-%m-%dT%H:%M:%S"))
        page.fill("#export-end", (now - timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S"))
        page.fill("#export-reason", "demonstration")
        page.fill("#export-requisition", "DEMO-0001")
        put_alarms_aside(page)
        page.click("#export-form button[type=submit]")
        row = page.locator("#exports tbody tr").first
        expect(row).to_have_attribute("data-state", "done", timeout=60_000)
        put_alarms_aside(page)
        with page.expect_download() as download:
            row.locator("a.download").click()
        with zipfile.ZipFile(Path(download.value.path())) as package:
            assert any(name.endswith("manifest.json") for name in package.namelist())
        put_alarms_aside(page)
        row.locator(".verification button").click()
        expect(row.locator(".verification")).to_contain_text("signature and files verified")
        page.screenshot(path=str(ARTIFACTS / "demo-05-export.png"), full_page=True)
        browser.close()
