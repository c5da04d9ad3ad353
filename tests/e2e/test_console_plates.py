"""The console's plate view (LAPI, issue 18) in a real browser on ``vigie demo``: the state tenant's supervisor sees
the view, and nothing of plate reading is asked for — not on entering it, not on the console's periodic refresh,
not when the match's alert comes over the live feed — until they click (each look is audited, L35); then the
listed car's match shows, its plate crop loads when it is opened, and it is held for a procedure and released.
The commune's operator is offered no plate view, even by its address (L34)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import chromium_options
from tests.support.demo_console import logged_in, running_demo
from tests.support.waiting import wait_for

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (run scripts/test.sh)")
expect = sync_api.expect

MATCH_DEADLINE_S = 150.0
"""Scenes rendered, then the scripted car passes 12 s into each 30-s loop of the lane scene (test_demo_lapi.py)."""


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], dict[str, str]]]:
    """``vigie demo`` replaying its footage from files; its URL, the commune's login and the state officer's."""
    logins = ("demo-login.txt", "demo-lapi-login.txt")
    with running_demo(tmp_path, rtsp=False, logins=logins) as (base, (commune, officer), _data):
        yield base, commune, officer


@pytest.mark.slow
def test_plate_matches_are_loaded_only_on_request_and_held_for_a_procedure(
    demo: tuple[str, dict[str, str], dict[str, str]],
) -> None:
    base, commune, officer = demo
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium_options())

        # The commune's operator (a supervisor too, whose role carries the permission): no plate view at all.
        town = logged_in(browser, base, commune["username"], commune["password"], "en-GB")
        town_asked: list[str] = []
        town.on("request", lambda r: town_asked.append(r.url) if "/api/plates" in r.url else None)
        expect(town.locator("a[data-view-link=live]")).to_be_visible()
        expect(town.locator("a[data-view-link=plates]")).to_be_hidden()
        town.goto("/#/plates")
        expect(town.locator("section[data-view=live]")).to_be_visible()
        expect(town.locator("section[data-view=plates]")).to_be_hidden()
        town.context.close()

        # The state officer, in French (the console's language for a French browser).
        page = logged_in(browser, base, officer["username"], officer["password"], "fr-FR")
        asked: list[str] = []
        refreshes: list[str] = []
        page.on("request", lambda r: asked.append(r.url) if "/api/plates" in r.url else None)
        page.on("request", lambda r: refreshes.append(r.url) if r.url.endswith("/api/cameras") else None)
        link = page.locator("a[data-view-link=plates]")
        expect(link).to_have_text("Plaques / LAPI")
        link.click()
        expect(page.locator("section[data-view=plates]")).to_be_visible()
        expect(page.locator("section[data-view=plates] .warning")).to_contain_text("journal d'audit")
        expect(page.locator("#plates-matches-note")).to_contain_text("Non chargé")

        # Stay on the view while the console refreshes and the listed car's match raises its alert (live feed).
        seen = len(refreshes)

        def plate_alert() -> list[dict[str, Any]]:
            alerts = page.request.get("/api/alerts?state=pending").json()["items"]  # not a page request
            return [a for a in alerts if a["module"] == "plate_reading"] if len(refreshes) >= seen + 2 else []

        [alert, *_] = wait_for(plate_alert, MATCH_DEADLINE_S, "the listed car's alert, two refreshes in", every=1.0)
        page.wait_for_timeout(2_000)  # the feed's alert event reaches the page
        assert asked == [], "nothing of plate reading is asked for before a click"
        page.goto("/#/alerts")  # the match's alert is an alert like any other (it carries no plate)
        alert_row = page.locator(f"#alerts tbody tr[data-alert='{alert['id']}']")
        expect(alert_row).to_contain_text("plate_match")
        alert_row.locator("a.plate-link").click()  # to the plates view, the alert as filter: still nothing asked
        expect(page.locator("#plates-alert")).to_have_value(str(alert["id"]))
        expect(page.locator("#plates-matches-note")).to_contain_text("Non chargé")
        assert asked == [], asked

        page.click("#plates-load")
        row = page.locator("#plate-matches tbody tr", has_text="GE-042-ZR")
        expect(row).to_be_visible(timeout=15_000)
        expect(row).to_contain_text("voles")
        expect(row).to_contain_text("effacée après")
        assert len(asked) == 1 and f"/api/plates/matches?limit=200&alert_id={alert['id']}" in asked[0], asked
        assert not any("/crop" in u for u in asked), "the crop waits for the match to be opened"
        assert page.locator("#plate-matches tbody tr").count() >= 1
        assert alert["camera_id"] == "lapi1"

        row.click()
        page.wait_for_function("() => document.querySelector('#plate-crop').naturalWidth > 0", timeout=15_000)
        match_id = row.get_attribute("data-match")
        assert [u for u in asked if u.endswith(f"/api/plates/matches/{match_id}/crop")], asked
        expect(page.locator("#plate-match-title")).to_have_text("GE-042-ZR")

        page.fill("#plate-hold-reference", "PV 2026/118")
        page.click("#plate-hold")
        expect(row).to_contain_text("conservée pour la procédure PV 2026/118")
        expect(page.locator("#plate-hold-form")).to_be_hidden()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "plates-01-held.png"), full_page=True)
        page.fill("#plate-release-reason", "procédure close")
        page.click("#plate-release")
        expect(row).to_contain_text("effacée après")
        expect(page.locator("#plate-hold-form")).to_be_visible()

        page.click("#counts-load")
        counted = page.locator("#plate-counts tbody tr[data-camera=lapi1]")
        expect(counted.first).to_be_visible()
        reads, matches = (int(counted.first.locator("td").nth(i).inner_text()) for i in (2, 3))
        assert reads >= matches >= 1

        # Leaving the view drops what it showed; coming back asks nothing again.
        before = len(asked)
        page.goto("/#/cameras")
        # the cameras view shown before coming back: two address changes in a row can reach the console's router
        # as one, which would never leave the plates view
        expect(page.locator("section[data-view=cameras]")).to_be_visible()
        page.goto("/#/plates")
        expect(page.locator("#plates-matches-note")).to_contain_text("Non chargé")
        expect(page.locator("#plate-matches tbody tr")).to_have_count(0)
        expect(page.locator("#plate-match")).to_be_hidden()
        assert len(asked) == before
        browser.close()
