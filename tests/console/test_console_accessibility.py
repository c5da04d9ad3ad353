"""The console is usable by everyone who must use it (WCAG 2.1 AA, checked by axe-core in Chromium): each view an
operator, an investigator, a DPO and an administrator open, in the light theme and in the dark theme a supervision
room uses at night; the theme chosen stays for the next visit."""

from __future__ import annotations

import pytest

from tests.api.world import World
from tests.console.conftest import Browser, logged_in, shot, sync_api
from tests.support.accessibility import assert_accessible

expect = sync_api.expect

VIEWS_BY_PERSON = {
    "op.vil": ["live", "alerts", "map", "playback", "cameras", "health"],
    "inv.vil": ["exports", "cases"],
    "dpo.vil": ["governance", "audit"],
    "admin.vil": ["accounts"],
}


def show(page: sync_api.Page, view: str) -> None:
    page.goto(f"/#/{view}")
    expect(page.locator(f"section[data-view='{view}']")).to_be_visible()
    page.wait_for_load_state("networkidle") if view not in ("live", "alerts", "health") else None
    page.wait_for_timeout(300)  # the view's first refresh drawn


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_view_meets_wcag_aa_in_both_themes(chromium: Browser, world: World, theme: str) -> None:
    for username, views in VIEWS_BY_PERSON.items():
        page = logged_in(chromium, world, username)
        page.select_option("#theme", theme)
        expect(page.locator("html")).to_have_attribute("data-theme", theme)
        for view in views:
            show(page, view)
            try:
                assert_accessible(page)
            except AssertionError as failure:
                raise AssertionError(f"{username} on #{view} ({theme} theme): {failure}") from None
        if username == "op.vil":
            shot(page, f"theme-{theme}")
        page.context.close()


def test_the_dark_theme_is_kept_for_the_next_visit(chromium: Browser, world: World) -> None:
    page = logged_in(chromium, world, "op.vil")
    expect(page.locator("html")).to_have_attribute("data-theme", "light")  # the system's (light) by default
    page.select_option("#theme", "dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 19, 26)", background
    page.reload()
    page.locator("#who-name").wait_for()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(page.locator("#theme")).to_have_value("dark")
    page.select_option("#theme", "auto")
    expect(page.locator("html")).to_have_attribute("data-theme", "light")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_login_and_the_public_page_meet_wcag_aa(chromium: Browser, scheme: str) -> None:
    page = chromium.page()
    page.emulate_media(color_scheme=scheme)  # a person whose system is dark gets the dark theme before logging in
    page.goto("/")
    page.locator("#login-form").wait_for()
    expect(page.locator("html")).to_have_attribute("data-theme", scheme)
    assert_accessible(page)
    page.goto("/public")
    expect(page.locator("h1")).to_be_visible()
    assert_accessible(page)
