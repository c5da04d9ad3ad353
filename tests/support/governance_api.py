"""Activations through the API, on the API tests' world (``tests.api.world``, at its fixed instant :data:`T0`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.api.world import T0, TODAY, World

FRAMEWORK_2027 = "loi-2023-380-art10-prolongation-2027"
"""The JO law's extended experiment: in force at T0, ended on 2028-01-01 (use it only on the world's fixed clock)."""


def login(world: World, username: str) -> TestClient:
    """Log in; a second-factor code is accepted once, so the clock moves on to the next one first."""
    if username in world.totp:
        world.clock.advance(seconds=30)
    return world.login(username)


def activation_body(**changes: Any) -> dict[str, Any]:
    """Intrusion on a Villeurbanne street camera for a week from now, under the framework extended to 2027."""
    body = {
        "module": "intrusion",
        "camera_ids": ["vil-1"],
        "framework": FRAMEWORK_2027,
        "decision_number": "2026-PREF-0042",
        "decision_date": (TODAY - timedelta(days=10)).isoformat(),
        "dpia_reference": "AIPD-2026-07",
        "purpose": "marché de Noël, place Lazare-Goujon",
        "starts_at": T0.isoformat(),
        "ends_at": (T0 + timedelta(days=7)).isoformat(),
    }
    return {**body, **changes}


def requested(world: World, by: str = "sup.vil", **changes: Any) -> int:
    answer = login(world, by).post("/api/activations", json=activation_body(**changes))
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def activated(world: World) -> int:
    activation = requested(world)
    for approver in ("dpo.vil", "maire.vil"):
        assert login(world, approver).post(f"/api/activations/{activation}/approve").status_code == 200
    return activation
