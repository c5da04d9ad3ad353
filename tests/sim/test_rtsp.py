"""The RTSP simulator as a server: real GStreamer rtsp-server, real ffmpeg feeders, real RTSP clients."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import av
import pytest

from tests.sim.conftest import require_rtsp
from tests.sim.sample_scenes import small_scene_data
from tests.support.servers import free_port
from vigie.sim import render
from vigie.sim.rtsp import RtspServerError, RtspSimServer, RtspUnavailableError, cached_render
from vigie.sim.scene import Scene

pytestmark = pytest.mark.rtsp


@pytest.fixture(scope="module")
def small_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_rtsp()
    path = tmp_path_factory.mktemp("rtsp") / "small.mp4"
    render(Scene.model_validate(small_scene_data()), path)
    return path


def _decode(url: str, wanted: int, results: dict[str, object], key: str) -> None:
    try:
        with av.open(url, options={"rtsp_transport": "tcp"}, timeout=(15.0, 10.0)) as container:
            sizes = []
            for frame in container.decode(video=0):
                sizes.append((frame.width, frame.height))
                if len(sizes) >= wanted:
                    break
        results[key] = sizes
    except Exception as err:  # reported by the test thread
        results[key] = err


def test_two_clients_decode_live_frames(small_video: Path) -> None:
    with RtspSimServer({"cam1": small_video, "cam2": small_video}) as server:
        assert server.url("cam1").startswith("rtsp://127.0.0.1:")
        results: dict[str, object] = {}
        clients = [
            threading.Thread(target=_decode, args=(server.url(mount), 10, results, f"{mount}-{i}"))
            for i, mount in enumerate(("cam1", "cam1", "cam2"))
        ]
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=40)
        pids = server.pids
        assert len(pids) == 3  # server + one feeder per mount
    for key, sizes in results.items():
        assert isinstance(sizes, list), f"{key}: {sizes!r}"
        assert len(sizes) >= 10 and set(sizes) == {(320, 180)}, key
    assert len(results) == 3
    for pid in pids:  # stopped and reaped: no orphan left behind
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_unknown_mount_and_missing_video(small_video: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="cam9"):
        RtspSimServer({"cam9": tmp_path / "absent.mp4"}).start()
    server = RtspSimServer({"cam1": small_video})
    with pytest.raises(RuntimeError, match="not started"):
        server.url("cam1")


def test_missing_gstreamer_names_the_debian_package(small_video: Path, tmp_path: Path) -> None:
    fake_python = tmp_path / "python3"
    fake_python.write_text("#!/bin/sh\necho 'ModuleNotFoundError: No module named gi' >&2\nexit 1\n")
    fake_python.chmod(0o755)
    with pytest.raises(RtspUnavailableError, match=r"gir1\.2-gst-rtsp-server-1\.0"):
        RtspSimServer({"cam1": small_video}, python=fake_python).start()


def test_cached_render_renders_once(tmp_path: Path) -> None:
    scene = Scene.model_validate(small_scene_data() | {"duration_s": 1, "situations": []})
    first = cached_render(scene, tmp_path)
    mtime = first.stat().st_mtime_ns
    assert cached_render(scene, tmp_path) == first and first.stat().st_mtime_ns == mtime
    other = cached_render(scene.model_copy(update={"seed": 99}), tmp_path)
    assert other != first


def test_a_server_started_before_its_files_exist_serves_them_once_its_feeders_start(
    small_video: Path, tmp_path: Path
) -> None:
    # vigie demo starts the server while its scenes render, and the feeders once they are rendered
    later = tmp_path / "later.mp4"
    server = RtspSimServer({"cam1": later}, port=free_port())
    with pytest.raises(RtspServerError, match="call launch_server"):
        server.launch_feeders()
    try:
        server.launch_server()
        with pytest.raises(FileNotFoundError, match="cam1"):  # still rendering: named, and everything stopped
            server.launch_feeders()
        assert server.pids == ()
        server.launch_server()
        later.write_bytes(small_video.read_bytes())
        server.launch_feeders()
        server.wait_ready()
        assert len(server.pids) == 2  # the server and the mount's feeder
        results: dict[str, object] = {}
        _decode(server.url("cam1"), 5, results, "cam1")
        assert isinstance(results["cam1"], list) and set(results["cam1"]) == {(320, 180)}, results
    finally:
        server.stop()


def test_a_mount_that_gets_no_stream_is_named_when_the_server_gives_up(tmp_path: Path) -> None:
    require_rtsp()
    from vigie.sim.rtsp import RtspServerError, free_udp_ports

    (silent,) = free_udp_ports(1)  # a mount fed by a UDP port nothing sends to (a dome's feed that never came)
    with pytest.raises(RtspServerError, match="mount 'silent' got no stream"):
        RtspSimServer({"silent": silent}, start_timeout_s=4.0).start()


@pytest.mark.slow
def test_a_feeder_later_than_gstreamers_20_s_preroll_limit_is_waited_for(small_video: Path) -> None:
    # GStreamer answers 503 to a mount whose media did not preroll within 20 s; a loaded machine (the CI's, a laptop
    # running the demo) can start a feeder that late: the server asks again while its start time lasts.
    from vigie.sim.rtsp import _feeder_command, free_udp_ports

    (port,) = free_udp_ports(1)
    feeders: list[subprocess.Popen[bytes]] = []
    timer = threading.Timer(22.0, lambda: feeders.append(subprocess.Popen(_feeder_command(small_video, port))))
    timer.start()
    try:
        with RtspSimServer({"late": port}, start_timeout_s=45.0) as server:
            assert feeders, "ready before anything was sent"
            results: dict[str, object] = {}
            _decode(server.url("late"), 5, results, "late")
            assert isinstance(results["late"], list) and len(results["late"]) >= 5, results
    finally:
        timer.cancel()
        for feeder in feeders:
            feeder.terminate()
            feeder.wait(5)
