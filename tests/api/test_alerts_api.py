"""Alerts through the API (L28, L31): pending until a person decides, one verdict ever, the verdict kept with the
name and role of who gave it and audited, and nothing dispatched except on confirmation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from tests.api.world import T0, World, build_world
from vigie.domain.alerts import Alert
from vigie.domain.audit import AuditAction
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.services.alerts import AlertService


class Recorder:
    """A dispatcher (what would send a patrol message or play a loudspeaker announcement) that records."""

    def __init__(self) -> None:
        self.sent: list[int | None] = []

    def dispatch(self, alert: Alert) -> None:
        self.sent.append(alert.id)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def world(db: Engine, recorder: Recorder) -> World:
    return build_world(db, dispatchers=[recorder])


def raise_alerts(world: World, count: int = 3) -> list[int]:
    ids = []
    for i in range(count):
        at = T0 + timedelta(seconds=10 * i)
        alert = world.alerts.raise_alert(
            Observation("vil-1", "abandoned_object", "abandoned_object", at, (Box(0.4, 0.5, 0.1, 0.1),), 0.8, "m@1")
        )
        assert alert.id is not None
        ids.append(alert.id)
    return ids


def test_alerts_stay_pending_until_a_person_decides_and_only_confirmations_are_dispatched(
    world: World, recorder: Recorder
) -> None:
    first, second, third = raise_alerts(world)
    client = world.login("op.vil")
    pending = client.get("/api/alerts", params={"state": "pending"}).json()["items"]
    assert [a["id"] for a in pending] == [third, second, first] and recorder.sent == []
    item = pending[0]
    assert set(item["region"]) == {"x", "y", "w", "h"} and item["model_version"] == "m@1" and item["verdict"] is None

    confirmed = client.post(f"/api/alerts/{first}/confirm", json={"note": "sac signalé à la patrouille"})
    assert confirmed.status_code == 200
    body = confirmed.json()
    assert body["state"] == "confirmed" and body["decided_by"] == "op.vil" and body["decided_role"] == "operator"
    dismissed = client.post(f"/api/alerts/{second}/dismiss", json={"verdict": "false_positive", "note": "SDF"})
    assert dismissed.json()["state"] == "dismissed" and dismissed.json()["verdict"] == "false_positive"
    assert recorder.sent == [first], "a dismissal is never dispatched"

    again = world.login("sup.vil").post(f"/api/alerts/{first}/dismiss", json={})
    assert again.status_code == 409 and "op.vil" in again.json()["error"]["message"]
    verdicts = [e for e in world.audit.events if e.action is AuditAction.ALERT_VERDICT]
    assert [(e.actor, e.details["verdict"]) for e in verdicts] == [
        ("op.vil", "confirmed"),
        ("op.vil", "false_positive"),
    ]

    stats = client.get("/api/alerts/statistics").json()
    assert stats == [
        {
            "module": "abandoned_object",
            "camera_id": "vil-1",
            "raised": 3,
            "pending": 1,
            "confirmed": 1,
            "false_positives": 1,
            "not_actionable": 0,
            "duplicates": 0,
            "false_positive_rate": 0.5,
        }
    ]


def test_bad_verdicts_and_unknown_alerts(world: World) -> None:
    (alert,) = raise_alerts(world, 1)
    client = world.login("op.vil")
    assert client.post(f"/api/alerts/{alert}/dismiss", json={"verdict": "confirmed"}).status_code == 422
    assert client.post("/api/alerts/999999/confirm", json={}).status_code == 404
    assert client.post("/api/alerts/0/confirm", json={}).status_code == 422
    assert client.get("/api/alerts", params={"state": "maybe"}).status_code == 422
    assert client.get("/api/alerts", params={"since": "2026-11-28T12:00:00"}).status_code == 422
    assert world.alerts.get_for(world.auth.principal_for("op.vil"), alert).verdict is None


def test_a_dpo_reads_alerts_but_does_not_decide(world: World) -> None:
    (alert,) = raise_alerts(world, 1)
    dpo = world.login("dpo.vil")
    assert dpo.get(f"/api/alerts/{alert}").status_code == 200
    refused = dpo.post(f"/api/alerts/{alert}/confirm", json={})
    assert refused.status_code == 403 and "decide alerts" in refused.json()["error"]["message"]


def test_the_service_itself_refuses_other_tenants_without_any_route(world: World) -> None:
    (alert,) = raise_alerts(world, 1)
    service: AlertService = world.alerts
    from vigie.services.access import NotVisibleError

    with pytest.raises(NotVisibleError):
        service.confirm_as(world.auth.principal_for("op.bron"), alert)
    assert service.list_for(world.auth.principal_for("op.bron")) == []
