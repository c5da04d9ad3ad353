"""Stream alarms (L18) on rendered scenes and synthetic timelines: no camera, no clock."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from itertools import cycle

import av
import cv2
import numpy as np
import pytest
import yaml

from vigie.domain.camera import StreamAlarm, StreamAlarmKind
from vigie.ingest.alarms import StreamAlarmConfig, StreamAlarms, scene_similarity
from vigie.sim.builtin import builtin_scene_path
from vigie.sim.render import SceneRenderer
from vigie.sim.scene import Scene

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
FPS = 5
STEP = timedelta(seconds=1 / FPS)
Kind = StreamAlarmKind


def street(background_seed: int | None = None, seconds: int = 30) -> list[np.ndarray]:
    """Grey analysis frames of the built-in street scene (continuous traffic) at 320×180, 5 fps."""
    data = yaml.safe_load(builtin_scene_path("street").read_text(encoding="utf-8"))
    data.update(width=320, height=180, fps=FPS, duration_s=seconds)
    data["situations"] = [s for s in data["situations"] if s["kind"] == "traffic"]  # the traffic, not the bin fire
    if background_seed is not None:
        data["background"]["seed"] = background_seed
    renderer = SceneRenderer(Scene.model_validate(data))
    return [cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY) for frame in renderer.frames()]


@pytest.fixture(scope="module")
def live() -> list[np.ndarray]:
    return street()


@pytest.fixture(scope="module")
def substituted() -> list[np.ndarray]:
    """Same layout of street, other buildings and textures: another camera passed off as this one."""
    return street(background_seed=7, seconds=4)


class Feed:
    """Feeds one ``StreamAlarms`` at 5 fps, a packet with every frame, and keeps every record it returns."""

    def __init__(self, alarms: StreamAlarms) -> None:
        self.alarms = alarms
        self.at = T0
        self.records: list[StreamAlarm] = []

    def frames(self, images: Iterable[np.ndarray], seconds: float) -> list[StreamAlarm]:
        out: list[StreamAlarm] = []
        source: Iterator[np.ndarray] = cycle(images)
        for _ in range(round(seconds * FPS)):
            out += self.alarms.packet(self.at)
            out += self.alarms.frame(next(source), self.at)
            self.at += STEP
        self.records += out
        return out


def kinds(records: Sequence[StreamAlarm]) -> list[tuple[Kind, bool]]:
    return [(record.kind, record.cleared) for record in records]


# --- no packets ---------------------------------------------------------------------------------------------


def test_lost_stream_is_raised_once_and_cleared_when_packets_return() -> None:
    alarms = StreamAlarms("cam-1")
    for i in range(25):
        assert alarms.packet(T0 + i * STEP) == []
    last = T0 + 24 * STEP
    records = [r for s in range(1, 31) for r in alarms.poll(last + timedelta(seconds=s))]
    assert kinds(records) == [(Kind.NO_PACKETS, False)]
    assert records[0].at == last + timedelta(seconds=10) and records[0].camera_id == "cam-1"
    assert "no packet for 10 s" in records[0].detail
    back = alarms.packet(last + timedelta(seconds=31))
    assert kinds(back) == [(Kind.NO_PACKETS, True)] and "after 21 s" in back[0].detail
    assert alarms.active == frozenset()


def test_a_stream_that_never_delivers_is_lost_from_the_session_start() -> None:
    alarms = StreamAlarms("cam-1", StreamAlarmConfig(no_packets_s=5))
    assert alarms.poll(T0) == [] and alarms.poll(T0 + timedelta(seconds=4.9)) == []
    raised = alarms.poll(T0 + timedelta(seconds=5))
    assert kinds(raised) == [(Kind.NO_PACKETS, False)] and "since the session started" in raised[0].detail


# --- stream parameters --------------------------------------------------------------------------------------


def test_codec_or_resolution_change_is_one_episode_until_back_or_accepted() -> None:
    alarms = StreamAlarms("cam-1")
    at = T0
    assert alarms.stream("h264", 1920, 1080, at) == []
    assert alarms.stream("H264", 1920, 1080, at) == []
    raised = alarms.stream("hevc", 1920, 1080, at)
    assert kinds(raised) == [(Kind.STREAM_CHANGED, False)]
    assert raised[0].detail == "stream changed from h264 1920×1080 to hevc 1920×1080"
    assert alarms.stream("h264", 1280, 720, at) == [], "still the same episode"
    assert kinds(alarms.stream("h264", 1920, 1080, at)) == [(Kind.STREAM_CHANGED, True)]
    assert kinds(alarms.stream("h264", 1280, 720, at)) == [(Kind.STREAM_CHANGED, False)]
    accepted = alarms.accept(Kind.STREAM_CHANGED, at)
    assert kinds(accepted) == [(Kind.STREAM_CHANGED, True)] and "accepted" in accepted[0].detail
    assert alarms.stream("h264", 1280, 720, at) == []
    assert kinds(alarms.stream("h264", 1920, 1080, at)) == [(Kind.STREAM_CHANGED, False)]


def test_only_reference_alarms_can_be_accepted() -> None:
    with pytest.raises(ValueError, match="cannot be accepted"):
        StreamAlarms("cam-1").accept(Kind.NO_PACKETS, T0)


def test_inconsistent_thresholds_are_refused() -> None:
    with pytest.raises(ValueError):
        StreamAlarmConfig(frozen_s=0)
    with pytest.raises(ValueError):
        StreamAlarmConfig(scene_raise_below=0.8, scene_clear_above=0.7)


# --- frozen picture -----------------------------------------------------------------------------------------


def through_h264(images: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Encode grey frames with libx264 (2-s GOP) and decode them back, as a camera's frozen encoder would."""
    height, width = images[0].shape
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base, codec.gop_size = Fraction(1, FPS), 2 * FPS
    codec.options = {"preset": "veryfast", "tune": "zerolatency"}
    decoder = av.CodecContext.create("h264", "r")
    out: list[np.ndarray] = []
    for index, image in enumerate([*images, None]):
        frame = None
        if image is not None:
            frame = av.VideoFrame.from_ndarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), format="bgr24")
            frame.pts = index
        for packet in codec.encode(frame):
            out += [decoded.to_ndarray(format="gray") for decoded in decoder.decode(packet)]
    out += [decoded.to_ndarray(format="gray") for decoded in decoder.decode(None)]
    return out


def test_frozen_picture_with_noise_and_compression_is_raised_once(live: list[np.ndarray]) -> None:
    rng = np.random.default_rng(0)
    still = live[40].astype(np.int16)
    noisy = [np.clip(still + rng.normal(0, 2, still.shape), 0, 255).astype(np.uint8) for _ in range(20)]
    frozen = through_h264(noisy)
    feed = Feed(StreamAlarms("cam-1", StreamAlarmConfig(frozen_s=10)))
    assert feed.frames(live, 30) == [], "a street with traffic is live"
    raised = feed.frames(frozen, 20)
    assert kinds(raised) == [(Kind.FROZEN_PICTURE, False)]
    assert raised[0].at == T0 + timedelta(seconds=40) and "unchanged for 10 s" in raised[0].detail
    cleared = feed.frames(live[:10], 2)
    assert kinds(cleared) == [(Kind.FROZEN_PICTURE, True)]


# --- scene changed ------------------------------------------------------------------------------------------


def brighter(images: Sequence[np.ndarray], offset: int) -> list[np.ndarray]:
    return [np.clip(image.astype(np.int16) + offset, 0, 255).astype(np.uint8) for image in images]


def shifted(images: Sequence[np.ndarray], dx: int, dy: int) -> list[np.ndarray]:
    move = np.float32([[1, 0, dx], [0, 1, dy]])
    return [cv2.warpAffine(image, move, image.shape[::-1], borderMode=cv2.BORDER_REFLECT) for image in images]


def test_traffic_and_lighting_changes_leave_the_scene_alone(live: list[np.ndarray]) -> None:
    feed = Feed(StreamAlarms("cam-1"))
    feed.frames(live, 30)
    feed.frames(brighter(live, 45), 15)
    feed.frames(brighter(live, -60), 15)
    feed.frames([(image * 0.5).astype(np.uint8) for image in live], 15)
    assert feed.records == []
    assert feed.alarms.scene_similarity > 0.7


def test_substituted_camera_raises_once_and_clears_when_the_view_returns(
    live: list[np.ndarray], substituted: list[np.ndarray]
) -> None:
    feed = Feed(StreamAlarms("cam-1"))
    feed.frames(live, 10)
    assert feed.frames(substituted, 4) == [], "a few seconds are not an episode"
    assert feed.frames(live, 2) == []
    raised = feed.frames(substituted, 20)
    assert kinds(raised) == [(Kind.SCENE_CHANGED, False)]
    assert raised[0].at == T0 + timedelta(seconds=21) and "differs from its reference for 5 s" in raised[0].detail
    cleared = feed.frames(live, 5)
    assert kinds(cleared) == [(Kind.SCENE_CHANGED, True)]


def test_black_frames_at_the_start_are_no_reference_and_the_view_after_them_raises_nothing(
    live: list[np.ndarray],
) -> None:
    # a dome's first frames are blacked out until its position is known (vigie.devices.dome_masking)
    feed = Feed(StreamAlarms("dome-1", StreamAlarmConfig(view_moves=True)))
    black = [np.zeros_like(live[0])]
    assert feed.frames(black, 1) == []
    assert feed.frames(live, 30) == [], "the live view is judged against itself, not against the black frames"
    moved = shifted(live, 24, 10)
    assert kinds(feed.frames(moved, 10)) == [(Kind.SCENE_CHANGED, False)], "and a real change is still raised"


def test_moved_camera_raises_and_an_accepted_view_becomes_the_reference(live: list[np.ndarray]) -> None:
    feed = Feed(StreamAlarms("cam-1"))
    feed.frames(live, 10)
    moved = shifted(live, 24, 10)
    assert kinds(feed.frames(moved, 10)) == [(Kind.SCENE_CHANGED, False)]
    accepted = feed.alarms.accept(Kind.SCENE_CHANGED, feed.at)
    assert kinds(accepted) == [(Kind.SCENE_CHANGED, True)]
    assert feed.frames(moved, 20) == []


def test_similarity_ignores_gain_and_offset_and_flat_views() -> None:
    rng = np.random.default_rng(3)
    textured = cv2.resize(rng.uniform(0, 200, (9, 16)).astype(np.float32), (64, 36))
    assert scene_similarity(textured, textured * 0.5 + 30) == 1.0
    flat = np.full((36, 64), 90, np.float32)
    assert scene_similarity(flat, flat + 50) == 1.0, "nothing to compare is no evidence of change"
    assert scene_similarity(textured, flat) == 0.0, "a covered lens does not match a textured view"
