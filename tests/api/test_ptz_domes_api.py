"""GET /api/cameras/ptz: the domes Vigie drives that a person may control, what the console asks before it shows a
camera's dome controls — a PTZ camera Vigie does not drive, a fixed camera, another commune's dome are not in it,
and a person who may not control domes (not trained, or not an operator) gets an empty list, not a refusal."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from tests.api.world import World, a_dome, build_world


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


class CountedReads:
    """The world's simulated dome, its status reads counted."""

    def __init__(self, dome: Any) -> None:
        self.dome = dome
        self.reads = 0

    def status(self) -> Any:
        self.reads += 1
        return self.dome.status()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.dome, name)


def test_where_a_dome_looks_is_read_for_the_map_by_whoever_sees_the_camera_once_a_second_at_most(db: Engine) -> None:
    domes: list[CountedReads] = []

    def counted(dome: Any) -> CountedReads:
        domes.append(CountedReads(dome))
        return domes[-1]

    world = build_world(db, ptz=lambda audit, clock: a_dome(audit, clock, wrap=counted))
    moved = world.login("op.vil").post("/api/cameras/vil-1/ptz/move", json={"kind": "absolute", "vector": {"pan": 0.5}})
    assert moved.status_code == 200, moved.text
    # an investigator does not drive domes but sees the camera, and so where it looks; vil-2 is no dome Vigie
    # drives, bron-1 another commune's camera: left out
    asked = "/api/cameras/ptz/directions?ids=vil-1,vil-2,bron-1"
    looks = world.login("inv.vil").get(asked)
    assert looks.status_code == 200, looks.text
    position = world.login("op.vil").get("/api/cameras/vil-1/ptz").json()["status"]["position"]
    assert looks.json() == {"domes": {"vil-1": position}}
    assert world.login("op.bron").get(asked).json() == {"domes": {}}
    # many maps asking within a second: the dome is read once for them all
    before = domes[0].reads
    for _ in range(5):
        assert world.login("auditor.vil").get(asked).json() == {"domes": {"vil-1": position}}
    assert domes[0].reads - before <= 1
    too_many = ",".join(f"c{i}" for i in range(501))
    refused = world.login("inv.vil").get(f"/api/cameras/ptz/directions?ids={too_many}")
    assert refused.status_code == 422 and "at most 500" in refused.text
