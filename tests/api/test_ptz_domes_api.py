"""GET /api/cameras/ptz: the domes Vigie drives that a person may control, what the console asks before it shows a
camera's dome controls — a PTZ camera Vigie does not drive, a fixed camera, another commune's dome are not in it,
and a person who may not control domes (not trained, or not an operator) gets an empty list, not a refusal."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.api.world import World, build_world


@pytest.fixture
def world(db: Engine) -> World:
    return build_world(db)


@pytest.mark.parametrize(
    ("user", "domes"),
    [
        ("op.vil", ["vil-1"]),  # vil-2 is a PTZ camera without ONVIF settings: Vigie does not drive it
        ("sup.vil", ["vil-1"]),
        ("op.bron", []),  # vil-1 is Villeurbanne's
        ("op.untrained", []),  # control_ptz is a video permission: training checked
        ("auditor.vil", []),
    ],
)
def test_the_domes_one_may_drive(world: World, user: str, domes: list[str]) -> None:
    response = world.login(user).get("/api/cameras/ptz")
    assert response.status_code == 200, response.text
    assert response.json() == {"cameras": domes}
    assert world.login(user).get("/api/cameras/vil-2/ptz").status_code in (403, 404)
