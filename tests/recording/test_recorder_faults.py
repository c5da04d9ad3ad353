"""Recorder workers under supervision, against the real GStreamer RTSP server: a server that dies and comes back,
a camera that answers garbage, a truncated stream, ``kill -9`` mid-segment, and a remux that keeps every frame."""

from __future__ import annotations

import hashlib
import itertools
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.recording.media import SIZE, codec_parameters, decoded, write_h264
from tests.support.recorders import Collected, MemoryIndex, recorder, supervise
from tests.support.servers import free_port
from tests.support.waiting import wait_for
from vigie.domain.camera import HealthState
from vigie.domain.recording import SegmentState
from vigie.ingest.backoff import Backoff
from vigie.recording.reconcile import reconcile_camera, scan
from vigie.runtime.workers.supervisor import CameraSupervisor
from vigie.sim.rtsp import RtspSimServer, rtsp_unavailable_reason

pytestmark = [pytest.mark.rtsp, pytest.mark.slow]


@pytest.fixture(scope="module")
def camera_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reason = rtsp_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    return write_h264(tmp_path_factory.mktemp("camera") / "camera.mp4", seconds=10.0)


def assert_consistent(root: Path, sink: Collected, camera_id: str = "cam") -> MemoryIndex:
    """Index what the recorder reported, then reconciliation must find nothing to do: disk and index agree."""
    index = MemoryIndex()
    assert sink.segments(), "nothing was recorded"
    for segment in sink.segments():
        index.add(segment)
        path = root / segment.key
        assert path.is_file(), segment.key
        assert segment.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert segment.end >= segment.start
    report = reconcile_camera(root, camera_id, index, datetime.now(UTC))
    assert report.summary() == {}, report
    assert scan(root, camera_id).partials == frozenset()
    return index


def test_kill_9_mid_segment_loses_at_most_that_segment(camera_video: Path, tmp_path: Path) -> None:
    sink = Collected()
    with RtspSimServer({"cam": camera_video}) as server:
        # 4-s segments: the recorder names the segment it writes in its heartbeat, which reaches the supervisor
        # with its group's next beat (up to 2 s later); the kill must fall inside the segment it named
        supervisor = supervise(replace(recorder(server.url("cam"), tmp_path), segment_seconds=4.0), sink)
        supervisor.start()
        try:
            wait_for(lambda: len(sink.segments()) >= 2, 30, "two segments recorded", context=sink.health)

            def writing_now() -> str | None:
                done = {s.key for s in sink.segments()}
                named = [h.writing for h in sink.health() if h.writing]
                return named[-1] if named and named[-1] not in done else None

            writing = wait_for(writing_now, 10, "the segment being written named by the recorder")
            time.sleep(0.8)  # into that segment, well before its end
            os.kill(supervisor.pids()["recorder:cam"], signal.SIGKILL)
            killed_at = datetime.now(UTC)
            wait_for(lambda: any(s.state is not SegmentState.COMPLETE for s in sink.segments()), 30, "the partial")
            wait_for(lambda: sink.segments()[-1].start > killed_at, 30, "recording to resume")
        finally:
            supervisor.stop()
    segments = sink.segments()
    (recovered,) = [s for s in segments if s.state is not SegmentState.COMPLETE]
    assert recovered.state is SegmentState.RECOVERED and recovered.key == writing
    before = [s for s in segments if s.start < recovered.start]
    assert before[-1].end == recovered.start, "everything up to the segment being written is kept"
    assert recovered.seconds >= 0.5, "the recovered partial keeps what was written before the kill"
    assert recovered.end <= killed_at + timedelta(seconds=1)
    assert_consistent(tmp_path, sink)
    assert_frames_are_the_cameras(camera_video, [tmp_path / s.key for s in segments])


def assert_frames_are_the_cameras(source: Path, paths: list[Path]) -> None:
    """(d) Every recorded frame decodes to a frame of the source, in order: codec parameters and bitstream are
    copied, nothing is re-encoded (a transcode would change the pixels)."""
    original = decoded(source)
    position = {digest: i for i, (_, _, digest) in enumerate(original)}
    assert paths, "no recording to compare"
    for path in paths:
        assert codec_parameters(path) == codec_parameters(source)
        frames = decoded(path)
        assert frames and all((w, h) == SIZE for w, h, _ in frames)
        indexes = [position.get(digest) for _, _, digest in frames]
        assert None not in indexes, f"{path.name} holds a frame that is not in the source"
        steps = {(b - a) % len(original) for a, b in itertools.pairwise(indexes)}  # type: ignore[operator]
        assert steps <= {1}, f"{path.name} skips or repeats frames: {steps}"


def test_server_killed_and_restarted_leaves_a_gap_and_recording_resumes(camera_video: Path, tmp_path: Path) -> None:
    sink = Collected()
    server = RtspSimServer({"cam": camera_video}, port=free_port())
    server.start()
    supervisor = supervise(recorder(server.url("cam"), tmp_path), sink)
    supervisor.start()
    try:
        wait_for(sink.segments, 30, "a segment recorded", context=sink.health)
        server.stop()
        killed_at = datetime.now(UTC)
        wait_for(lambda: any(h.state is HealthState.OFFLINE for h in sink.health()), 15, "the recorder offline")
        time.sleep(1.0)
        restarted_at = datetime.now(UTC)
        server.start()
        wait_for(lambda: sink.segments()[-1].start > restarted_at, 40, "recording to resume")
    finally:
        supervisor.stop()
        server.stop()
    segments = sink.segments()
    before = [s for s in segments if s.end <= killed_at + timedelta(seconds=1)]
    after = [s for s in segments if s.start >= restarted_at]
    assert before and after
    assert len(before) + len(after) == len(segments), "no segment spans the gap"
    assert after[0].start - before[-1].end >= restarted_at - killed_at - timedelta(seconds=1), "the gap shows"
    offline = [h for h in sink.health() if h.state is HealthState.OFFLINE]
    assert "stream ended" in offline[0].reason or "stream error" in offline[0].reason
    assert_consistent(tmp_path, sink)


@pytest.fixture
def garbage_server() -> Iterator[int]:
    """Answers every connection with random bytes, then hangs up: a broken camera or a wrong port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(os.urandom(4096))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    server.close()


@pytest.fixture
def truncated_stream(tmp_path: Path) -> Iterator[str]:
    """An HTTP camera whose stream stops in the middle of a packet."""
    whole = write_h264(tmp_path / "whole.ts", seconds=5.0)
    data = whole.read_bytes()
    served = tmp_path / "served"
    served.mkdir()
    (served / "cut.ts").write_bytes(data[: len(data) * 2 // 3 + 77])
    handler = partial(SimpleHTTPRequestHandler, directory=str(served))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/cut.ts"
    httpd.shutdown()
    httpd.server_close()


def test_garbage_and_truncated_streams_go_offline_with_a_reason_and_index_nothing_corrupt(
    garbage_server: int, truncated_stream: str, tmp_path: Path
) -> None:
    sink = Collected()
    garbage = recorder(f"rtsp://admin:s3cret@127.0.0.1:{garbage_server}/main", tmp_path, "garbage")
    truncated = recorder(truncated_stream, tmp_path, "truncated")
    supervisor = CameraSupervisor([garbage, truncated], sink, backoff=Backoff(base_s=5.0, cap_s=5.0))
    supervisor.start()
    try:
        offline = lambda cam: [h for h in sink.health() if h.camera_id == cam and h.state is HealthState.OFFLINE]  # noqa: E731
        wait_for(lambda: offline("garbage") and offline("truncated"), 30, "both cameras offline")
    finally:
        supervisor.stop()
    reason = offline("garbage")[0].reason
    assert "s3cret" not in reason and "admin" not in reason and f"127.0.0.1:{garbage_server}" in reason
    assert "stream ended" in offline("truncated")[0].reason
    assert [s.camera_id for s in sink.segments()] == ["truncated"] * len(sink.segments())
    assert sink.segments(), "what arrived before the cut is recorded"
    for segment in sink.segments():
        frames = decoded(tmp_path / segment.key)
        assert frames and all((w, h) == SIZE for w, h, _ in frames)
    assert_consistent(tmp_path, sink, "truncated")
    assert not (tmp_path / "garbage").exists() or not any((tmp_path / "garbage").rglob("*.ts*"))


def test_the_service_records_every_camera_and_analysis_crashes_do_not_stop_recording(tmp_path: Path) -> None:
    from tests.support.configs import camera_yaml, config_yaml
    from vigie.config import load_config_text
    from vigie.runtime.assembly.service import VigieService

    video = write_h264(tmp_path / "cam.mp4", seconds=4.0)
    config = load_config_text(config_yaml(tmp_path, camera_yaml("cam-1", video.as_uri())))
    service = VigieService(config, simulated_cameras=frozenset({"cam-1"}))
    service.reconcile_recordings()
    service.supervisor.start()
    try:
        indexed = lambda: service.segments.count(camera_id="cam-1", state=SegmentState.COMPLETE)  # noqa: E731
        wait_for(lambda: indexed() >= 1, 40, "segments of the main stream indexed by the service")
        os.kill(service.supervisor.pids()["analysis:cam-1"], signal.SIGKILL)
        before = indexed()
        wait_for(lambda: indexed() > before, 30, "recording to go on while analysis restarts")
    finally:
        service.supervisor.stop()
        service.sink.close()
    root = config.storage.data_dir / "segments"
    now = datetime.now(UTC)  # the service records in real time
    segments = service.segments.between("cam-1", now - timedelta(days=1), now + timedelta(days=1))
    assert segments and all((root / s.key).is_file() for s in segments)
    assert reconcile_camera(root, "cam-1", service.segments, datetime.now(UTC)).summary() == {}
