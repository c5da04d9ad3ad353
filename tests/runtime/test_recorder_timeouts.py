"""A live RTSP camera that stops sending (issue 16): the recorder's read still times out, now by FFmpeg's socket
timeout rather than PyAV's GIL-taking read callback. Real GStreamer RTSP server, frozen with SIGSTOP."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.recording.media import write_h264
from tests.support.recorders import recorder
from vigie.domain.camera import HealthState
from vigie.runtime.workers.recorder import RecorderMessage, RecorderStopped, RecordingHealth, record_camera
from vigie.sim.rtsp import RtspSimServer, rtsp_unavailable_reason

pytestmark = [pytest.mark.rtsp, pytest.mark.slow]


class Sink:
    def __init__(self) -> None:
        self.items: list[RecorderMessage] = []

    def put(self, item: RecorderMessage, block: bool = True, timeout: float | None = None) -> None:
        self.items.append(item)


def test_a_camera_that_goes_silent_times_out_and_is_reported_offline(tmp_path: Path) -> None:
    reason = rtsp_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    video = write_h264(tmp_path / "camera.mp4", seconds=4.0)
    sink, stop = Sink(), threading.Event()
    flowing = threading.Event()
    with RtspSimServer({"cam": video}) as server:
        spec = recorder(server.url("cam"), tmp_path / "store")  # read timeout 3 s
        errors: list[BaseException] = []

        def run() -> None:
            try:
                record_camera(spec, sink, stop, flowing.set)
            except RecorderStopped as err:
                errors.append(err)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        try:
            assert flowing.wait(30), "the recorder never received a packet"
            for pid in server.pids:
                os.kill(pid, signal.SIGSTOP)
            frozen = time.monotonic()
            thread.join(20)
            waited = time.monotonic() - frozen
        finally:
            stop.set()
            for pid in server.pids:
                os.kill(pid, signal.SIGCONT)
    assert not thread.is_alive(), "a silent camera blocked its reader for good"
    assert waited < 15, f"the read timeout (3 s) took {waited:.1f} s"
    assert [e.code for e in errors if isinstance(e, RecorderStopped)] == [1]
    offline = [m for m in sink.items if isinstance(m, RecordingHealth) and m.state is HealthState.OFFLINE]
    assert offline and "recording stopped" in offline[-1].reason
