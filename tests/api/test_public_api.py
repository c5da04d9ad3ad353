"""The public information page (R252-10, L36): without any login, the authorised cameras and the analysis in force
on them, under which decision — and nothing about the people who operate, request or approve."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.api.world import World, build_world
from tests.support.governance_api import activated, login, requested
from vigie.domain.users import Role

STATIC = Path(__file__).resolve().parents[2] / "src" / "vigie" / "web" / "static"


@pytest.fixture
def world(db: Engine) -> World:
    world = build_world(db, static=STATIC)
    world.add("maire.bron", [Role.AUTHORITY], "bron", authorised_for=None, trained_ago=None)
    return world


def test_the_public_sees_every_authorised_camera_without_logging_in(world: World) -> None:
    response = world.client().get("/api/public/cameras")
    assert response.status_code == 200
    cameras = {c["id"]: c for c in response.json()}
    assert set(cameras) == {"vil-1", "vil-2", "bron-1", "pn-1"}
    assert set(cameras["vil-1"]) == {
        "id",
        "name",
        "commune_id",
        "site_id",
        "kind",
        "address",
        "authorisation",
        "authorisation_reference",
        "authorised_until",
    }


def test_only_analysis_in_force_is_listed_and_no_person_is_named(world: World) -> None:
    anonymous = world.client()
    requested(world)  # awaiting its approvals: not in force, not listed
    assert anonymous.get("/api/public/analysis").json()["activations"] == []
    activated(world)
    body = anonymous.get("/api/public/analysis").json()
    [item] = body["activations"]
    assert (item["module"], item["commune_id"], item["camera_ids"]) == ("intrusion", "villeurbanne", ["vil-1"])
    assert item["decision_number"] == "2026-PREF-0042"
    assert item["purpose"] == "marché de Noël, place Lazare-Goujon"
    text = str(body)
    for person in ("sup.vil", "dpo.vil", "maire.vil"):
        assert person not in text
    assert body["stopped"] is False


def test_the_global_stop_is_shown_to_the_public(world: World) -> None:
    activated(world)
    client = login(world, "dpo.vil")
    assert client.post("/api/stops", json={"camera_id": None, "reason": "incident"}).status_code == 200
    assert world.client().get("/api/public/analysis").json()["stopped"] is True


def test_the_public_page_is_served_without_login(world: World) -> None:
    page = world.client().get("/public")
    assert page.status_code == 200
    assert "/static/public.js" in page.text
    assert world.client().get("/static/public.js").status_code == 200
