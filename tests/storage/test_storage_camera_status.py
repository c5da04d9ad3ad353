from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from storage_samples import T0

from vigie.domain.camera import CameraHealth, HealthState
from vigie.storage import NaiveDatetimeError, SqlCameraStatusRepo
from vigie.storage import repositories as repositories_module


def health(
    state: HealthState, seconds: int, *, camera: str = "cam-1", reason: str = "", fps: float = 12.5, dropped: int = 0
) -> CameraHealth:
    return CameraHealth(camera, state, T0 + timedelta(seconds=seconds), reason, fps, dropped)


def test_record_upserts_the_latest_and_logs_only_changes(db: Engine) -> None:
    repo = SqlCameraStatusRepo(db)
    assert repo.latest() == []
    repo.record(health(HealthState.STARTING, 0))
    repo.record(health(HealthState.ONLINE, 1))
    repo.record(health(HealthState.ONLINE, 2, dropped=3))
    repo.record(health(HealthState.ONLINE, 3, fps=11.0, dropped=7))
    repo.record(health(HealthState.DEGRADED, 4, reason="decode errors"))
    repo.record(health(HealthState.DEGRADED, 5, reason="timestamps jump"))
    repo.record(health(HealthState.DEGRADED, 6, reason="timestamps jump"))

    assert repo.latest() == [health(HealthState.DEGRADED, 6, reason="timestamps jump")]
    history = repo.history("cam-1")
    assert [(h.state, h.reason, h.at) for h in history] == [
        (HealthState.DEGRADED, "timestamps jump", T0 + timedelta(seconds=5)),
        (HealthState.DEGRADED, "decode errors", T0 + timedelta(seconds=4)),
        (HealthState.ONLINE, "", T0 + timedelta(seconds=1)),
        (HealthState.STARTING, "", T0),
    ]
    assert repo.history("cam-1", limit=1) == [
        CameraHealth("cam-1", HealthState.DEGRADED, T0 + timedelta(seconds=5), "timestamps jump")
    ]


def test_latest_keeps_fps_and_dropped_frames_and_one_row_per_camera(db: Engine) -> None:
    repo = SqlCameraStatusRepo(db)
    repo.record(health(HealthState.ONLINE, 0, camera="b"))
    repo.record(health(HealthState.ONLINE, 1, camera="a", fps=25.0))
    repo.record(health(HealthState.ONLINE, 2, camera="a", fps=24.0, dropped=2))
    latest = repo.latest()
    assert [h.camera_id for h in latest] == ["a", "b"]
    assert latest[0] == health(HealthState.ONLINE, 2, camera="a", fps=24.0, dropped=2)
    assert latest[0].at.tzinfo is not None
    assert repo.history("b") == [CameraHealth("b", HealthState.ONLINE, T0)]


def test_a_late_report_does_not_move_the_latest_back(db: Engine) -> None:
    repo = SqlCameraStatusRepo(db)
    repo.record(health(HealthState.OFFLINE, 10, reason="connection refused"))
    repo.record(health(HealthState.ONLINE, 5))
    assert repo.latest() == [health(HealthState.OFFLINE, 10, reason="connection refused")]
    assert len(repo.history("cam-1")) == 1


def test_naive_report_time_is_refused(db: Engine) -> None:
    repo = SqlCameraStatusRepo(db)
    with pytest.raises(NaiveDatetimeError):
        repo.record(CameraHealth("cam-1", HealthState.ONLINE, datetime(2025, 1, 1)))
    assert repo.latest() == []


def test_prune_health_log_deletes_old_changes_in_batches(db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repositories_module, "PRUNE_BATCH", 4)
    repo = SqlCameraStatusRepo(db)
    states = [HealthState.ONLINE, HealthState.DEGRADED]
    for i in range(11):
        repo.record(health(states[i % 2], i * 60))
    assert len(repo.history("cam-1")) == 11

    assert repo.prune_health_log(T0 + timedelta(minutes=9)) == 9
    assert [h.at for h in repo.history("cam-1")] == [T0 + timedelta(minutes=10), T0 + timedelta(minutes=9)]
    assert repo.prune_health_log(T0 + timedelta(minutes=9)) == 0
    # The latest status is kept whatever its age.
    assert repo.prune_health_log(T0 + timedelta(days=1)) == 2
    assert repo.latest() == [health(HealthState.ONLINE, 600)]
    with pytest.raises(NaiveDatetimeError):
        repo.prune_health_log(datetime(2025, 1, 1))
