"""A masked camera's live view comes from the recorder's masked stream (issue 16, L6): the recorder offers the
packets it writes on a private Unix socket; a reader gets H.264 in which the masks are burnt in, starting at a
keyframe, and a reader that does not read never holds the recording back."""

from __future__ import annotations

import contextlib
import io
import os
import queue
import socket
import stat
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest

from tests.recording.media import SIZE, write_h264
from tests.support.waiting import wait_for
from vigie.domain.recording import Segment
from vigie.ingest.masking import mask_raster
from vigie.ingest.packets import PacketSpec
from vigie.ingest.tap import MAX_SOCKET_PATH, tap_listening, tap_path, tap_url
from vigie.runtime.workers.recorder import RecorderMessage, RecorderSpec, run_recorder

MASK = ((0.10, 0.10), (0.50, 0.10), (0.50, 0.65), (0.10, 0.65))
WIDTH, HEIGHT = SIZE


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_h264(tmp_path_factory.mktemp("tap") / "camera.ts", seconds=4.0)


class Recording:
    """The recorder body on a looped, real-time file source with masks and a tap, in a thread."""

    def __init__(self, video: Path, root: Path, path: Path, *, masked: bool = True) -> None:
        masks = (MASK,) if masked else ()
        self.spec = RecorderSpec(PacketSpec("cam", video.as_uri()), root, 1.0, masks=masks, live_tap=path)
        self.out: queue.Queue[RecorderMessage] = queue.Queue()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=run_recorder, args=(self.spec, self.out, self.stop), daemon=True)

    def __enter__(self) -> Recording:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(10)

    def segments(self) -> list[Segment]:
        return [m for m in list(self.out.queue) if isinstance(m, Segment)]


def inside_mask() -> np.ndarray:
    raster = mask_raster([MASK], WIDTH, HEIGHT).astype(np.uint8)
    import cv2

    return cv2.erode(raster, np.ones((17, 17), np.uint8)).astype(bool)


def test_the_live_reader_gets_the_masked_stream_from_a_keyframe(video: Path, tmp_path: Path) -> None:
    path = tmp_path / "live" / "cam.sock"
    with Recording(video, tmp_path / "segments", path):
        wait_for(path.exists, 10, "the tap listening")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, "only the service's user may read the live stream"
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        with av.open(tap_url(path), format="mpegts", timeout=10) as container:
            frames = []
            for frame in container.decode(video=0):
                frames.append((frame.key_frame, frame.to_ndarray(format="gray")))
                if len(frames) >= 25:
                    break
    assert frames[0][0], "a reader starts at a keyframe (nothing to show before it)"
    for _, grey in frames:
        assert grey.shape == (HEIGHT, WIDTH)
        hidden = grey[inside_mask()].astype(np.int16)
        assert hidden.max() <= 4, "the live view shows the masks burnt in, never the raw stream"
    assert not path.exists(), "the socket is removed when recording stops"


def test_a_reader_that_does_not_read_never_holds_the_recording_back(video: Path, tmp_path: Path) -> None:
    path = tmp_path / "live" / "cam.sock"
    with Recording(video, tmp_path / "segments", path) as recording:
        wait_for(path.exists, 10, "the tap listening")
        stuck = socket.socket(socket.AF_UNIX)
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(str(path))  # connects, never reads
        try:
            wait_for(lambda: len(recording.segments()) >= 4, 20, "segments written while a reader is stuck")
        finally:
            stuck.close()


def test_a_data_folder_too_deep_for_a_unix_socket_uses_a_short_private_path(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 120)
    path = tap_path(deep, "cam-1")
    assert len(os.fsencode(path)) <= MAX_SOCKET_PATH
    assert path != tap_path(deep, "cam-2") and path == tap_path(deep, "cam-1")
    assert tap_path(Path("/srv/vigie"), "cam-1") == Path("/srv/vigie/live/cam-1.sock")


def test_the_fmp4_live_view_of_a_masked_camera_is_the_tapped_masked_stream(video: Path, tmp_path: Path) -> None:
    """What the browser of a masked camera receives: the recorder's masked H.264 as fragmented MP4, decodable,
    the masked area black on every frame."""
    import asyncio
    import io
    from datetime import UTC, datetime
    from functools import partial

    from vigie.ingest.live_fmp4 import Fmp4Feed, Fmp4Fragment, Fmp4Item, Fmp4Spec, camera_packets

    path = tmp_path / "live" / "cam.sock"
    with Recording(video, tmp_path / "segments", path):
        wait_for(path.exists, 10, "the tap listening")
        source = partial(camera_packets, clock=lambda: datetime.now(UTC))
        feed = Fmp4Feed(Fmp4Spec("cam", tap_url(path), idle_s=0.1), source)

        async def watch() -> list[Fmp4Item]:
            viewer = feed.subscribe()
            got: list[Fmp4Item] = []
            deadline = time.monotonic() + 15
            while sum(isinstance(i, Fmp4Fragment) for i in got) < 20 and time.monotonic() < deadline:
                got += await feed.next_items(viewer, 1.0)
            feed.unsubscribe(viewer)
            return got

        items = asyncio.run(watch())
        feed.close()
        feed.join(timeout=5.0)
    with av.open(io.BytesIO(b"".join(i.data for i in items))) as container:
        frames = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    assert len(frames) >= 20, feed.error
    for grey in frames:
        assert grey.shape == (HEIGHT, WIDTH)
        assert grey[inside_mask()].max() <= 4, "the browser gets the masked stream, never the raw one"


def test_a_masked_cameras_passthrough_reads_its_recorders_tap_never_the_camera(tmp_path: Path) -> None:
    from tests.support.configs import camera_yaml, config_yaml
    from vigie.config import load_config_text
    from vigie.runtime.assembly.live import passthrough_specs

    masked = camera_yaml("masked", "rtsp://127.0.0.1:1/main") + (
        "            zones:\n"
        "              - {kind: privacy_mask, id: m, points: [[0.1, 0.1], [0.5, 0.1], [0.5, 0.65]]}\n"
    )
    config = load_config_text(config_yaml(tmp_path, masked + camera_yaml("plain", "rtsp://127.0.0.1:1/plain")))
    cameras = [p.camera for p in config.placements()]
    specs = passthrough_specs(cameras, tmp_path)
    tap = tap_url(tap_path(tmp_path, "masked"))
    assert specs["masked", "wall"].url == specs["masked", "full"].url == tap
    assert specs["masked", "full"].fallback_url is None, "never the raw stream, even when the tap is down"
    # an unmasked camera's single view reads its recorder too (one camera session), the camera when it cannot
    assert specs["plain", "full"].url == tap_url(tap_path(tmp_path, "plain"))
    assert specs["plain", "full"].fallback_url == "rtsp://127.0.0.1:1/plain"
    assert ("masked", "full") not in passthrough_specs(cameras), "no tap known: a masked camera is MJPEG only"
    assert passthrough_specs(cameras)["plain", "full"].url == "rtsp://127.0.0.1:1/plain"


def test_the_wall_reads_the_sub_stream_from_the_camera_and_the_tap_when_there_is_none(tmp_path: Path) -> None:
    from tests.support.configs import camera_yaml, config_yaml
    from vigie.config import load_config_text
    from vigie.runtime.assembly.live import passthrough_specs

    with_sub = camera_yaml("sub", "rtsp://127.0.0.1:1/main") + "            sub_stream: rtsp://127.0.0.1:1/sub\n"
    config = load_config_text(config_yaml(tmp_path, with_sub + camera_yaml("one", "rtsp://127.0.0.1:1/one")))
    specs = passthrough_specs([p.camera for p in config.placements()], tmp_path)
    assert specs["sub", "wall"].url == "rtsp://127.0.0.1:1/sub" and specs["sub", "wall"].fallback_url is None
    assert specs["one", "wall"] == specs["one", "full"], "one stream: the wall shares the single view's feed"


def test_a_stale_socket_of_a_killed_recorder_is_not_listening(tmp_path: Path) -> None:
    path = tmp_path / "dead.sock"
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(path))
    dead.close()  # the file stays, as after a kill -9
    assert path.exists() and not tap_listening(path)
    assert not tap_listening(tmp_path / "none.sock")


def test_an_unmasked_cameras_live_view_survives_its_recorder_restarting(video: Path, tmp_path: Path) -> None:
    """The single view of an unmasked camera reads the recorder's tap; the recorder stopped, the viewer goes on
    with the camera's own stream at once, and is back on the tap when the recorder listens again."""
    import asyncio
    from datetime import UTC, datetime
    from functools import partial

    from vigie.ingest.live_fmp4 import Fmp4Feed, Fmp4Fragment, Fmp4Spec, Fmp4Viewer, camera_packets

    path = tmp_path / "live" / "cam.sock"
    source = partial(camera_packets, clock=lambda: datetime.now(UTC))
    spec = Fmp4Spec("cam", tap_url(path), idle_s=0.1, fallback_url=video.as_uri(), tap_probe_s=0.3)
    feed = Fmp4Feed(spec, source, retry_s=(30.0, 30.0))  # a retry pause would show: the view must not wait it
    got: list[int] = []

    async def fragments(viewer: Fmp4Viewer, count: int) -> None:
        deadline = time.monotonic() + 15
        start = len(got)
        while len(got) - start < count and time.monotonic() < deadline:
            got.extend(i.seq for i in await feed.next_items(viewer, 1.0) if isinstance(i, Fmp4Fragment))
        assert len(got) - start >= count, feed.error

    async def watch() -> None:
        viewer = feed.subscribe()
        await fragments(viewer, 5)
        assert feed.on_fallback, "no recorder yet: the camera's own stream"
        for _ in range(2):  # the recorder starts, then restarts
            with Recording(video, tmp_path / "segments", path, masked=False):
                await asyncio.to_thread(wait_for, lambda: not feed.on_fallback, 10, "the feed on the tap")
                await fragments(viewer, 10)
            await asyncio.to_thread(wait_for, lambda: feed.on_fallback, 10, "the feed back on the camera")
            await fragments(viewer, 5)
        feed.unsubscribe(viewer)

    asyncio.run(watch())
    feed.close()
    feed.join(timeout=5.0)
    assert feed.opened >= 5  # camera, tap, camera, tap, camera


def test_a_reader_that_falls_behind_still_gets_whole_ts_packets_from_a_keyframe(video: Path, tmp_path: Path) -> None:
    """Packets are written at once while a reader keeps up and queued when its socket is full; what a late
    reader loses are whole chunks, so the stream it reads stays whole MPEG-TS packets and decodes."""
    from vigie.ingest.tap import PacketTap

    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        packets = [p for p in container.demux(stream) if p.size]
        path = tmp_path / "live" / "cam.sock"
        with PacketTap(path, stream, max_chunks=4) as tap:
            late = socket.socket(socket.AF_UNIX)
            late.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            late.connect(str(path))
            wait_for(lambda: tap.counters.readers == 1, 5, "the reader accepted")
            span = packets[-1].dts - packets[0].dts + packets[1].dts - packets[0].dts
            for _ in range(200):  # the video over and over, until the socket's buffers are full and then some
                for packet in packets:
                    packet.pts, packet.dts = packet.pts + span, packet.dts + span
                    tap.publish(packet)
                if tap.counters.dropped > 8:
                    break
            assert tap.counters.dropped > 8, "the late reader lost packets (the recording went on)"
            late.settimeout(1.0)
            data = bytearray()
            with contextlib.suppress(TimeoutError):
                while chunk := late.recv(1 << 16):
                    data += chunk
            late.close()
    assert data and len(data) % 188 == 0 and set(data[::188]) == {0x47}, "whole TS packets"
    with av.open(io.BytesIO(bytes(data)), format="mpegts") as read:
        frames = list(read.decode(video=0))
    assert frames and frames[0].key_frame
