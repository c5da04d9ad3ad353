"""The console's live feed (``/api/feed``) shows what a sensor's link rule asks to show on the wall (issue 21): to
whoever may watch those cameras, only the wall actions, only what happened since the feed opened."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.api.test_live_api import login, sse_events
from tests.api.world import World, build_world
from tests.support.clocks import T0
from tests.support.servers import serving
from vigie.domain.sensors import SensorLinkEvent
from vigie.storage.sensors import SqlSensorLinkEvents


@pytest.fixture
def world(db: Engine) -> World:
    return build_world(db)


@pytest.fixture
def server(world: World) -> Iterator[str]:
    with serving(world.client().app) as base:  # the feed is an endless response: a real server streams it
        yield base


def link(rule: str, action: str, camera: str) -> SensorLinkEvent:
    return SensorLinkEvent(rule, "radar-1", action, (camera,), "vitesse > 70 km/h", T0, T0, "done")


def test_the_feed_shows_the_wall_links_of_ones_own_cameras(
    world: World, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vigie.api.routes import feed as feed_route

    monkeypatch.setattr(feed_route, "POLL_S", 0.1)
    events = SqlSensorLinkEvents(world.engine)
    events.add(link("before", "show_on_wall", "vil-1"))  # before the feed opened: not sent
    client = login(server, "op.vil")
    with client.stream("GET", "/api/feed") as response:
        lines = response.iter_lines()
        assert sse_events(lines, "cameras", 5), "the feed is running"
        events.add(link("other-commune", "show_on_wall", "bron-1"))  # op.vil may not watch bron-1
        events.add(link("mark", "bookmark", "vil-1"))  # a bookmark is not a wall action
        events.add(link("wall", "show_on_wall", "vil-1"))
        [shown] = sse_events(lines, "sensor", 5)
    assert shown["rule"] == "wall" and shown["cameras"] == ["vil-1"] and shown["sensor"] == "radar-1"
    assert shown["action"] == "show_on_wall" and shown["label"] == "vitesse > 70 km/h"
