"""Camera workers under supervision: good cameras report, broken ones go offline with a reason, stuck ones are
killed from outside, and none of this takes the others down. Real processes, real PyAV, real sockets."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests.support.configs import config_yaml
from tests.support.servers import free_port
from tests.support.videos import write_moving_square_video
from tests.support.waiting import wait_for
from vigie.analytics.detect.motion import MotionConfig
from vigie.config import VigieConfig, load_config_text
from vigie.domain.camera import CameraHealth, HealthState, StreamAlarm, StreamAlarmKind
from vigie.domain.observation import Observation
from vigie.ingest.alarms import StreamAlarmConfig
from vigie.ingest.backoff import Backoff
from vigie.ingest.reader import StreamSpec
from vigie.runtime.assembly.gates import DatabaseGateFactory
from vigie.runtime.workers.analysis import WorkerMessage, WorkerSpec
from vigie.runtime.workers.supervisor import CameraSupervisor
from vigie.storage import create_engine_for, migrate


class Collected:
    def __init__(self) -> None:
        self.messages: list[WorkerMessage] = []
        self._lock = threading.Lock()

    def __call__(self, msg: WorkerMessage) -> None:
        with self._lock:
            self.messages.append(msg)

    def health(self, camera_id: str) -> list[CameraHealth]:
        with self._lock:
            return [m for m in self.messages if isinstance(m, CameraHealth) and m.camera_id == camera_id]

    def observations(self, camera_id: str) -> list[Observation]:
        with self._lock:
            return [m for m in self.messages if isinstance(m, Observation) and m.camera_id == camera_id]


@pytest.fixture
def config(tmp_path: Path) -> VigieConfig:
    """A migrated database and a configuration without activations: only simulated footage may be analysed."""
    config = load_config_text(config_yaml(tmp_path, ""))
    migrate(create_engine_for(config.storage.database_url))
    return config


def spec(
    config: VigieConfig, camera_id: str, url: str, simulated: bool = True, open_timeout: float = 10.0
) -> WorkerSpec:
    gate = DatabaseGateFactory(config, frozenset({camera_id}) if simulated else frozenset())
    return WorkerSpec(
        stream=StreamSpec(camera_id, url, analysis_fps=5, analysis_width=320, open_timeout_s=open_timeout),
        motion=MotionConfig(warmup_frames=3),
        gate=gate,
    )


def test_good_camera_online_broken_camera_offline_with_redacted_reason(
    config: VigieConfig, moving_square_video: Path
) -> None:
    closed_port = free_port()
    sink = Collected()
    supervisor = CameraSupervisor(
        [
            spec(config, "good", moving_square_video.as_uri()),
            spec(config, "broken", f"rtsp://admin:s3cr3t@127.0.0.1:{closed_port}/live"),
            spec(config, "missing", "file:///nonexistent/cam.mp4"),
        ],
        sink,
        backoff=Backoff(base_s=0.5, cap_s=1.0),
    )
    supervisor.start()
    try:
        wait_for(lambda: any(h.state is HealthState.ONLINE for h in sink.health("good")), 20, "the good camera online")
        wait_for(lambda: sink.observations("good"), 20, "motion in the video observed")
        wait_for(lambda: any(h.state is HealthState.OFFLINE for h in sink.health("broken")), 20, "broken offline")
        wait_for(lambda: any(h.state is HealthState.OFFLINE for h in sink.health("missing")), 20, "missing offline")
        # it keeps retrying the broken camera, and the good one keeps going
        retries_before = len(sink.health("broken"))
        observed_before = len(sink.observations("good")) + len(sink.health("good"))
        wait_for(
            lambda: len(sink.observations("good")) + len(sink.health("good")) > observed_before,
            10,
            "the good camera still reporting",
        )
    finally:
        supervisor.stop()
    broken = sink.health("broken")
    assert retries_before >= 1
    assert all("s3cr3t" not in h.reason and "admin" not in h.reason for h in broken)
    assert any("127.0.0.1" in h.reason for h in broken), "the reason must say which camera address failed"
    assert "no such file" in sink.health("missing")[0].reason


def test_a_stuck_camera_is_killed_from_outside_and_reported(config: VigieConfig, silent_tcp_server: int) -> None:
    sink = Collected()
    url = f"rtsp://operator:pw123@127.0.0.1:{silent_tcp_server}/stream"
    supervisor = CameraSupervisor(
        [spec(config, "stuck", url, open_timeout=120.0)],
        sink,
        stall_timeout_s=2.0,
        backoff=Backoff(base_s=0.2, cap_s=0.5),
    )
    started = time.monotonic()
    supervisor.start()
    try:
        wait_for(lambda: any(h.state is HealthState.OFFLINE for h in sink.health("stuck")), 15, "stuck offline")
    finally:
        supervisor.stop()
    assert time.monotonic() - started < 15, "the supervisor must not wait for FFmpeg's own timeout (120 s)"
    reason = sink.health("stuck")[0].reason
    assert "no frames" in reason and "pw123" not in reason


def test_no_observation_without_the_gate(config: VigieConfig, moving_square_video: Path) -> None:
    sink = Collected()
    supervisor = CameraSupervisor([spec(config, "real", moving_square_video.as_uri(), simulated=False)], sink)
    supervisor.start()
    try:
        wait_for(
            lambda: len([h for h in sink.health("real") if h.state is HealthState.ONLINE]) >= 3,
            20,
            "three online reports",
        )
    finally:
        supervisor.stop()
    assert sink.observations("real") == []


def test_a_frozen_picture_raises_a_stream_alarm_and_degrades_the_camera(config: VigieConfig, tmp_path: Path) -> None:
    frozen = write_moving_square_video(tmp_path / "frozen.mp4", seconds=3, moving=False)
    sink = Collected()
    frozen_spec = replace(
        spec(config, "frozen", frozen.as_uri()), alarms=StreamAlarmConfig(frozen_s=1.5, no_packets_s=2.0)
    )
    supervisor = CameraSupervisor([frozen_spec], sink)
    supervisor.start()
    try:
        wait_for(lambda: any(h.state is HealthState.DEGRADED for h in sink.health("frozen")), 20, "frozen degraded")
        time.sleep(2.0)  # past no_packets_s: frames keep arriving, so no "no packets" alarm may appear
    finally:
        supervisor.stop()
    alarms = [m for m in sink.messages if isinstance(m, StreamAlarm)]
    assert alarms and alarms[0].kind is StreamAlarmKind.FROZEN_PICTURE and not alarms[0].cleared
    degraded = next(h for h in sink.health("frozen") if h.state is HealthState.DEGRADED)
    assert "frozen_picture" in degraded.reason
    assert all(a.kind is not StreamAlarmKind.NO_PACKETS for a in alarms), "frames arriving mean packets arrive"
