"""The console's saved layouts and video-wall outputs through the API (issue 24): a person saves layouts of the
cameras they may see, shares one with a role of their commune, the owner or a supervisor changes a shared one;
bodies are bounded and unknown fields refused; every change audited; a wall output set from the console is read
by the wall's account with only the cameras it may see."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.api.world import World, build_world
from vigie.domain.audit import AuditAction
from vigie.domain.users import Role


@pytest.fixture
def world(db: Engine) -> World:
    world = build_world(db)
    world.add("op2.vil", [Role.OPERATOR])
    return world


def four(*cameras: str | None) -> list[dict[str, object]]:
    tiles: list[dict[str, object]] = [{"camera": c} for c in cameras]
    return tiles + [{"camera": None}] * (4 - len(tiles))


def test_a_layout_is_saved_shared_with_a_role_and_changed_by_its_owner_or_a_supervisor(world: World) -> None:
    sup = world.login("sup.vil")
    made = sup.post(
        "/api/layouts",
        json={"name": "Gare Part-Dieu", "grid": "4", "tiles": four("vil-1", "vil-2"), "alarm_tile": 3},
    )
    assert made.status_code == 201, made.text
    layout = made.json()
    assert (layout["mine"], layout["editable"], layout["alarm_tile"]) == (True, True, 3)
    op = world.login("op.vil")
    assert op.get("/api/layouts").json()["items"] == [], "not shared yet: the supervisor's own"
    shared = sup.put(f"/api/layouts/{layout['id']}/share", json={"roles": ["operator"]})
    assert shared.json()["shared_roles"] == ["operator"]
    seen = op.get("/api/layouts").json()["items"]
    assert [(s["name"], s["mine"], s["editable"]) for s in seen] == [("Gare Part-Dieu", False, False)]
    assert [t["camera"] for t in seen[0]["tiles"]] == ["vil-1", "vil-2", None, None]
    body = {"name": "Gare", "grid": "1", "tiles": four("vil-1")[:1]}
    refused = op.put(f"/api/layouts/{layout['id']}", json=body)
    assert refused.status_code == 403, "an operator does not change the room's shared layout"
    assert op.delete(f"/api/layouts/{layout['id']}").status_code == 403
    assert world.login("op.bron").get("/api/layouts").json()["items"] == [], "another commune sees nothing"
    changed = sup.put(
        f"/api/layouts/{layout['id']}", json={**body, "tiles": [{"tour": ["vil-1", "vil-2"], "pace_s": 5}]}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["tiles"] == [{"camera": None, "tour": ["vil-1", "vil-2"], "pace_s": 5}]
    assert sup.delete(f"/api/layouts/{layout['id']}").status_code == 204
    assert op.get("/api/layouts").json()["items"] == []
    actions = [(e.actor, e.action) for e in world.audit.events if e.target == f"layout:{layout['id']}"]
    assert actions == [
        ("sup.vil", AuditAction.LAYOUT_SAVED),
        ("sup.vil", AuditAction.LAYOUT_SHARED),
        ("op.vil", AuditAction.ACCESS_DENIED),
        ("op.vil", AuditAction.ACCESS_DENIED),
        ("sup.vil", AuditAction.LAYOUT_SAVED),
        ("sup.vil", AuditAction.LAYOUT_DELETED),
    ]


def test_bad_layouts_are_refused_with_what_is_wrong(world: World) -> None:
    op = world.login("op.vil")

    def refused(body: dict[str, object], status: int, words: str) -> None:
        answer = op.post("/api/layouts", json=body)
        assert answer.status_code == status, answer.text
        assert words in str(answer.json()["error"]), answer.json()

    refused({"name": "A", "grid": "4", "tiles": four("bron-1")}, 404, "'bron-1'")  # Bron's camera
    refused({"name": "A", "grid": "6", "tiles": four()}, 422, "unknown grid '6'")
    refused({"name": "A", "grid": "9", "tiles": four()}, 422, "grid 9 has 9 tiles, not 4")
    refused({"name": "A", "grid": "4", "tiles": four(), "colour": "red"}, 422, "colour")
    refused({"name": "A", "grid": "4", "tiles": [{"tour": ["vil-1"]}, *four()[:3]]}, 422, "at least two cameras")
    refused({"name": "A", "grid": "4", "tiles": four(), "alarm_tile": 7}, 422, "alarm tile")
    refused({"name": "A", "grid": "1", "tiles": [{"camera": None}] * 26}, 422, "at most 25 items")
    denied = [e for e in world.audit.events if e.action is AuditAction.ACCESS_DENIED and e.target == "layout:new"]
    assert denied and denied[0].details["cameras"] == ["bron-1"]


def test_a_wall_output_set_from_the_console_is_read_by_the_walls_account(world: World) -> None:
    op = world.login("op.vil")
    wall = world.login("op2.vil")
    empty = wall.get("/api/wall-outputs/salle-1").json()
    assert (empty["grid"], empty["version"]) == ("1", 0)
    put = op.put("/api/wall-outputs/salle-1", json={"grid": "4", "tiles": four("vil-2", "vil-1")})
    assert put.status_code == 200, put.text
    shown = wall.get("/api/wall-outputs/salle-1").json()
    assert (shown["version"], [t["camera"] for t in shown["tiles"]]) == (1, ["vil-2", "vil-1", None, None])
    assert op.put("/api/wall-outputs/salle-1", json={"grid": "1", "tiles": four("vil-1")[:1]}).json()["version"] == 2
    assert op.put("/api/wall-outputs/Salle 1", json={"grid": "1", "tiles": four()[:1]}).status_code == 422
    assert op.put("/api/wall-outputs/salle-1", json={"grid": "1", "tiles": [{"camera": "bron-1"}]}).status_code == 404
    assert [o["name"] for o in op.get("/api/wall-outputs").json()["items"]] == ["salle-1"]
    audited = [e.details for e in world.audit.events if e.action is AuditAction.WALL_OUTPUT_SET]
    assert [d["cameras"] for d in audited] == [["vil-1", "vil-2"], ["vil-1"]]
