"""The wall in a real browser when a sensor's link rule asks to show a camera (issue 21): the camera comes first,
outlined, with the sensor named, pushed by the live feed without a reload."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.api.world import World
from tests.console.conftest import RECORDED_S, Browser, logged_in, shot, sync_api
from vigie.domain.sensors import SensorLinkEvent
from vigie.storage.sensors import SqlSensorLinkEvents

expect = sync_api.expect


def test_a_sensor_link_puts_its_camera_first_on_the_wall(chromium: Browser, world: World) -> None:
    page = logged_in(chromium, world, "op.vil")
    tiles = page.locator("#wall .tile[data-camera]")
    expect(tiles).to_have_count(2)
    expect(tiles.first).to_have_attribute("data-camera", "vil-1")
    expect(page.locator("#feed-state")).to_have_text("Flux en direct connecté")
    now = datetime.now(UTC)
    SqlSensorLinkEvents(world.engine).add(
        SensorLinkEvent("fast-wall", "radar-1", "show_on_wall", ("vil-2",), "vitesse > 80 km/h", now, now, "done")
    )
    expect(tiles.first).to_have_attribute("data-camera", "vil-2", timeout=10_000)
    expect(tiles.first).to_have_class("tile tile-sensor")
    expect(tiles.first).to_have_attribute("title", "Capteur radar-1 : vitesse > 80 km/h")
    expect(tiles.nth(1)).to_have_attribute("data-camera", "vil-1")
    shot(page, "sensor-wall")


def test_a_sensor_bookmark_is_on_the_playback_timeline(
    chromium: Browser, world: World, recorded_until: datetime
) -> None:
    at = recorded_until - timedelta(seconds=RECORDED_S / 2)  # within what the world recorded of vil-1
    SqlSensorLinkEvents(world.engine).add(
        SensorLinkEvent("fast-mark", "radar-1", "bookmark", ("vil-1",), "vitesse > 70 km/h", at, at, "done")
    )
    page = logged_in(chromium, world, "inv.vil")
    page.goto("/#/playback/vil-1")
    mark = page.locator("#timeline .bookmark")
    expect(mark).to_have_count(1)
    expect(mark).to_have_attribute("data-rule", "fast-mark")
    expect(mark).to_have_attribute("title", re.compile(r"Capteur radar-1 : vitesse > 70 km/h$"))
    mark.click()
    expect(page.locator("#playback-video")).to_be_visible()
    shot(page, "sensor-bookmark")
