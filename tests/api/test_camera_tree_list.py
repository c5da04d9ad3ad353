"""What the console's camera tree reads (issue 24): the camera list names each camera's commune and site, its tags,
its authorisation today and whether it records; the live feed sends the whole list once, then only the cameras that
changed (the whole list is ~2.4 MB at the métropole's size)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from tests.api.test_live_api import login, sse_events
from tests.api.world import CAMERAS, Clock, World, build_world
from tests.support.clocks import Ticks
from tests.support.governance_api import activated
from tests.support.servers import serving
from vigie.api.camera_lists import CameraLists
from vigie.config.camera import Authorisation
from vigie.domain.camera import CameraHealth, CameraInfo, CameraKind, HealthState, Purpose
from vigie.domain.clock import legal_day
from vigie.governance.authorisation import CameraAuthorisations
from vigie.storage.repositories import SqlCameraStatusRepo

TAGGED = (
    CameraInfo("vil-1", "Place Lazare-Goujon", "villeurbanne", "centre", CameraKind.FIXED, tags=("parvis", "mairie")),
    *CAMERAS[1:],
)


def authorisations(clock: Clock) -> CameraAuthorisations:
    today = legal_day(clock)
    return CameraAuthorisations(
        {
            camera: Authorisation(
                reference=f"DS-{camera}",
                valid_from=today - timedelta(days=700),
                valid_until=today + timedelta(days=-10 if camera == "vil-2" else 365),
                purposes=(Purpose.CRIME_PREVENTION,),
                retention_days=15,
            )
            for camera in ("vil-1", "vil-2", "bron-1")
        },
        clock,
    )


@pytest.fixture
def world(db: Engine) -> World:
    return build_world(db, cameras=TAGGED, authorisations=authorisations)


def test_the_list_says_each_cameras_place_tags_authorisation_and_recording(world: World) -> None:
    status = SqlCameraStatusRepo(world.engine)
    now = world.clock()
    status.record(CameraHealth("vil-1", HealthState.ONLINE, now, "", 5.0))
    status.record(CameraHealth("vil-2", HealthState.ONLINE, now, "", 5.0))
    cameras = {c["id"]: c for c in world.login("op.vil").get("/api/cameras").json()}
    vil1, vil2 = cameras["vil-1"], cameras["vil-2"]
    assert (vil1["commune_name"], vil1["site_name"], vil1["tags"]) == (
        "Ville de Villeurbanne",
        "Centre-ville",
        ["parvis", "mairie"],
    )
    assert (vil1["authorisation"], vil1["recording"], vil1["analysis"]) == ("valid", True, [])
    assert (vil2["authorisation"], vil2["recording"]) == ("expired", False)  # not recorded without it (L1)


def test_a_failing_recorder_is_not_recording(world: World) -> None:
    world.client().app.state.camera_lists = CameraLists(max_age_s=0.0)
    SqlCameraStatusRepo(world.engine).record(
        CameraHealth("vil-1", HealthState.DEGRADED, world.clock(), 'recording offline: disque "plein" — à voir\n', 5.5)
    )
    cameras = {c["id"]: c for c in world.login("op.vil").get("/api/cameras").json()}
    assert (cameras["vil-1"]["state"], cameras["vil-1"]["recording"]) == ("degraded", False)
    assert (cameras["vil-1"]["reason"], cameras["vil-1"]["fps_in"]) == (
        'recording offline: disque "plein" — à voir\n',
        5.5,
    )


@pytest.fixture
def server(world: World) -> Iterator[str]:
    with serving(world.client().app) as base:  # the feed is an endless response: a real server streams it
        yield base


def test_the_feed_sends_the_list_once_then_only_what_changed(
    world: World, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vigie.api.routes import feed as feed_route

    monkeypatch.setattr(feed_route, "POLL_S", 0.1)
    world.client().app.state.camera_lists = CameraLists(max_age_s=0.0, monotonic=Ticks(0.0))
    status = SqlCameraStatusRepo(world.engine)
    client = login(server, "op.vil")
    with client.stream("GET", "/api/feed") as response:
        lines = response.iter_lines()
        [whole] = sse_events(lines, "cameras", 5)
        assert [c["id"] for c in whole] == ["vil-1", "vil-2"]  # type: ignore[index]
        status.record(CameraHealth("vil-2", HealthState.OFFLINE, world.clock(), "no answer from the camera"))
        [changed] = sse_events(lines, "cameras", 5)
    assert [(c["id"], c["state"], c["recording"]) for c in changed] == [  # type: ignore[index]
        ("vil-2", "offline", False)
    ]
    assert json.dumps(changed).count('"id"') == 1


def test_the_list_names_the_analysis_active_on_a_camera(db: Engine) -> None:
    world = build_world(db)  # on its fixed clock, inside the framework extended to 2027
    world.client().app.state.camera_lists = CameraLists(max_age_s=0.0)
    op = world.login("op.vil")
    assert {c["id"]: c["analysis"] for c in op.get("/api/cameras").json()} == {"vil-1": [], "vil-2": []}
    activated(world)  # intrusion on vil-1, approved by the DPO and the mayor
    assert {c["id"]: c["analysis"] for c in op.get("/api/cameras").json()} == {"vil-1": ["intrusion"], "vil-2": []}


def test_the_metropoles_list_comes_compressed_to_a_browser(db: Engine) -> None:
    # 4,891 cameras are 2.4 MB of JSON a console re-reads every 15 s: a browser (which asks for gzip) gets a tenth
    from tests.support.metropole import OPERATOR, TOTAL, metropole_config, metropole_world, world_parts

    world = metropole_world(db, world_parts(metropole_config(legal_day(Clock()))))
    client = world.login(OPERATOR)
    plain = client.get("/api/cameras", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    packed = client.get("/api/cameras", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding"
    assert packed.json() == plain.json() and len(plain.json()) == TOTAL
    assert packed.num_bytes_downloaded * 5 < plain.num_bytes_downloaded, (
        packed.num_bytes_downloaded,
        plain.num_bytes_downloaded,
    )
