"""A camera whose prefectoral authorisation has ended neither records nor is analysed (issue 14, L1): under the real
supervisor, asked with :class:`CameraAuthorisations` as the running service asks it, the recorder and the analysis
worker of an expired camera are never started, and those of a camera whose last day ends are stopped the next
day (the Paris day of the service's clock) and not restarted. Real processes, real PyAV."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.clocks import FakeClock
from tests.support.configs import config_yaml
from tests.support.recorders import Collected, recorder
from tests.support.waiting import wait_for
from vigie.analytics.detect.motion import MotionConfig
from vigie.config import VigieConfig, load_config_text
from vigie.config.camera import Authorisation
from vigie.domain.camera import CameraHealth, HealthState, Purpose
from vigie.governance.authorisation import CameraAuthorisations
from vigie.ingest.backoff import Backoff
from vigie.ingest.reader import StreamSpec
from vigie.runtime.assembly.gates import DatabaseGateFactory
from vigie.runtime.workers.analysis import WorkerSpec
from vigie.runtime.workers.recorder import RecordingHealth
from vigie.runtime.workers.supervisor import CameraSupervisor
from vigie.storage import create_engine_for, migrate

LAST_DAY = date(2026, 6, 30)
EVENING = datetime(2026, 6, 30, 20, 0, tzinfo=UTC)
"""22:00 in Paris on the last day of the ``ending`` camera's authorisation."""


def authorisation(until: date) -> Authorisation:
    return Authorisation(
        reference=f"DS-{until:%Y%m%d}",
        valid_from=until - timedelta(days=365),
        valid_until=until,
        purposes=(Purpose.CRIME_PREVENTION,),
        retention_days=15,
    )


@pytest.fixture
def config(tmp_path: Path) -> VigieConfig:
    config = load_config_text(config_yaml(tmp_path, ""))
    migrate(create_engine_for(config.storage.database_url))
    return config


def worker(config: VigieConfig, camera_id: str, url: str) -> WorkerSpec:
    return WorkerSpec(
        stream=StreamSpec(camera_id, url, analysis_fps=5, analysis_width=160, open_timeout_s=10),
        motion=MotionConfig(warmup_frames=3),
        gate=DatabaseGateFactory(config, frozenset()),
    )


def offline(sink: Collected, camera_id: str, kind: type) -> list[str]:
    return [
        m.reason
        for m in sink.messages
        if isinstance(m, kind)
        and isinstance(m, CameraHealth | RecordingHealth)
        and m.camera_id == camera_id
        and m.state is HealthState.OFFLINE
    ]


def test_an_expired_camera_is_neither_recorded_nor_analysed(
    config: VigieConfig, moving_square_video: Path, tmp_path: Path
) -> None:
    clock = FakeClock(EVENING)
    authorisations = CameraAuthorisations(
        {"expired": authorisation(LAST_DAY - timedelta(days=1)), "ending": authorisation(LAST_DAY)}, clock
    )
    url = moving_square_video.as_uri()
    sink = Collected()
    supervisor = CameraSupervisor(
        [
            worker(config, "expired", url),
            recorder(url, tmp_path / "segments", "expired"),
            worker(config, "ending", url),
            recorder(url, tmp_path / "segments", "ending"),
        ],
        sink,
        backoff=Backoff(base_s=0.2, cap_s=0.5),
        refusal=authorisations.refusal,
        clock=clock,
    )
    started: set[str] = set()

    def seen_running() -> set[str]:
        started.update(supervisor.pids())
        return started

    supervisor.start()
    try:
        wait_for(lambda: {"analysis:ending", "recorder:ending"} <= seen_running(), 20, "the ending camera's workers")
        wait_for(lambda: offline(sink, "expired", RecordingHealth), 10, "the expired camera's recorder refused")
        wait_for(lambda: offline(sink, "expired", CameraHealth), 10, "the expired camera's analysis refused")
        assert not [n for n in seen_running() if "expired" in n], f"an expired camera's worker was started: {started}"

        clock.now = datetime(2026, 6, 30, 22, 30, tzinfo=UTC)  # 00:30 in Paris: the authorisation has ended
        wait_for(lambda: not [n for n in supervisor.pids() if "ending" in n], 10, "the ending camera's workers stopped")
        wait_for(lambda: offline(sink, "ending", RecordingHealth), 10, "the ending camera's recorder reported off")
        wait_for(lambda: offline(sink, "ending", CameraHealth), 10, "the ending camera's analysis reported off")
        deadline = time.monotonic() + 2.0  # several rounds of the supervisor (0.2 s each): never restarted
        while time.monotonic() < deadline:
            assert not [n for n in supervisor.pids() if "ending" in n], "restarted after its authorisation ended"
            time.sleep(0.1)
    finally:
        supervisor.stop()
    for camera in ("expired", "ending"):
        reasons = offline(sink, camera, RecordingHealth) + offline(sink, camera, CameraHealth)
        assert any("expired on" in r for r in reasons), (camera, reasons)
    assert [s for s in sink.segments() if s.camera_id == "expired"] == []
