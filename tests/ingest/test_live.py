"""Live feeds: shared by viewers, started by the first and stopped after the last, masks burnt in, restarted after
a broken stream, and never queueing frames for a slow viewer."""

from __future__ import annotations

import asyncio
import time

import cv2
import numpy as np
import pytest

from tests.support.live_camera import LEFT_HALF, WHITE, Camera
from vigie.ingest.live import LiveFeed, LiveHub, LiveSpec, encode_jpeg


def decode(jpeg: bytes) -> np.ndarray:
    return np.asarray(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))


def test_privacy_masks_are_black_in_the_image_sent() -> None:
    image = decode(encode_jpeg(WHITE, [LEFT_HALF], 90))
    assert image[:, :70].max() < 20  # the masked half, JPEG ringing aside
    assert image[:, 90:].min() > 235  # the rest untouched


def test_viewers_share_one_reader_that_stops_after_the_last_leaves() -> None:
    camera = Camera()
    feed = LiveFeed(LiveSpec("cam", "rtsp://x", idle_s=0.2), camera)

    async def watch() -> list[int]:
        a, b = feed.subscribe(), feed.subscribe()
        seen = []
        seq = 0
        for _ in range(5):
            frame = await feed.next_frame(a, seq, 2.0)
            assert frame is not None
            assert frame.seq > seq
            seq = frame.seq
            seen.append(seq)
        other = await feed.next_frame(b, 0, 2.0)
        assert other is not None
        feed.unsubscribe(a)
        feed.unsubscribe(b)
        return seen

    seen = asyncio.run(watch())
    assert seen == sorted(set(seen))
    assert camera.opened == 1  # two viewers, one stream read
    feed.join(timeout=3.0)
    assert not feed.running
    assert camera.open_now == 0  # the camera is released once nobody watches


def test_a_viewer_arriving_within_the_grace_keeps_the_same_stream() -> None:
    camera = Camera()
    feed = LiveFeed(LiveSpec("cam", "rtsp://x", idle_s=5.0), camera)

    async def visit() -> None:
        viewer = feed.subscribe()
        assert await feed.next_frame(viewer, 0, 2.0) is not None
        feed.unsubscribe(viewer)

    asyncio.run(visit())
    asyncio.run(visit())  # a page reload
    assert camera.opened == 1
    feed.close()
    feed.join(timeout=3.0)
    assert not feed.running


def test_a_slow_viewer_gets_the_latest_frame_not_a_backlog() -> None:
    camera = Camera(period=0.005)
    feed = LiveFeed(LiveSpec("cam", "rtsp://x", idle_s=0.1), camera)

    async def slow() -> tuple[int, int]:
        viewer = feed.subscribe()
        first = await feed.next_frame(viewer, 0, 2.0)
        assert first is not None
        await asyncio.sleep(0.3)  # the viewer is busy while frames arrive
        second = await feed.next_frame(viewer, first.seq, 2.0)
        assert second is not None
        feed.unsubscribe(viewer)
        return first.seq, second.seq

    first, second = asyncio.run(slow())
    assert second - first > 10  # it skipped to the newest frame
    feed.join(timeout=3.0)


def test_a_broken_stream_is_reopened_and_its_error_is_shown_meanwhile() -> None:
    camera = Camera(fail_after=3)
    feed = LiveFeed(LiveSpec("cam", "rtsp://x", idle_s=0.1), camera, retry_s=(0.05, 0.1))

    errors: set[str] = set()

    async def watch() -> int:
        viewer = feed.subscribe()
        seq = 0
        deadline = time.monotonic() + 5
        while camera.opened < 3 and time.monotonic() < deadline:
            frame = await feed.next_frame(viewer, seq, 0.5)
            if frame is None:
                errors.add(feed.error)  # no picture: the viewer is told why
            else:
                seq = frame.seq
        frame = await feed.next_frame(viewer, seq, 2.0)
        feed.unsubscribe(viewer)
        return 0 if frame is None else frame.seq

    last = asyncio.run(watch())
    assert camera.opened >= 3
    assert "camera cam: connection refused" in errors
    assert last > 6  # frames again after each reopening, numbered on from before
    feed.close()
    feed.join(timeout=3.0)


def test_the_hub_knows_only_configured_cameras() -> None:
    hub = LiveHub({("cam", "wall"): LiveSpec("cam", "rtsp://x")}, Camera())
    assert hub.feed("cam") is hub.feed("cam", "wall")
    with pytest.raises(KeyError):
        hub.feed("cam", "full")
    with pytest.raises(KeyError):
        hub.feed("other")
    hub.close()
