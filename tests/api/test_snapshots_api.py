"""An alert's image comes from the recording at the alert's time: the right frame, for those who may see recorded
video of that camera, traced as a playback; a clear 404 when nothing was recorded then."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import Engine

from tests.api.world import T0, Clock, World, build_world
from tests.recording.export_samples import FPS, ListAuditSink, record
from vigie.domain.audit import AuditAction
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.services.alerts import AlertService
from vigie.services.snapshots import SnapshotService
from vigie.storage.recording import SqlSegmentIndex
from vigie.storage.segment_store import FileSegmentStore


@pytest.fixture
def world(db: Engine, tmp_path: Path) -> World:
    store = FileSegmentStore(tmp_path / "segments")
    index = SqlSegmentIndex(db)
    for segment in record(store.root, "vil-1", [(T0, 4)]):
        index.add(segment)

    def snapshots(alerts: AlertService, audit: ListAuditSink, clock: Clock) -> SnapshotService:
        return SnapshotService(alerts, index, store, audit, clock=clock)

    world = build_world(db, snapshots=snapshots)
    world.clock.now = T0 + timedelta(minutes=5)
    return world


def alert_at(world: World, camera: str, seconds: float) -> int:
    at = T0 + timedelta(seconds=seconds)
    alert = world.alerts.raise_alert(
        Observation(camera, "intrusion", "intrusion", at, (Box(0.1, 0.1, 0.2, 0.2),), 0.9, "m@1")
    )
    assert alert.id is not None
    return alert.id


def grey(jpeg: bytes) -> float:
    return float(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE).mean())


def test_the_image_is_the_recorded_frame_at_the_alerts_time(world: World) -> None:
    client = world.login("op.vil")
    for seconds in (0.5, 2.7):  # the clip's grey level rises by 5 per frame: the level tells the frame
        alert_id = alert_at(world, "vil-1", seconds)
        response = client.get(f"/api/alerts/{alert_id}/snapshot.jpg")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/jpeg"
        expected = (round(seconds * FPS) * 5) % 250
        assert abs(grey(response.content) - expected) < 6, (seconds, grey(response.content), expected)
    traced = [e for e in world.audit.events if e.action is AuditAction.PLAYBACK]
    assert [(e.actor, e.target, e.details["alert"]) for e in traced] == [
        ("op.vil", "vil-1", alert_id - 1),
        ("op.vil", "vil-1", alert_id),
    ]


def test_nothing_recorded_at_that_time_is_a_clear_404(world: World) -> None:
    alert_id = alert_at(world, "vil-1", 120)
    response = world.login("op.vil").get(f"/api/alerts/{alert_id}/snapshot.jpg")
    assert response.status_code == 404
    assert "nothing recorded at the time of alert" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("sup.vil", 200),
        ("op.bron", 404),  # another commune's alert: as if it did not exist
        ("dpo.vil", 403),  # reads alerts, sees no video
        ("op.untrained", 403),  # no training recorded (L9)
        ("admin.vil", 403),
    ],
)
def test_who_sees_an_alerts_image(world: World, username: str, status: int) -> None:
    alert_id = alert_at(world, "vil-1", 1.0)
    response = world.login(username).get(f"/api/alerts/{alert_id}/snapshot.jpg")
    assert response.status_code == status, response.text
    if status != 200:
        assert not [e for e in world.audit.events if e.action is AuditAction.PLAYBACK]
