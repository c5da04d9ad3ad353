"""The camera list shared by an API process (``vigie.api.camera_lists``): one build per set of visible tenants and
per second, the permission checked per person, the feed told of a change of state or reason and not of every new
frame rate."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from pydantic import TypeAdapter
from sqlalchemy import Engine

from tests.api.test_live_api import login, sse_events
from tests.api.world import CAMERAS, DIRECTORY, World, build_world
from tests.support.clocks import FakeClock, Ticks
from tests.support.servers import serving
from tests.support.waiting import wait_for
from vigie.api.camera_lists import CameraLists
from vigie.api.schemas import CameraOut
from vigie.domain.camera import CameraHealth, HealthState
from vigie.domain.users import Role, User
from vigie.services.access import AccessDeniedError, Principal
from vigie.services.cameras import CameraService
from vigie.storage.repositories import SqlCameraStatusRepo


def person(username: str, commune: str, roles: frozenset[Role] = frozenset({Role.OPERATOR})) -> Principal:
    user = User(username, username, commune, roles, password_hash="")
    return Principal(user, frozenset({commune}), DIRECTORY, video_refusal=None)


def ids(body: bytes) -> list[str]:
    return [c["id"] for c in json.loads(body)]


def test_people_who_see_the_same_cameras_share_one_list_for_a_second(db: Engine) -> None:
    status, clock = SqlCameraStatusRepo(db), FakeClock()
    service, ticks = CameraService(CAMERAS, status), Ticks(100.0)
    lists = CameraLists(max_age_s=1.0, monotonic=ticks)
    first = lists.listing(service, person("op.a", "villeurbanne"))
    status.record(CameraHealth("vil-1", HealthState.OFFLINE, clock(), "no answer from the camera"))
    same = lists.listing(service, person("op.b", "villeurbanne"))
    assert same is first, "one build shared by the tenant's people within the second"
    other = lists.listing(service, person("op.c", "bron"))
    assert set(ids(other.body)).isdisjoint(ids(first.body)), "another tenant's list is its own"
    ticks.advance(1.0)
    stale = lists.listing(service, person("op.a", "villeurbanne"))
    assert stale is first, "a list past its second is served while the next one is built, in the background"

    def vil_1() -> tuple[str, str]:
        fresh = json.loads(lists.listing(service, person("op.a", "villeurbanne")).body)
        return {c["id"]: (c["state"], c["reason"]) for c in fresh}["vil-1"]

    wait_for(lambda: vil_1() == ("offline", "no answer from the camera"), 5, "the list rebuilt with vil-1 offline")


def test_the_list_has_the_shape_of_camera_out(db: Engine) -> None:
    status, clock = SqlCameraStatusRepo(db), FakeClock()
    status.record(CameraHealth("vil-1", HealthState.ONLINE, clock(), "", 12.5))
    body = CameraLists().listing(CameraService(CAMERAS, status), person("op.a", "villeurbanne")).body
    cameras = TypeAdapter(list[CameraOut]).validate_json(body)
    by_id = {c.id: c for c in cameras}
    assert by_id["vil-1"].since == clock() and by_id["vil-1"].fps_in == 12.5 and by_id["vil-1"].state == "online"
    assert by_id["vil-1"].location is not None and by_id["vil-1"].name == "Place Lazare-Goujon"
    assert by_id["vil-2"].since is None and by_id["vil-2"].state == "starting"


def test_a_list_nobody_asked_for_a_while_is_built_for_the_next_caller(db: Engine) -> None:
    status, clock = SqlCameraStatusRepo(db), FakeClock()
    service, ticks = CameraService(CAMERAS, status), Ticks(100.0)
    lists = CameraLists(max_age_s=1.0, monotonic=ticks)
    lists.listing(service, person("op.a", "villeurbanne"))
    status.record(CameraHealth("vil-1", HealthState.ONLINE, clock(), "", 25.0))
    ticks.advance(3.0)  # no console asked for 3 s: what it would be served is too old
    fresh = json.loads(lists.listing(service, person("op.a", "villeurbanne")).body)
    assert {c["id"]: c["state"] for c in fresh}["vil-1"] == "online"


def test_the_permission_is_checked_for_each_person_even_on_a_shared_list(db: Engine) -> None:
    service, lists = CameraService(CAMERAS, SqlCameraStatusRepo(db)), CameraLists(monotonic=Ticks(100.0))
    lists.listing(service, person("op.a", "villeurbanne"))
    with pytest.raises(AccessDeniedError):
        lists.listing(service, person("someone", "villeurbanne", frozenset()))


def test_the_signature_changes_with_a_state_or_reason_not_with_the_frame_rate(db: Engine) -> None:
    status, clock = SqlCameraStatusRepo(db), FakeClock()
    service, viewer = CameraService(CAMERAS, status), person("op.a", "villeurbanne")

    def signature_after(health: CameraHealth) -> str:
        status.record(health)
        return CameraLists().listing(service, viewer).signature  # a process's first list: built for the caller

    online = signature_after(CameraHealth("vil-1", HealthState.ONLINE, clock(), "", 25.0))
    clock.advance(seconds=5)
    assert signature_after(CameraHealth("vil-1", HealthState.ONLINE, clock(), "", 24.0)) == online
    clock.advance(seconds=5)
    offline = signature_after(CameraHealth("vil-1", HealthState.OFFLINE, clock(), "stream ended"))
    assert offline != online
    clock.advance(seconds=5)
    assert signature_after(CameraHealth("vil-1", HealthState.OFFLINE, clock(), "no answer")) != offline


def test_a_rebuild_that_changed_no_state_keeps_its_json_until_its_figures_are_ten_seconds_old(db: Engine) -> None:
    status, clock = SqlCameraStatusRepo(db), FakeClock()
    service, viewer, ticks = CameraService(CAMERAS, status), person("op.a", "villeurbanne"), Ticks(100.0)
    lists = CameraLists(max_age_s=2.0, monotonic=ticks, figures_max_age_s=10.0)

    def fps() -> float:
        return {c["id"]: c["fps_in"] for c in json.loads(lists.listing(service, viewer).body)}["vil-1"]

    status.record(CameraHealth("vil-1", HealthState.ONLINE, clock(), "", 25.0))
    first = lists.listing(service, viewer)
    status.record(CameraHealth("vil-1", HealthState.ONLINE, clock(), "", 12.0))  # a new frame rate only
    ticks.advance(7.0)  # past TOO_OLD x 2 s: built for this caller, same states: the JSON of 7 s ago
    kept = lists.listing(service, viewer)
    assert kept.body is first.body and fps() == 25.0
    ticks.advance(3.5)  # the figures 10.5 s old: written again
    lists.listing(service, viewer)  # starts the background rebuild
    wait_for(lambda: fps() == 12.0, 5, "the frame rate refreshed once the figures were 10 s old")
    status.record(CameraHealth("vil-1", HealthState.OFFLINE, clock(), "stream ended"))
    ticks.advance(7.0)
    states = {c["id"]: c["state"] for c in json.loads(lists.listing(service, viewer).body)}
    assert states["vil-1"] == "offline", "a change of state written at once"


@pytest.fixture
def world(db: Engine) -> World:
    return build_world(db)


@pytest.fixture
def server(world: World) -> Iterator[str]:
    with serving(world.client().app) as base:  # the feed is an endless response: a real server streams it
        yield base


def test_the_feed_sends_the_list_again_when_a_camera_goes_offline(
    world: World, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vigie.api.routes import feed as feed_route

    monkeypatch.setattr(feed_route, "POLL_S", 0.1)
    world.client().app.state.camera_lists = CameraLists(max_age_s=0.0)  # every poll reads the status afresh
    client = login(server, "op.vil")
    status = SqlCameraStatusRepo(world.engine)
    with client.stream("GET", "/api/feed") as response:
        lines = response.iter_lines()
        [cameras] = sse_events(lines, "cameras", 5)
        assert {c["id"] for c in cameras} == {"vil-1", "vil-2"}  # type: ignore[union-attr]
        status.record(CameraHealth("vil-2", HealthState.OFFLINE, world.clock(), "no answer from the camera"))
        [again] = sse_events(lines, "cameras", 5)
    by_id = {c["id"]: c for c in again}  # type: ignore[union-attr]
    assert (by_id["vil-2"]["state"], by_id["vil-2"]["reason"]) == ("offline", "no answer from the camera")
