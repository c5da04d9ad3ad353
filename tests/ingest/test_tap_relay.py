"""A recorder's live tap served to the API processes of a cluster (issue 17): a node's relay forwards the tap's
bytes unchanged to a reader holding a token of the installation's key for that camera, refuses anyone else, bounds
its readers, and a reader follows its camera to another node."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import io
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import av
import numpy as np
import pytest

from tests.recording.media import SIZE, write_h264
from tests.support.servers import free_port
from tests.support.waiting import wait_for
from vigie.domain.live_endpoint import LiveEndpoint
from vigie.ingest.live_fmp4 import Fmp4Feed, Fmp4Fragment, Fmp4Item, Fmp4Spec, camera_packets
from vigie.ingest.masking import mask_raster
from vigie.ingest.packets import PacketSpec
from vigie.ingest.reader import CameraError
from vigie.ingest.tap_relay import (
    AUTH_SCHEME,
    CLOCK_SKEW_S,
    KEY_ENV,
    TOKEN_TTL_S,
    RelayedTaps,
    RelayPlan,
    TapRelay,
    node_key,
    relayed_url,
    tap_token,
)
from vigie.runtime.workers.recorder import RecorderMessage, RecorderSpec, run_recorder

KEY = bytes(range(32))
MASK = ((0.10, 0.10), (0.50, 0.10), (0.50, 0.65), (0.10, 0.65))
WIDTH, HEIGHT = SIZE


def plan(**changes: int) -> RelayPlan:
    return RelayPlan(first_port=free_port(), ports=20, **changes)


class ByteTap:
    """A Unix socket that sends every reader the same bytes, then holds the connection open (``hold``) or closes
    it: what the relay forwards, whatever it is."""

    def __init__(self, path: Path, data: bytes, *, hold: bool = False) -> None:
        self.data, self.hold = data, hold
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(str(path))
        self.server.listen(16)
        self.server.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._send, args=(conn,), daemon=True).start()

    def _send(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.sendall(self.data)
            while self.hold and not self.stop.wait(0.1):
                pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.server.close()


@pytest.fixture
def byte_relay(tmp_path: Path) -> Iterator[tuple[TapRelay, bytes]]:
    data = os.urandom(3 << 20)
    tap = ByteTap(tmp_path / "cam-1.sock", data)
    relay = TapRelay({"cam-1": tmp_path / "cam-1.sock"}, KEY, plan())
    yield relay, data
    relay.close()
    tap.close()


def request(relay: TapRelay, camera: str, authorization: str | None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", relay.port, timeout=10)
    headers = {} if authorization is None else {"Authorization": authorization}
    conn.request("GET", f"/tap/{camera}", headers=headers)
    return conn.getresponse()


def token(camera: str, expires: float, key: bytes = KEY) -> str:
    return f"{AUTH_SCHEME} {tap_token(key, camera, int(expires))}"


def test_the_tap_bytes_reach_a_reader_with_a_token_intact(byte_relay: tuple[TapRelay, bytes]) -> None:
    relay, data = byte_relay
    response = request(relay, "cam-1", token("cam-1", time.time() + TOKEN_TTL_S))
    assert response.status == 200 and response.getheader("Content-Type") == "video/mp2t"
    assert response.read() == data, "every byte of the tap, in order, nothing added"


NOW = 1_800_000_000.0
"""The relay's clock in the token tests (injected: what is expired does not depend on when the test runs)."""


@pytest.mark.parametrize(
    ("camera", "authorization", "status"),
    [
        ("cam-1", None, 403),  # no token
        ("cam-1", token("cam-1", NOW + 30, key=bytes(32)), 403),  # another installation's key
        ("cam-1", token("cam-2", NOW + 30), 403),  # a token of another camera
        ("cam-1", token("cam-1", NOW - CLOCK_SKEW_S - 5), 403),  # expired
        ("cam-1", token("cam-1", NOW + TOKEN_TTL_S + CLOCK_SKEW_S + 60), 403),  # valid too far ahead
        ("cam-1", f"{AUTH_SCHEME} {int(NOW) + 30}.{'0' * 64}", 403),  # forged
        ("cam-1", f"Bearer {tap_token(KEY, 'cam-1', int(NOW) + 30)}", 403),  # another scheme
        ("cam-9", token("cam-9", NOW + 30), 404),  # not a camera of this group
    ],
)
def test_a_reader_without_a_valid_token_for_the_camera_gets_nothing(
    tmp_path: Path, camera: str, authorization: str | None, status: int
) -> None:
    data = os.urandom(1 << 16)
    tap = ByteTap(tmp_path / "cam-1.sock", data)
    relay = TapRelay({"cam-1": tmp_path / "cam-1.sock"}, KEY, plan(), now=lambda: NOW)
    try:
        response = request(relay, camera, authorization)
        body = response.read()
        assert response.status == status
        assert data[:64] not in body and len(body) < 4096, "not one byte of the stream"
        assert relay.refused == 1
        accepted = request(relay, "cam-1", token("cam-1", NOW - CLOCK_SKEW_S + 1))  # late but within the skew
        assert accepted.status == 200 and accepted.read() == data
    finally:
        relay.close()
        tap.close()


def test_readers_per_camera_are_bounded_and_a_place_frees_when_one_leaves(tmp_path: Path) -> None:
    tap = ByteTap(tmp_path / "cam-1.sock", b"\x47" * 188, hold=True)
    relay = TapRelay({"cam-1": tmp_path / "cam-1.sock"}, KEY, plan(readers_per_camera=2))
    try:
        first, second = (request(relay, "cam-1", token("cam-1", time.time() + 30)) for _ in range(2))
        assert first.status == second.status == 200
        third = request(relay, "cam-1", token("cam-1", time.time() + 30))
        assert third.status == 503 and b"already 2 readers" in third.read()
        first.close()
        wait_for(lambda: relay.readers("cam-1") == 1, 15, "the relay to see a reader leave")
        assert request(relay, "cam-1", token("cam-1", time.time() + 30)).status == 200
        second.close()
    finally:
        relay.close()
        tap.close()


def test_connections_are_bounded_before_any_request_is_read(tmp_path: Path) -> None:
    relay = TapRelay({}, KEY, plan(max_connections=2))
    try:
        idle = [socket.create_connection(("127.0.0.1", relay.port)) for _ in range(2)]  # say nothing
        extra = socket.create_connection(("127.0.0.1", relay.port))
        extra.settimeout(5)
        assert extra.recv(1) == b"", "a connection over the bound is closed at once"
        for conn in [*idle, extra]:
            conn.close()
    finally:
        relay.close()


def test_groups_of_one_node_take_the_next_free_port_and_a_full_range_says_which_setting(tmp_path: Path) -> None:
    first = TapRelay({}, KEY, RelayPlan(first_port=free_port(), ports=3))
    try:
        second = TapRelay({}, KEY, RelayPlan(first_port=first.port, ports=3))
        assert second.port != first.port
        second.close()
        with pytest.raises(RuntimeError, match=r"cluster\.live_ports"):
            TapRelay({}, KEY, RelayPlan(first_port=first.port, ports=1))
    finally:
        first.close()


def test_a_node_reads_the_key_from_its_environment_and_refuses_a_malformed_one() -> None:
    assert node_key({KEY_ENV: KEY.hex()}) == KEY
    assert node_key({}) is None
    with pytest.raises(ValueError, match=KEY_ENV):
        node_key({KEY_ENV: "not-hex"})


# --- Through the API processes' side: fMP4 of a masked camera recorded on another node ------------------------


class Endpoints:
    """Where the control plane says each camera is served (the database in production, a dict here)."""

    def __init__(self) -> None:
        self.rows: dict[str, LiveEndpoint] = {}

    def get(self, camera_id: str) -> LiveEndpoint | None:
        return self.rows.get(camera_id)

    def serve(self, camera_id: str, relay: TapRelay) -> None:
        self.rows[camera_id] = LiveEndpoint(camera_id, "127.0.0.1", relay.port, "rec-0", datetime.now(UTC))


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_h264(tmp_path_factory.mktemp("relay") / "camera.ts", seconds=4.0)


@contextlib.contextmanager
def recording(video: Path, tmp_path: Path) -> Iterator[Path]:
    """A real recorder of a masked camera with its live tap (the masks burnt in), in a thread."""
    path = tmp_path / "live" / "cam.sock"
    spec = RecorderSpec(PacketSpec("cam", video.as_uri()), tmp_path / "segments", 1.0, masks=(MASK,), live_tap=path)
    out: queue.Queue[RecorderMessage] = queue.Queue()
    stop = threading.Event()
    thread = threading.Thread(target=run_recorder, args=(spec, out, stop), daemon=True)
    thread.start()
    try:
        wait_for(path.exists, 10, "the tap listening")
        yield path
    finally:
        stop.set()
        thread.join(10)


def watch(feed: Fmp4Feed, fragments: int, midway: Callable[[], None]) -> tuple[list[Fmp4Item], list[Fmp4Item]]:
    """One viewer: ``fragments`` fragments, then ``midway()``, then ``fragments`` more (init segments kept)."""

    async def run() -> tuple[list[Fmp4Item], list[Fmp4Item]]:
        viewer = feed.subscribe()
        parts: list[list[Fmp4Item]] = [[], []]
        for index, part in enumerate(parts):
            deadline = time.monotonic() + 20
            while sum(isinstance(i, Fmp4Fragment) for i in part) < fragments and time.monotonic() < deadline:
                part.extend(await feed.next_items(viewer, 1.0))
            if index == 0:
                midway()
        feed.unsubscribe(viewer)
        return parts[0], parts[1]

    return asyncio.run(run())


def masked_frames(items: list[Fmp4Item]) -> list[np.ndarray]:
    with av.open(io.BytesIO(b"".join(i.data for i in items))) as container:
        return [f.to_ndarray(format="gray") for f in container.decode(video=0)]


def inside_mask() -> np.ndarray:
    import cv2

    raster = mask_raster([MASK], WIDTH, HEIGHT).astype(np.uint8)
    return cv2.erode(raster, np.ones((17, 17), np.uint8)).astype(bool)


def test_an_api_process_gets_a_masked_cameras_fmp4_from_the_node_and_follows_it_to_another(
    video: Path, tmp_path: Path
) -> None:
    """The API side looks the camera's relay up at each opening: its node gone and the camera served by another,
    the same feed goes on from the new node; the stream is the masked one throughout."""
    endpoints = Endpoints()
    direct = partial(camera_packets, clock=lambda: datetime.now(UTC))
    relayed = RelayedTaps(endpoints, KEY, lambda: datetime.now(UTC), direct)
    feed = Fmp4Feed(Fmp4Spec("cam", relayed_url("cam"), idle_s=0.5), relayed, retry_s=(0.2, 0.5))
    assert not relayed.reachable(relayed_url("cam")), "served nowhere yet"
    with pytest.raises(CameraError, match="no node"):
        relayed(Fmp4Spec("cam", relayed_url("cam")))
    with recording(video, tmp_path) as tap:
        old_node = TapRelay({"cam": tap}, KEY, plan())
        new_node = TapRelay({"cam": tap}, KEY, plan())
        endpoints.serve("cam", old_node)
        assert relayed.reachable(relayed_url("cam"))

        def move() -> None:
            assert old_node.readers("cam") == 1, "one reader for every viewer of this API process"
            endpoints.serve("cam", new_node)  # the control plane records the move
            old_node.close()  # the old node's group stops: its readers are cut

        before, after = watch(feed, 15, move)
        assert new_node.readers("cam") == 1 and feed.opened == 2
        feed.close()
        feed.join(5)
        new_node.close()
    frames = masked_frames(before + after)  # what the player got: one stream across the move
    assert len(frames) >= 28, feed.error
    for grey in frames:
        assert grey.shape == (HEIGHT, WIDTH)
        assert grey[inside_mask()].max() <= 4, "the relay serves the masked stream, never the raw one"
