"""The PTZ routes: an operator drives the dome (audited), another waits (409 naming who holds it), a supervisor
stores presets and takes the dome, a camera that is no dome is 404, and a malformed command is 422."""

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


def test_an_operator_drives_the_dome_and_every_move_is_audited(world: World) -> None:
    op = world.login("op.vil")
    assert op.get("/api/cameras/vil-1/ptz").json()["lock"] is None
    moved = op.post(
        "/api/cameras/vil-1/ptz/move",
        json={"kind": "absolute", "vector": {"pan": 0.3, "tilt": -0.2, "zoom": 0.1}, "speed": {"pan": 0.5}},
    )
    assert moved.status_code == 200, moved.text
    world.clock.advance(seconds=10)
    view = op.get("/api/cameras/vil-1/ptz").json()
    assert view["status"]["position"] == pytest.approx({"pan": 0.3, "tilt": -0.2, "zoom": 0.1}, abs=1e-3)
    assert view["lock"]["holder"] == "op.vil" and view["lock"]["role"] == "operator"
    assert op.post("/api/cameras/vil-1/ptz/stop").status_code == 200
    moves = [e for e in world.audit.events if e.action is AuditAction.PTZ_MOVED]
    assert [(e.actor, e.target, e.details["command"]) for e in moves] == [
        ("op.vil", "camera:vil-1", "absolute"),
        ("op.vil", "camera:vil-1", "stop"),
    ]


def test_a_second_operator_waits_and_a_supervisor_takes_over(world: World) -> None:
    world.login("op.vil").post("/api/cameras/vil-1/ptz/home")
    refused = world.login("op2.vil").post(
        "/api/cameras/vil-1/ptz/move", json={"kind": "continuous", "vector": {"pan": 0.5}}
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "locked"
    assert "op.vil (operator) drives this dome until" in refused.json()["error"]["message"]
    sup = world.login("sup.vil")
    stored = sup.post("/api/cameras/vil-1/ptz/presets", json={"name": "Parvis"})
    assert stored.status_code == 200 and stored.json()["name"] == "Parvis"
    token = stored.json()["token"]
    assert sup.post(f"/api/cameras/vil-1/ptz/presets/{token}/goto").status_code == 200
    assert world.audit.events[-1].details.get("taken_from") == "op.vil"
    assert world.login("op.vil").post("/api/cameras/vil-1/ptz/presets", json={"name": "X"}).status_code == 403


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/cameras/vil-2/ptz/stop", None, 404),  # a fixed camera
        ("/api/cameras/bron-1/ptz/stop", None, 404),  # another commune's camera
        ("/api/cameras/vil-1/ptz/move", {"kind": "absolute", "vector": {"pan": 1.5}}, 422),
        ("/api/cameras/vil-1/ptz/move", {"kind": "absolute", "vector": {"pan": 0.1}, "zoom": 1}, 422),
        ("/api/cameras/vil-1/ptz/move", {"kind": "teleport", "vector": {}}, 422),
        ("/api/cameras/vil-1/ptz/presets/nope/goto", None, 422),
        ("/api/cameras/vil-1/ptz/tour", {"presets": ["a"], "dwell_s": 5}, 422),
    ],
)
def test_what_cannot_be_done_is_refused_and_not_audited(
    world: World, path: str, body: dict[str, object] | None, status: int
) -> None:
    response = world.login("op.vil").post(path, json=body)
    assert response.status_code == status, response.text
    assert not [e for e in world.audit.events if e.action is AuditAction.PTZ_MOVED]


def test_an_untrained_operator_may_not_drive(world: World) -> None:
    response = world.login("op.untrained").post("/api/cameras/vil-1/ptz/stop")
    assert response.status_code == 403
