"""Motion detection and its gate, on synthetic frames whose truth is known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from vigie.analytics.detect.motion import MotionDetector
from vigie.analytics.pipeline import MotionPipeline
from vigie.governance.gate import ActivationGate, ClosedGate, GateRules, Window

W, H = 320, 180


def background(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(60, 120, size=(H, W), dtype=np.uint8)
    return base


def with_square(frame: np.ndarray, x: int, y: int, size: int = 24, value: int = 230) -> np.ndarray:
    out = frame.copy()
    out[y : y + size, x : x + size] = value
    return out


def test_moving_square_is_found_where_it_is() -> None:
    detector = MotionDetector()
    bg = background()
    for _ in range(30):
        assert detector.detect(bg) == []
    regions = []
    for step in range(10):
        regions = detector.detect(with_square(bg, 40 + step * 8, 60))
    assert regions, "a moving square must be reported"
    box, _ = regions[0]
    x_px, y_px = box.x * W, box.y * H
    # the square is at x=112..136, y=60..84 in the last frame
    assert 100 <= x_px <= 120 and 50 <= y_px <= 66
    assert box.w * W < 80 and box.h * H < 45


def test_static_scene_with_sensor_noise_gives_nothing() -> None:
    detector = MotionDetector()
    bg = background().astype(np.int16)
    rng = np.random.default_rng(1)
    found = []
    for _ in range(60):
        noisy = np.clip(bg + rng.integers(-3, 4, size=bg.shape), 0, 255).astype(np.uint8)
        found.extend(detector.detect(noisy))
    assert found == []


def test_global_lighting_change_is_not_motion() -> None:
    detector = MotionDetector()
    bg = background()
    for _ in range(30):
        detector.detect(bg)
    brighter = np.clip(bg.astype(np.int16) + 70, 0, 255).astype(np.uint8)
    assert detector.detect(brighter) == []


def test_motion_inside_a_privacy_mask_is_never_seen() -> None:
    mask = ((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0))  # left half of the image
    detector = MotionDetector(privacy_masks=(mask,))
    bg = background()
    for _ in range(20):
        detector.detect(bg)
    found = []
    for step in range(10):
        found.extend(detector.detect(with_square(bg, 20 + step * 8, 60)))  # stays in the left half
    assert found == []
    for step in range(10):
        found.extend(detector.detect(with_square(bg, 200 + step * 8, 60)))  # right half
    assert found and all(box.x >= 0.5 for box, _ in found)


class OneWindow:
    """Rules with a single approved window for ``motion`` on one camera (the gate's own tests cover storage)."""

    def __init__(self, camera_id: str, around: datetime) -> None:
        window = Window(1, around - timedelta(hours=1), around + timedelta(hours=1))
        self._rules = GateRules(windows={("motion", camera_id): (window,)})

    def rules(self, now: datetime) -> GateRules:
        return self._rules


def activation_gate(camera_id: str, around: datetime) -> ActivationGate:
    return ActivationGate(OneWindow(camera_id, around), lambda: around)


def test_pipeline_runs_only_when_the_gate_allows() -> None:
    bg = background()
    frames = [bg] * 20 + [with_square(bg, 40 + s * 8, 60) for s in range(10)]
    now = datetime.now(UTC)

    closed = MotionPipeline("cam1", MotionDetector(), ClosedGate())
    assert [closed.process(f, now) for f in frames] == [None] * len(frames)
    assert closed.frames_analysed == 0 and closed.frames_refused == len(frames)

    other = MotionPipeline("cam1", MotionDetector(), activation_gate("cam2", now))
    assert all(other.process(f, now) is None for f in frames)

    allowed = MotionPipeline("cam1", MotionDetector(), activation_gate("cam1", now))
    observations = [o for f in frames if (o := allowed.process(f, now)) is not None]
    assert observations
    assert {o.camera_id for o in observations} == {"cam1"}
    assert all(o.module == "motion" and 0 < o.score <= 1 for o in observations)


def test_wide_frames_are_analysed_scaled_down_with_the_same_normalised_boxes() -> None:
    wide = MotionDetector()
    bg = np.kron(background(), np.ones((4, 4), np.uint8))  # 1280×720
    for _ in range(20):
        wide.detect(bg)
    regions = []
    for step in range(10):
        regions = wide.detect(with_square(bg, 160 + step * 32, 240, size=96))
    box, _ = regions[0]
    assert 0.3 <= box.x <= 0.4 and 0.3 <= box.y <= 0.36  # the square ends at x = 448..544 of 1280, y = 240 of 720


def test_boxes_are_normalised_to_the_full_frame_whatever_the_processing_scale() -> None:
    """A D1 sub stream (704×576) is shrunk by a whole factor (3, cropping the last column): the reported box must
    still be where the object is in the full frame, in normalised coordinates."""
    width, height = 704, 576
    rng = np.random.default_rng(3)
    bg = rng.integers(60, 120, size=(height, width), dtype=np.uint8)
    detector = MotionDetector()
    for _ in range(30):
        detector.detect(bg)
    regions = []
    for step in range(8):
        frame = bg.copy()
        x = 560 + step * 12  # the last square spans x = 644..704, y = 480..540: against the right edge
        frame[480:540, x : x + 60] = 235
        regions = detector.detect(frame)
    assert regions
    box, _ = regions[0]
    assert abs(box.x + box.w - 1.0) < 0.02, "the right edge of the frame must stay at 1.0"
    assert abs(box.y - 480 / height) < 0.03 and abs(box.y + box.h - 540 / height) < 0.03


def test_a_narrow_walker_in_a_sub_stream_is_found() -> None:
    """A person far away is a few pixels wide in a 640×360 sub stream: 8 px is 2 px once scaled to the default
    160 px, which the speckle filter must keep (a 3×3 opening erased it), where it is."""
    width, height = 640, 360
    rng = np.random.default_rng(5)
    bg = rng.integers(60, 120, size=(height // 4, width // 4), dtype=np.uint8).repeat(4, 0).repeat(4, 1)
    detector = MotionDetector()
    for _ in range(30):
        assert detector.detect(bg) == []
    regions = []
    for step in range(8):
        frame = bg.copy()
        x = 200 + step * 8  # the last walker spans x = 256..264, y = 160..240
        frame[160:240, x : x + 8] = 230
        regions = detector.detect(frame)
    assert regions, "a walker 8 px wide must be reported"
    box, _ = regions[0]
    assert box.x * width <= 256 <= (box.x + box.w) * width and box.y * height <= 160 <= (box.y + box.h) * height
    assert box.w * width < 60 and box.h * height < 120
