"""GET /api/system/health: operators and supervisors see the nodes, the disks, and the offline cameras and the
recording gaps of the cameras they may see (L10), nobody else (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.api.world import World, build_world
from tests.support.system_health import HealthParts, silence
from vigie.domain.camera import CameraHealth, HealthState
from vigie.storage.repositories import SqlCameraStatusRepo


@pytest.fixture
def parts() -> HealthParts:
    return HealthParts()


@pytest.fixture
def world(db: Engine, tmp_path: Path, parts: HealthParts) -> World:
    return build_world(db, system_health=parts.factory(tmp_path, ["vil-1", "vil-2", "bron-1", "pn-1"], db))


def test_operators_see_the_gaps_and_offline_cameras_of_their_cameras_only(world: World, parts: HealthParts) -> None:
    assert parts.monitor is not None
    unwatched = world.login("op.vil").get("/api/system/health").json()
    assert unwatched["watching"] is False, "nothing checked the recordings yet: no all-clear"
    silence(parts.monitor, world.clock())
    SqlCameraStatusRepo(world.engine).record(
        CameraHealth("vil-2", HealthState.OFFLINE, world.clock(), "camera vil-2: stream error")
    )
    view = world.login("op.vil").get("/api/system/health").json()
    assert view["watching"] is True
    assert [a["camera_id"] for a in view["alarms"]] == ["vil-1"], "bron-1 and pn-1 are not Villeurbanne's"
    assert view["alarms"][0]["seconds"] == 50 and view["alarms"][0]["end"] is None
    gaps = {g["camera_id"]: g["seconds"] for g in view["gaps"]}
    assert gaps == {"vil-1": 50, "vil-2": 55} and view["gap_count"] == 2 and view["gap_seconds"] == 105
    assert [(c["id"], c["reason"]) for c in view["offline"]] == [("vil-2", "camera vil-2: stream error")]
    assert [(n["alive"], n["cameras"], n["groups"]) for n in view["nodes"]] == [(False, 0, [])]
    assert sorted(d["name"] for d in view["disks"]) == ["data", "recordings"]

    bron = world.login("op.bron").get("/api/system/health").json()
    assert [a["camera_id"] for a in bron["alarms"]] == ["bron-1"]
    assert bron["offline"] == [] and {g["camera_id"] for g in bron["gaps"]} == {"bron-1"}

    assert world.login("sup.vil").get("/api/system/health").status_code == 200
    for who in ("inv.vil", "dpo.vil", "admin.vil", "auditor.vil"):
        answer = world.login(who).get("/api/system/health")
        assert answer.status_code == 403, who
        assert answer.json()["error"]["code"] == "forbidden"
