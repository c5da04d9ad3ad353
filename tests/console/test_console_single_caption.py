"""The single live view's caption: the camera's state and why, as they change while the operator watches (it was
written once, when the view opened: a camera that went offline still read "en ligne" under a frozen picture)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.api.world import World
from tests.console.conftest import Browser, logged_in, sync_api
from vigie.domain.camera import CameraHealth, HealthState
from vigie.storage.repositories import SqlCameraStatusRepo

expect = sync_api.expect


def test_the_single_views_caption_follows_the_cameras_state(chromium: Browser, world: World) -> None:
    status = SqlCameraStatusRepo(world.engine)
    status.record(CameraHealth("vil-1", HealthState.ONLINE, datetime.now(UTC), ""))
    page = logged_in(chromium, world, "op.vil")
    page.goto("/#/live/vil-1")
    caption = page.locator("#single-caption")
    expect(caption).to_have_text("en ligne · ")

    status.record(CameraHealth("vil-1", HealthState.OFFLINE, datetime.now(UTC), "camera vil-1: no answer"))
    expect(caption).to_have_text("hors ligne · camera vil-1: no answer", timeout=15_000)  # the feed's next list
