"""The console's live feed (``/api/feed``) shows what a sensor's link rule asks to show on the wall (issue 21): to
whoever may watch those cameras, only the wall actions, only what happened since the feed opened."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from tests.api.test_live_api import login, sse_events
from tests.api.world import World, build_world
from tests.support.clocks import T0
from tests.support.servers import serving
from vigie.domain.audit import AuditAction, format_time
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


def test_the_bookmarks_of_a_camera_for_whoever_may_play_it_back_audited(world: World) -> None:
    events = SqlSensorLinkEvents(world.engine)
    events.add(link("mark", "bookmark", "vil-1"))
    events.add(link("wall", "show_on_wall", "vil-1"))  # not a bookmark
    events.add(SensorLinkEvent("late", "radar-1", "bookmark", ("vil-1",), "x", T0 + timedelta(hours=2), T0, "done"))
    span = {"start": (T0 - timedelta(minutes=1)).isoformat(), "end": (T0 + timedelta(hours=1)).isoformat()}
    investigator = world.login("inv.vil")
    got = investigator.get("/api/cameras/vil-1/bookmarks", params=span)
    assert got.status_code == 200, got.text
    assert [(b["rule"], b["label"], b["sensor"]) for b in got.json()] == [("mark", "vitesse > 70 km/h", "radar-1")]
    # a bookmark says when something happened in front of the camera: each read is audited, as the timeline's
    [read] = [e for e in world.audit.events if e.action is AuditAction.SEARCH and e.actor == "inv.vil"]
    assert read.target == "vil-1" and read.details["resource"] == "bookmarks" and read.details["bookmarks"] == 1
    assert read.details["start"] == format_time(T0 - timedelta(minutes=1))
    assert world.login("op.bron").get("/api/cameras/vil-1/bookmarks", params=span).status_code == 404
    [denied] = [e for e in world.audit.events if e.action is AuditAction.ACCESS_DENIED and e.actor == "op.bron"]
    assert denied.target == "vil-1" and denied.details["resource"] == "bookmarks"
    assert not [e for e in world.audit.events if e.action is AuditAction.SEARCH and e.actor == "op.bron"]
    assert world.login("dpo.vil").get("/api/cameras/vil-1/bookmarks", params=span).status_code == 403, "no playback"
    week = {"start": T0.isoformat(), "end": (T0 + timedelta(days=8)).isoformat()}
    assert investigator.get("/api/cameras/vil-1/bookmarks", params=week).status_code == 422
