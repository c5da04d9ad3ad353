"""The wall in a real browser when a sensor's link rule asks to show a camera (issue 21): the camera comes first,
outlined, with the sensor named, pushed by the live feed without a reload."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.api.world import World
from tests.console.conftest import Browser, logged_in, shot, sync_api
from vigie.domain.sensors import SensorLinkEvent
from vigie.storage.sensors import SqlSensorLinkEvents

expect = sync_api.expect


def test_a_sensor_link_puts_its_camera_first_on_the_wall(chromium: Browser, world: World) -> None:
    page = logged_in(chromium, world, "op.vil")
    tiles = page.locator("#wall .tile")
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
