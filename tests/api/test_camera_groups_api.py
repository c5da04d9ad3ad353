"""A person's own camera groups and favourites (issue 24): kept by the server, only cameras the person may see,
bounded, unknown fields refused, nobody else's groups reachable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.api.world import World, build_world
from vigie.storage import create_engine_for, migrate


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'api.db'}")
    migrate(engine)
    yield build_world(engine)
    engine.dispose()


def test_groups_and_favourites_follow_the_person(world: World) -> None:
    op = world.login("op.vil")
    assert op.get("/api/me/camera-groups").json() == {"favourites": [], "groups": []}
    assert op.put("/api/me/camera-groups/favourites", json={"cameras": ["vil-2", "vil-1", "vil-2"]}).json() == [
        "vil-2",
        "vil-1",
    ]
    made = op.post("/api/me/camera-groups", json={"name": "  Rondes   de nuit ", "cameras": ["vil-1"]})
    assert made.status_code == 201, made.text
    group = made.json()
    assert (group["name"], group["cameras"]) == ("Rondes de nuit", ["vil-1"])
    changed = op.patch(f"/api/me/camera-groups/{group['id']}", json={"cameras": ["vil-1", "vil-2"]})
    assert changed.json()["cameras"] == ["vil-1", "vil-2"]
    renamed = op.patch(f"/api/me/camera-groups/{group['id']}", json={"name": "Marché"})
    assert (renamed.json()["name"], renamed.json()["cameras"]) == ("Marché", ["vil-1", "vil-2"])

    again = world.login("op.vil")  # another workstation: the same groups
    assert again.get("/api/me/camera-groups").json() == {
        "favourites": ["vil-2", "vil-1"],
        "groups": [{"id": group["id"], "name": "Marché", "cameras": ["vil-1", "vil-2"]}],
    }
    assert again.delete(f"/api/me/camera-groups/{group['id']}").status_code == 204
    assert op.get("/api/me/camera-groups").json()["groups"] == []


def test_only_ones_own_groups_and_visible_cameras(world: World) -> None:
    vil, bron = world.login("op.vil"), world.login("op.bron")
    group = vil.post("/api/me/camera-groups", json={"name": "Centre", "cameras": ["vil-1"]}).json()
    assert bron.get("/api/me/camera-groups").json()["groups"] == []
    for response in (
        bron.patch(f"/api/me/camera-groups/{group['id']}", json={"name": "Pris"}),
        bron.delete(f"/api/me/camera-groups/{group['id']}"),
    ):
        assert response.status_code == 404, response.text
    refused = bron.post("/api/me/camera-groups", json={"name": "Voisins", "cameras": ["bron-1", "vil-1"]})
    assert refused.status_code == 422
    assert "no camera 'vil-1' among the cameras you may see" in refused.json()["error"]["message"]
    assert bron.put("/api/me/camera-groups/favourites", json={"cameras": ["vil-2"]}).status_code == 422
    assert vil.get("/api/me/camera-groups").json()["groups"][0]["name"] == "Centre"


def test_bad_requests_are_refused_and_say_why(world: World) -> None:
    op = world.login("op.vil")
    assert op.post("/api/me/camera-groups", json={"name": "Centre"}).status_code == 201
    twice = op.post("/api/me/camera-groups", json={"name": "Centre"})
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "conflict")
    unknown = op.post("/api/me/camera-groups", json={"name": "Autre", "camera": ["vil-1"]})
    assert unknown.status_code == 422 and "'camera'" in unknown.json()["error"]["message"]
    too_many = op.put("/api/me/camera-groups/favourites", json={"cameras": [f"c{n}" for n in range(401)]})
    assert too_many.status_code == 422
    assert op.post("/api/me/camera-groups", json={"name": "x" * 81}).status_code == 422
    assert op.post("/api/me/camera-groups", json={"name": "   "}).status_code == 422
    assert world.client().get("/api/me/camera-groups").status_code == 401


def test_the_camera_list_names_communes_and_sites_and_says_the_authorisation(tmp_path: Path, db: Engine) -> None:
    world = build_world(db)
    cameras = {c["id"]: c for c in world.login("op.vil").get("/api/cameras").json()}
    assert (cameras["vil-1"]["commune_name"], cameras["vil-1"]["site_name"]) == (
        "Ville de Villeurbanne",
        "Centre-ville",
    )
    assert cameras["vil-1"]["authorisation"] == "unknown"  # a world without authorisations
    assert cameras["vil-1"]["recording"] is False  # no report from its workers yet
    assert cameras["vil-1"]["analysis"] == []


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'other.db'}")
    migrate(engine)
    yield engine
    engine.dispose()
