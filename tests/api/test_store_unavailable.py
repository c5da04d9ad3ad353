"""A database that cannot be written answers 503, never 500 (issue #15, D9/D10): the API's own writes — a login's
session and audit entry, an account change — are refused with ``unavailable`` and ``Retry-After``, and the message
never shows the server's database path."""

from __future__ import annotations

from sqlalchemy import Engine

from tests.api.world import World, build_world
from vigie.storage.database import guard_writes


def test_writes_refused_by_the_database_answer_503_with_retry_after(db: Engine, tmp_path: object) -> None:
    world: World = build_world(db)
    admin = world.login("admin.vil")
    guard_writes(db).block("the database file was replaced (test)")
    refused = world.client().post("/api/auth/login", json={"username": "op.vil", "password": "wrong password!"})
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "unavailable"
    assert refused.headers["Retry-After"] == "5"
    assert "api.db" not in refused.text and str(tmp_path) not in refused.text
    changed = admin.patch("/api/users/op.vil", json={"disabled": True})
    assert changed.status_code == 503 and "try again" in changed.json()["error"]["message"]
    assert admin.get("/api/cameras").status_code == 200, "reads go on"
