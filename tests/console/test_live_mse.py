"""Live view in the browser without transcoding (issue 16): a camera without privacy masks plays its own H.264
in the console through Media Source Extensions (its <video>'s time advances), on the wall and in the single
view, while a masked camera stays a JPEG picture; a browser that cannot play the codec gets the MJPEG picture."""

from __future__ import annotations

from functools import partial

import pytest

from tests.api.live_world import live_service
from tests.api.world import World
from tests.console import conftest
from tests.console.conftest import Browser, log_in, shot, sync_api
from tests.recording.media import write_h264
from tests.support.waiting import wait_for
from vigie.domain.audit import AuditAction

expect = sync_api.expect
TILE_VIDEO = "#wall .tile[data-camera='vil-2'] video"


@pytest.fixture(autouse=True)
def passed_through(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """vil-2 without masks, its stream a real H.264 file played like a camera (the world is built after this)."""
    video = write_h264(tmp_path_factory.mktemp("mse") / "vil-2.ts", seconds=4.0)
    monkeypatch.setattr(conftest, "live_service", partial(live_service, passthrough=video))


def playing(page: sync_api.Page, selector: str) -> float:
    """Wait until the <video> plays the camera (its time advances, its frames are the camera's size)."""
    page.wait_for_function(
        "s => { const v = document.querySelector(s); return v && !v.hidden && v.videoWidth === 160 "
        "&& v.currentTime > 0.3 }",
        arg=selector,
        timeout=15_000,
    )
    start: float = page.evaluate("s => document.querySelector(s).currentTime", selector)
    page.wait_for_function(
        "([s, t]) => document.querySelector(s).currentTime > t + 0.5", arg=[selector, start], timeout=10_000
    )
    return start


def test_an_unmasked_camera_plays_its_h264_through_media_source_extensions(chromium: Browser, world: World) -> None:
    page = chromium.page()
    assert page.evaluate("() => MediaSource.isTypeSupported('video/mp4; codecs=\"avc1.42c00a\"')")
    sockets: list[str] = []
    streams: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url.split("/", 3)[3]))
    page.on("request", lambda request: streams.append(request.url) if "live.mjpeg" in request.url else None)
    log_in(page, "op.vil")
    tiles = page.locator("#wall .tile[data-camera]")
    expect(tiles).to_have_count(2)
    playing(page, TILE_VIDEO)
    page.wait_for_function(  # the masked camera: a JPEG over the wall's socket, never its raw stream
        "s => document.querySelector(s).naturalWidth > 0", arg="#wall .tile[data-camera='vil-1'] img"
    )
    assert page.locator("#wall .tile[data-camera='vil-1'] video").is_hidden()
    shot(page, "live-mse-wall")
    assert sorted(sockets) == ["api/cameras/vil-2/live.fmp4?quality=wall", "api/live/wall"]
    assert streams == []

    tiles.nth(1).locator(".tile-open").click()
    expect(page).to_have_url(f"{chromium.server}/#/live/vil-2")
    playing(page, "#single-mse")
    assert page.locator("#single-video").is_hidden()
    spread = page.evaluate(
        """() => { const v = document.querySelector('#single-mse'); const c = document.createElement('canvas');
        c.width = v.videoWidth; c.height = v.videoHeight; const x = c.getContext('2d'); x.drawImage(v, 0, 0);
        const d = x.getImageData(0, 0, c.width, c.height).data; let lo = 255, hi = 0;
        for (let i = 0; i < d.length; i += 4) { lo = Math.min(lo, d[i]); hi = Math.max(hi, d[i]); } return hi - lo; }"""
    )
    assert spread > 100  # the camera's gradient is on screen, not a blank frame
    shot(page, "live-mse-single")
    assert "api/cameras/vil-2/live.fmp4?quality=full" in sockets and streams == []
    viewed = [e.details for e in world.audit.events if e.action is AuditAction.LIVE_VIEWED and e.target == "vil-2"]
    assert {"quality": "full", "transport": "fmp4"} in viewed

    page.goto("/#/alerts")  # leaving the view closes the socket: the end of the view is audited like any

    def ended() -> list[object]:
        return [
            e.details["frames"]
            for e in world.audit.events
            if e.action is AuditAction.LIVE_ENDED and e.details.get("transport") == "fmp4" and e.target == "vil-2"
        ]

    wait_for(lambda: len(ended()) == 2, 5, "the two fMP4 views (tile, single view) audited as ended")
    assert all(int(frames) > 0 for frames in ended())  # type: ignore[call-overload]


def test_a_browser_that_cannot_play_the_codec_shows_the_mjpeg_picture(chromium: Browser, world: World) -> None:
    page = chromium.page()
    page.add_init_script("MediaSource.isTypeSupported = () => false;")
    log_in(page, "op.vil")
    page.locator("#who-name").wait_for()
    page.goto("/#/live/vil-2")
    page.wait_for_function(
        "() => { const i = document.querySelector('#single-video'); return !i.hidden && i.naturalWidth > 0 }",
        timeout=15_000,
    )
    assert page.locator("#single-mse").is_hidden()
    assert page.evaluate("() => document.querySelector('#single-video').src").endswith("live.mjpeg?quality=full")
