"""The live feed of a simulated dome: RTP/H.264 on a UDP port at its frame rate, served by the real RTSP server and
read by a real client, showing what the dome sees; it stops cleanly and a failing renderer is reported."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt
import pytest

from tests.sim.conftest import require_rtsp
from vigie.domain.ptz import DomeOptics, PtzVector
from vigie.sim.dome import SimulatedDome
from vigie.sim.dome_stream import DomeStream, DomeStreamError
from vigie.sim.panorama import panorama
from vigie.sim.rtsp import RtspSimServer, free_udp_ports

W, H, FPS = 640, 360, 10


@pytest.fixture(scope="module")
def dome() -> SimulatedDome:
    """A still dome without walkers (the picture depends only on its position)."""
    return SimulatedDome(DomeOptics(), panorama(), time.monotonic, walkers=False)


def receive(port: int, seconds: float) -> list[bytes]:
    packets: list[bytes] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", port))
        rx.settimeout(0.2)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                packets.append(rx.recv(65536))
            except TimeoutError:
                continue
    return packets


def nal_types(packet: bytes) -> set[int]:
    """The H.264 NAL unit types an RTP packet carries (RFC 6184: single NAL, STAP-A, FU-A start)."""
    payload = packet[12:]
    kind = payload[0] & 0x1F
    if kind == 28:  # FU-A: the type is in the FU header
        return {payload[1] & 0x1F} if payload[1] & 0x80 else set()
    if kind == 24:  # STAP-A: 16-bit sizes then units
        found, pos = set(), 1
        while pos + 2 < len(payload):
            size = int.from_bytes(payload[pos : pos + 2], "big")
            found.add(payload[pos + 2] & 0x1F)
            pos += 2 + size
        return found
    return {kind}


def test_the_feed_sends_h264_rtp_at_its_frame_rate_with_a_keyframe_every_second(dome: SimulatedDome) -> None:
    [port] = free_udp_ports(1)
    with DomeStream(dome, port, width=W, height=H, fps=FPS) as feed:
        packets = receive(port, 3.0)
        feed.check()
    assert packets, "no RTP packet arrived"
    assert all(p[0] >> 6 == 2 and p[1] & 0x7F == 96 for p in packets), "RTP version 2, H.264 payload type 96"
    assert max(len(p) for p in packets) <= 1200
    stamps = sorted({int.from_bytes(p[4:8], "big") for p in packets})
    assert 2.5 * FPS <= len(stamps) <= 3.5 * FPS, f"{len(stamps)} frames in 3 s at {FPS} fps"
    steps = np.diff(stamps)
    assert np.median(steps) == 90_000 // FPS, "one frame every 1/fps s on the 90 kHz RTP clock"
    idr = [i for i, p in enumerate(packets) if 5 in nal_types(p)]
    sps = [i for i, p in enumerate(packets) if 7 in nal_types(p)]
    keyframes = {int.from_bytes(packets[i][4:8], "big") for i in idr}
    assert 2 <= len(keyframes) <= 4, f"{len(keyframes)} keyframes in 3 s (one a second)"
    assert len(sps) >= len(keyframes) - 1, "SPS repeated before the keyframes (the server learns it from the stream)"


def open_sockets() -> int:
    """Sockets this process holds (Linux)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except FileNotFoundError:  # the listing's own descriptor, closed meanwhile
            continue
    return count


def test_stop_ends_the_thread_closes_its_socket_and_sends_nothing_more(dome: SimulatedDome) -> None:
    [port] = free_udp_ports(1)
    before, threads = open_sockets(), threading.active_count()
    feed = DomeStream(dome, port, width=W, height=H, fps=FPS)
    feed.start()
    assert receive(port, 0.5), "the feed sends"
    feed.stop()
    assert not feed.running
    assert threading.active_count() == threads
    assert open_sockets() == before, "the RTP socket is closed"
    assert receive(port, 0.5) == [], "nothing is sent after stop"
    feed.stop()  # twice is fine


class Broken:
    def frame(self, width: int, height: int) -> npt.NDArray[np.uint8]:
        raise RuntimeError("renderer exploded")


def test_a_renderer_error_stops_the_feed_and_check_reports_it() -> None:
    [port] = free_udp_ports(1)
    feed = DomeStream(Broken(), port, width=W, height=H, fps=FPS)
    feed.start()
    deadline = time.monotonic() + 5
    while feed.running and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(DomeStreamError, match="renderer exploded"):
        feed.check()
    feed.stop()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"port": 0}, "out of range"), ({"width": 641}, "even sizes"), ({"fps": 60}, "1 to 30")],
)
def test_bad_settings_are_named(dome: SimulatedDome, kwargs: dict[str, int], message: str) -> None:
    settings = {"port": 5004, "width": W, "height": H, "fps": FPS, **kwargs}
    with pytest.raises(ValueError, match=message):
        DomeStream(dome, settings["port"], width=settings["width"], height=settings["height"], fps=settings["fps"])


def read_frame(url: str, skip: int = 3) -> npt.NDArray[np.uint8]:
    """A decoded BGR frame of the RTSP stream (after ``skip`` frames: past the first GOP's start)."""
    with av.open(url, options={"rtsp_transport": "tcp"}, timeout=(15.0, 10.0)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index >= skip:
                return np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
    raise AssertionError("the stream ended")


def psnr(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> float:
    return float(cv2.PSNR(a, b))


@pytest.mark.rtsp
@pytest.mark.slow
def test_an_rtsp_client_sees_the_dome_and_the_picture_follows_a_move(dome: SimulatedDome, tmp_path: Path) -> None:
    require_rtsp()
    [port] = free_udp_ports(1)
    dome.absolute_move(PtzVector(0.0, 0.0, 0.0))
    with DomeStream(dome, port, width=W, height=H, fps=FPS) as feed, RtspSimServer({"dome": port}) as server:
        url = server.url("dome")
        first = read_frame(url)
        assert first.shape == (H, W, 3)
        expected = dome.frame(W, H)
        assert psnr(first, expected) > 28, "the client sees what the dome sees (H.264 at ultrafast: > 28 dB)"
        dome.absolute_move(PtzVector(0.5, -0.1, 0.3))  # 90 deg to the right, lower, zoomed in
        while dome.status().moving:
            time.sleep(0.05)
        moved = read_frame(url)
        after = dome.frame(W, H)
        assert psnr(moved, after) > 28, "the client sees the dome's new view"
        assert psnr(moved, first) < 18, "the picture changed with the move"
        feed.check()
