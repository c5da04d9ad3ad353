"""The recording-gap alarm with a real recorder (issue 17): a camera's RTSP server goes away for longer than two
segment lengths while a real supervisor records it; the service's monitor, fed what the supervisor passes on (as
the sink does), raises the alarm, and clears it when the camera's next segment arrives after the server is back."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.recording.media import write_h264
from tests.support.recorders import recorder
from tests.support.servers import free_port
from tests.support.waiting import wait_for
from vigie.domain.recording import Segment
from vigie.ingest.backoff import Backoff
from vigie.recording.gaps import GapWatch
from vigie.runtime.workers.monitor import ServiceMonitor
from vigie.runtime.workers.supervisor import CameraSupervisor, SupervisedMessage
from vigie.sim.rtsp import RtspSimServer, rtsp_unavailable_reason

pytestmark = [pytest.mark.rtsp, pytest.mark.slow]
SEGMENT_S = 2.0


def now() -> datetime:
    return datetime.now(UTC)


def test_a_camera_gone_longer_than_two_segments_raises_the_alarm_until_it_records_again(tmp_path: Path) -> None:
    reason = rtsp_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    video = write_h264(tmp_path / "camera.mp4", seconds=10.0)
    server = RtspSimServer({"cam": video}, port=free_port())
    monitor = ServiceMonitor(["cam"], GapWatch(SEGMENT_S), clock=now)
    segments: list[Segment] = []

    def sink(msg: SupervisedMessage) -> None:
        monitor.observe(msg)
        if isinstance(msg, Segment):
            segments.append(msg)

    server.start()
    try:
        spec = recorder(server.url("cam"), tmp_path / "segments")
        assert spec.segment_seconds == SEGMENT_S
        supervisor = CameraSupervisor(
            [spec], sink, stall_timeout_s=10.0, backoff=Backoff(base_s=0.3, cap_s=1.0), tick=lambda: monitor.tick(now())
        )
    except BaseException:
        server.stop()
        raise
    supervisor.start()
    try:
        wait_for(lambda: monitor.snapshot().cameras[0].packets_per_s > 0, 30, "the camera recording")
        wait_for(lambda: monitor.recent_gaps() == [] and len(segments) > 3, 30, "segments without a gap")
        server.stop()
        stopped = now()
        wait_for(monitor.open_gaps, 2 * SEGMENT_S + 10, "the alarm raised while the camera is gone")
        [alarm] = monitor.open_gaps()
        assert alarm.camera_id == "cam" and alarm.start <= stopped + timedelta(seconds=SEGMENT_S)
        time.sleep(1.0)
        server.start()
        restarted = now()
        wait_for(lambda: not monitor.open_gaps(), 40, "the alarm cleared once recording resumed")
    finally:
        supervisor.stop()
        server.stop()
    [gap] = monitor.recent_gaps()
    assert gap.end is not None and gap.end >= restarted - timedelta(seconds=1)
    assert gap.seconds(now()) >= (restarted - stopped).total_seconds() - SEGMENT_S
    figures = monitor.snapshot().cameras[0]
    assert figures.gaps == 1 and figures.open_gap_since is None
