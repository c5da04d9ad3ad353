"""What operators see of a camera combines its analysis stream and its recording."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.support.clocks import StepClock
from tests.support.configs import config_yaml
from vigie.config import load_config_text
from vigie.domain.camera import CameraHealth, HealthState
from vigie.events.aggregation import EventAggregator
from vigie.runtime.assembly.audit import open_audit_sink
from vigie.runtime.workers.recorder import RecordingHealth
from vigie.runtime.workers.sink import WorkerMessageSink
from vigie.storage import create_engine_for, migrate
from vigie.storage.repositories import SqlCameraStatusRepo, SqlEventRepo

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_a_failing_recording_makes_the_camera_offline_with_both_reasons(tmp_path: Path) -> None:
    config = load_config_text(config_yaml(tmp_path, ""))
    engine = create_engine_for(config.storage.database_url)
    migrate(engine)
    status = SqlCameraStatusRepo(engine)
    sink = WorkerMessageSink(
        EventAggregator(SqlEventRepo(engine)), status, open_audit_sink(config, engine, StepClock())
    )

    sink(CameraHealth("cam", HealthState.ONLINE, NOW, "", 5.0))
    sink(RecordingHealth("cam", HealthState.ONLINE, NOW))
    sink.tick()
    assert [(h.state, h.reason) for h in status.latest()] == [(HealthState.ONLINE, "")]

    sink(RecordingHealth("cam", HealthState.OFFLINE, NOW, "camera cam: cannot open rtsp://***@10.0.0.9/main"))
    sink.tick()
    latest = status.latest()[0]
    assert latest.state is HealthState.OFFLINE
    assert latest.reason == "recording offline: camera cam: cannot open rtsp://***@10.0.0.9/main"
    assert latest.fps_in == 5.0, "the analysis figures stay"

    sink(RecordingHealth("cam", HealthState.ONLINE, NOW))
    sink.tick()
    assert status.latest()[0].state is HealthState.ONLINE
