"""Live view passed through as fragmented MP4: the camera's H.264 cut into an init segment and one fragment per
frame, never decoded; one reader shared by every viewer, started by the first and stopped after the last; a new
viewer starts at a keyframe; a slow viewer loses its queue and resumes at the next keyframe instead of queueing
without bound; and through a real RTSP server, what a browser would receive decodes into the camera's frames."""

from __future__ import annotations

import asyncio
import io
import itertools
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import av
import pytest

from tests.recording.media import SIZE, write_h264
from vigie.ingest.live_fmp4 import (
    Fmp4Feed,
    Fmp4Fragment,
    Fmp4Hub,
    Fmp4Init,
    Fmp4Item,
    Fmp4Spec,
    Fmp4Viewer,
    camera_packets,
    codec_string,
    parameter_sets,
    sample_bytes,
)
from vigie.ingest.packets import MainStream, PacketSpec
from vigie.ingest.reader import CameraError
from vigie.sim.rtsp import RtspSimServer, rtsp_unavailable_reason

SPS = bytes.fromhex("6764001facd9405005bb0110")
PPS = bytes.fromhex("68ebe3cb22c0")


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s of H.264 in MPEG-TS (Annex B, SPS/PPS before each keyframe, one a second at 10 fps)."""
    return write_h264(tmp_path_factory.mktemp("fmp4") / "camera.ts", seconds=4.0)


def file_packets(spec: Fmp4Spec) -> MainStream:
    return MainStream(PacketSpec(spec.camera_id, spec.url), lambda: datetime.now(UTC))


class Counting:
    """A packet source that counts how often it was opened."""

    def __init__(self) -> None:
        self.opened = 0

    def __call__(self, spec: Fmp4Spec) -> MainStream:
        self.opened += 1
        return file_packets(spec)


def decode(items: list[bytes]) -> list[tuple[int, int, bool]]:
    """(width, height, keyframe) of every frame a player decodes from the bytes sent."""
    with av.open(io.BytesIO(b"".join(items))) as container:
        return [(f.width, f.height, f.key_frame) for f in container.decode(video=0)]


async def collect(feed: Fmp4Feed, viewer: Fmp4Viewer, fragments: int, timeout: float = 5.0) -> list[Fmp4Item]:
    got: list[Fmp4Item] = []
    deadline = time.monotonic() + timeout
    while sum(isinstance(i, Fmp4Fragment) for i in got) < fragments and time.monotonic() < deadline:
        got += await feed.next_items(viewer, 1.0)
    return got


def test_parameter_sets_and_codec_come_from_avcc_or_annex_b() -> None:
    avcc = b"\x01" + SPS[1:4] + b"\xff\xe1" + len(SPS).to_bytes(2, "big") + SPS + b"\x01"
    avcc += len(PPS).to_bytes(2, "big") + PPS
    annexb = b"\x00\x00\x00\x01" + SPS + b"\x00\x00\x01" + PPS + b"\x00\x00\x01\x65\x88"
    assert parameter_sets(avcc) == parameter_sets(annexb) == (SPS, PPS)
    assert codec_string(SPS) == "avc1.64001f"  # High profile, level 3.1
    assert parameter_sets(b"\x00\x00\x01\x65\x88") is None  # a keyframe without them
    # Samples are length-prefixed, access unit delimiters dropped, whatever the source's framing.
    aud, idr = b"\x09\xf0", b"\x65\x88\x84"
    assert sample_bytes(b"\x00\x00\x01" + aud + b"\x00\x00\x00\x01" + idr, 0) == b"\x00\x00\x00\x03" + idr
    assert sample_bytes(b"\x00\x03" + idr, 2) == b"\x00\x00\x00\x03" + idr


def test_viewers_share_one_reader_get_decodable_fragments_and_it_stops_after_the_last(video: Path) -> None:
    source = Counting()
    feed = Fmp4Feed(Fmp4Spec("cam", video.as_uri(), idle_s=0.2), source)

    async def watch() -> tuple[list[Fmp4Item], list[Fmp4Item]]:
        a = feed.subscribe()
        first = await collect(feed, a, 15)
        b = feed.subscribe()  # mid-stream: the current GOP, from its keyframe
        second = await collect(feed, b, 3)
        feed.unsubscribe(a)
        feed.unsubscribe(b)
        return first, second

    first, second = asyncio.run(watch())
    assert source.opened == 1  # two viewers, one stream read
    for items in (first, second):
        assert isinstance(items[0], Fmp4Init)
        assert items[0].codec.startswith("avc1.42") and (items[0].width, items[0].height) == SIZE
        assert isinstance(items[1], Fmp4Fragment) and items[1].keyframe
        frames = decode([i.data for i in items])
        assert frames and {(w, h) for w, h, _ in frames} == {SIZE}
        assert frames[0][2], "the first frame decoded is a keyframe"
    feed.join(timeout=3.0)
    assert not feed.running  # the camera is released once nobody watches


def test_without_the_gop_kept_a_new_viewer_waits_for_the_next_keyframe(video: Path) -> None:
    feed = Fmp4Feed(Fmp4Spec("cam", video.as_uri(), idle_s=0.1, keep_gop=False), file_packets)

    async def watch() -> list[Fmp4Item]:
        a = feed.subscribe()
        await collect(feed, a, 4)  # mid-GOP now (a keyframe every 10 frames)
        b = feed.subscribe()
        got = await collect(feed, b, 1, timeout=3)
        feed.unsubscribe(a)
        feed.unsubscribe(b)
        return got

    got = asyncio.run(watch())
    assert isinstance(got[0], Fmp4Init)
    assert all(i.keyframe for i in got[1:2] if isinstance(i, Fmp4Fragment))
    feed.close()
    feed.join(timeout=3.0)


def test_a_slow_viewer_loses_its_queue_and_resumes_at_a_keyframe_without_slowing_the_others(video: Path) -> None:
    feed = Fmp4Feed(Fmp4Spec("cam", video.as_uri(), idle_s=0.1, viewer_buffer_bytes=6_000), file_packets)

    async def watch() -> tuple[Fmp4Viewer, list[Fmp4Item], int]:
        slow, fast = feed.subscribe(), feed.subscribe()
        fast_got = []
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:  # the fast one takes everything; the slow one nothing
            fast_got += await feed.next_items(fast, 0.5)
            assert slow.queued_bytes <= 6_000
        resumed = await collect(feed, slow, 3)
        feed.unsubscribe(slow)
        feed.unsubscribe(fast)
        return slow, resumed, sum(isinstance(i, Fmp4Fragment) for i in fast_got)

    slow, resumed, fast_count = asyncio.run(watch())
    assert fast_count >= 20  # ~2.5 s at 10 fps: the other viewer was not held up
    assert slow.dropped > 0
    fragments = [i for i in resumed if isinstance(i, Fmp4Fragment)]
    assert fragments[0].keyframe  # what it holds now starts at a keyframe, and decodes after its init segment
    assert slow.init is not None
    frames = decode([slow.init.data] + [f.data for f in fragments])
    assert frames and frames[0][2]
    feed.close()
    feed.join(timeout=3.0)


def test_the_hub_passes_through_only_the_cameras_it_was_given(video: Path) -> None:
    hub = Fmp4Hub({("cam", "wall"): Fmp4Spec("cam", video.as_uri())}, file_packets)
    assert hub.cameras() == frozenset({"cam"})
    assert hub.available("cam", "wall") and not hub.available("cam", "full")
    assert not hub.available("masked", "wall")  # a masked camera is never given to it (L6)
    with pytest.raises(KeyError):
        hub.feed("masked")
    assert hub.feed("cam") is hub.feed("cam", "wall")
    hub.close()


@pytest.mark.rtsp
@pytest.mark.slow
def test_through_a_real_rtsp_server_the_fragments_decode_into_the_cameras_frames(tmp_path: Path) -> None:
    reason = rtsp_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    clip = write_h264(tmp_path / "camera.mp4", seconds=4.0)
    with RtspSimServer({"cam": clip}) as server:
        source = partial(camera_packets, clock=lambda: datetime.now(UTC))
        feed = Fmp4Feed(Fmp4Spec("cam", server.url("cam"), idle_s=0.1), source)

        async def watch() -> list[Fmp4Item]:
            viewer = feed.subscribe()
            got = await collect(feed, viewer, 25, timeout=15)
            feed.unsubscribe(viewer)
            return got

        items = asyncio.run(watch())
        feed.close()
        feed.join(timeout=5.0)
    assert isinstance(items[0], Fmp4Init), feed.error
    frames = decode([i.data for i in items])
    assert len(frames) >= 25
    assert {(w, h) for w, h, _ in frames} == {SIZE} and frames[0][2]


class Scripted:
    """The packets of a real H.264 file as a camera might send them: the first keyframe without a timestamp (as
    an RTSP session's often is), then the camera's clock jumping 10 s ahead halfway."""

    def __init__(self, spec: Fmp4Spec) -> None:
        self.container = av.open(spec.url.removeprefix("file://"))
        self.video = self.container.streams.video[0]

    def __enter__(self) -> Scripted:
        return self

    def __exit__(self, *exc: object) -> None:
        self.container.close()

    def close(self) -> None:
        self.container.close()

    def packets(self) -> Iterator[av.Packet]:
        for n, packet in enumerate(p for p in self.container.demux(self.video) if p.size):
            if n == 0:
                packet.pts = packet.dts = None
            elif n >= 15:
                jump = int(10 / self.video.time_base)
                packet.pts, packet.dts = packet.pts + jump, packet.dts + jump
            time.sleep(0.01)
            yield packet
        time.sleep(5)  # the camera goes quiet; the test has what it needs


def decode_times(fragment: bytes) -> int:
    at = fragment.find(b"tfdt")
    return int.from_bytes(fragment[at + 8 : at + 16], "big")


def test_an_untimed_first_keyframe_is_kept_and_a_jump_in_the_cameras_clock_leaves_no_gap(video: Path) -> None:
    feed = Fmp4Feed(Fmp4Spec("cam", video.as_uri(), idle_s=0.1), Scripted)

    async def watch() -> list[Fmp4Item]:
        viewer = feed.subscribe()
        got = await collect(feed, viewer, 25)
        feed.unsubscribe(viewer)
        return got

    items = asyncio.run(watch())
    feed.close()
    fragments = [i for i in items if isinstance(i, Fmp4Fragment)]
    assert fragments[0].keyframe  # the untimed keyframe: without it nothing could be decoded before the next
    times = [decode_times(f.data) for f in fragments]
    steps = {b - a for a, b in itertools.pairwise(times)}
    assert steps == {9000}  # 10 fps in 90 kHz ticks, across the jump too: no gap for the player to stall in
    frames = decode([items[0].data] + [f.data for f in fragments])
    assert len(frames) == len(fragments) and frames[0][2]


class Tapped:
    """A tap that listens or not as the test says (``reachable``); each opening of either URL is counted, and
    an opened tap ends when the test says its recorder went away."""

    def __init__(self, video: Path) -> None:
        self.video = video.as_uri()
        self.listening = False
        self.opened: list[str] = []

    def reachable(self, url: str) -> bool:
        return url.startswith("file:") or self.listening

    def __call__(self, spec: Fmp4Spec) -> PassThroughLike:
        self.opened.append("tap" if spec.url.startswith("unix:") else "camera")
        if spec.url.startswith("unix:") and not self.listening:
            raise CameraError("camera cam: cannot open the tap")
        return PassThroughLike(file_packets(replace(spec, url=self.video)), self, spec.url.startswith("unix:"))


class PassThroughLike:
    """A file's packets that stop (as a tap's socket closing) when the tap stops listening."""

    def __init__(self, stream: MainStream, tapped: Tapped, tap: bool) -> None:
        self.stream, self.tapped, self.tap = stream, tapped, tap
        self.video = stream.video

    def __enter__(self) -> PassThroughLike:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stream.close()

    def close(self) -> None:
        self.stream.close()

    def packets(self) -> Iterator[object]:
        for packet in self.stream.packets():
            if self.tap and not self.tapped.listening:
                raise CameraError("camera cam: stream ended")
            yield packet


def test_a_tapped_feed_reads_the_camera_while_its_recorder_is_away_and_goes_back_to_the_tap(video: Path) -> None:
    """The single view of an unmasked camera reads its recorder's tap; the recorder absent or restarting, the
    viewer keeps getting the camera's own stream, and the tap again once it listens — never a dead view."""
    tapped = Tapped(video)
    spec = Fmp4Spec("cam", "unix:/nowhere/cam.sock", idle_s=0.1, fallback_url=video.as_uri(), tap_probe_s=0.2)
    feed = Fmp4Feed(spec, tapped, reachable=tapped.reachable, retry_s=(5.0, 5.0))

    async def watch() -> list[Fmp4Item]:
        viewer = feed.subscribe()
        got = await collect(feed, viewer, 5)  # no recorder: from the camera
        assert feed.on_fallback and tapped.opened == ["camera"]
        tapped.listening = True  # the recorder (re)starts
        got += await collect(feed, viewer, 12)
        assert not feed.on_fallback and tapped.opened == ["camera", "tap"], "back to one camera session"
        tapped.listening = False  # the recorder restarts: its tap ends
        got += await collect(feed, viewer, 12)  # at once from the camera, not after retry_s
        assert feed.on_fallback and tapped.opened[2:] == ["camera"]
        feed.unsubscribe(viewer)
        return got

    items = asyncio.run(watch())
    feed.close()
    feed.join(timeout=3.0)
    assert sum(isinstance(i, Fmp4Init) for i in items) == 1, "the same stream again: the player goes on"
    fragments = [i for i in items if isinstance(i, Fmp4Fragment)]
    times = [decode_times(f.data) for f in fragments]
    assert all(b > a for a, b in itertools.pairwise(times)), "the timeline goes on across the switches"
    frames = decode([items[0].data] + [f.data for f in fragments])
    assert len(frames) == len(fragments) and frames[0][2]


def test_a_feed_without_fallback_never_reads_anything_but_its_url(video: Path) -> None:
    """A masked camera's feed (no fallback: its own streams are raw, L6) waits for its tap."""
    tapped = Tapped(video)
    feed = Fmp4Feed(Fmp4Spec("masked", "unix:/nowhere/m.sock", idle_s=0.1), tapped, retry_s=(0.05, 0.05))

    async def watch() -> list[Fmp4Item]:
        viewer = feed.subscribe()
        got = await feed.next_items(viewer, 0.5)
        feed.unsubscribe(viewer)
        return got

    assert asyncio.run(watch()) == []
    feed.close()
    feed.join(timeout=3.0)
    assert tapped.opened and set(tapped.opened) == {"tap"} and "cannot open the tap" in feed.error
