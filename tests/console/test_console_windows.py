"""Several monitors in one browser (issue 24): the main window and detached screens (#/live?screen=N) of the same
session. A browser holds at most six HTTP/1.1 connections to a server, shared by all its windows, and each live
feed (Server-Sent Events) and each MJPEG picture holds one as long as it lasts: a window each with its own feed and
its own alarm pop-up (whose camera plays live) filled them, and the next page or API call of any window waited
forever. The windows share one feed (Web Locks + BroadcastChannel, app.js) and only the main window pops the alert
up; when the window that reads the feed closes, another one takes it over."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.api.world import World
from tests.console.conftest import Browser, logged_in, sync_api
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation

expect = sync_api.expect
LIVE = "Flux en direct connecté"
SCREENS = 5
"""Detached screens beside the main window: six windows, more than the six connections a browser has."""


def raise_alert(world: World, camera: str, recorded_until: datetime) -> int:
    observation = Observation(
        camera, "intrusion", "intrusion", recorded_until - timedelta(seconds=10), (Box(0.2, 0.3, 0.3, 0.4),), 0.9, "m@1"
    )
    alert = world.alerts.raise_alert(observation)
    assert alert.id is not None
    return alert.id


def is_feed(request: sync_api.Request) -> bool:
    return request.url.endswith("/api/feed")


def opener(request: sync_api.Request, main: sync_api.Page) -> str:
    """The window that asked: "main", or the address of the detached screen (one per screen number)."""
    page = request.frame.page
    return "main" if page == main else page.url


def answers(page: sync_api.Page) -> int:
    """The status of an API call made from the page, or 0 when no answer came within 15 s (a request queued behind
    connections the browser will not give back never answers; 15 s leaves a loaded machine its time)."""
    status: int = page.evaluate(
        """async () => {
            const asked = fetch("/api/auth/me", { credentials: "same-origin" }).then((r) => r.status);
            return Promise.race([asked, new Promise((done) => setTimeout(() => done(0), 15000))]);
        }"""
    )
    return status


def test_six_windows_of_one_browser_share_one_feed_and_only_the_main_one_pops_alerts_up(
    chromium: Browser, world: World, recorded_until: datetime
) -> None:
    main = logged_in(chromium, world, "op.vil")
    context = main.context
    expect(main.locator("#feed-state")).to_have_text(LIVE)
    # Which window asked for a feed: the main window's own (its first one, or one it opens again after a broken
    # connection on a loaded machine) is not counted, only those of other windows.
    feeds: list[str] = []
    context.on("request", lambda request: feeds.append(opener(request, main)) if is_feed(request) else None)

    screens = []
    for number in range(2, 2 + SCREENS):
        screen = context.new_page()  # the same session: the context's cookie, as a window the console opened
        screen.goto(f"/#/live?screen={number}")
        expect(screen.locator("#who-name")).to_be_attached()
        expect(screen.locator("header")).to_be_hidden()  # a second monitor: tiles, no menu
        screens.append(screen)
    windows = [main, *screens]
    for window in windows:
        expect(window.locator("#feed-state")).to_have_text(LIVE)
    assert [who for who in feeds if who != "main"] == [], f"the windows opened feeds of their own: {feeds}"

    raise_alert(world, "vil-1", recorded_until)
    popup = main.locator("#alarm-popup")
    expect(popup.locator("#alarm-kind")).to_have_text("intrusion", timeout=15_000)
    main.wait_for_function(  # the alert's camera live in the pop-up
        "() => { const i = document.querySelector('#alarm-live'); return i && i.complete && i.naturalWidth > 0 }",
        timeout=15_000,
    )
    for screen in screens:
        screen.wait_for_timeout(200)
        expect(screen.locator("#alarm-popup")).to_be_hidden()  # the main window shows it, not every monitor
        expect(screen.locator("#alarm-notice")).to_be_hidden()
    assert [answers(window) for window in windows] == [200] * len(windows), "a window's requests are held up"

    # The window that reads the feed closes: another one takes it over, and the others follow it.
    feeds.clear()
    main.close()
    for _ in range(60):
        if feeds:
            break
        screens[0].wait_for_timeout(250)
    assert len(set(feeds)) == 1, f"one window reads the feed once the main one closed: {feeds}"
    for window in screens:
        expect(window.locator("#feed-state")).to_have_text(LIVE)
    assert [answers(window) for window in screens] == [200] * len(screens), "a window's requests are held up"
