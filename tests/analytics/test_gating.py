"""Motion-gated detection: no deep calls on a still scene after warm-up, calls (and crops) when something moves."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from vigie.analytics.detect.gating import MotionGateConfig, MotionGatedDetector, merge_crops
from vigie.analytics.detect.motion import MotionConfig, MotionDetector
from vigie.domain.detections import Detections, ObjectClass


class CountingDetector:
    """Reports one person box per frame/crop (the whole input) and counts calls and frames."""

    def __init__(self) -> None:
        self.calls = 0
        self.frames: list[tuple[int, int]] = []

    def detect(self, frame_bgr: npt.NDArray[np.uint8]) -> Detections:
        return self.detect_batch([frame_bgr])[0]

    def detect_batch(self, frames: Sequence[npt.NDArray[np.uint8]]) -> list[Detections]:
        self.calls += 1
        self.frames.extend(f.shape[:2] for f in frames)
        return [Detections.create([[0, 0, f.shape[1], f.shape[0]]], [0.9], [ObjectClass.PERSON]) for f in frames]


def _background() -> npt.NDArray[np.uint8]:
    rng = np.random.default_rng(0)
    return rng.integers(90, 110, (240, 320, 3), dtype=np.uint8)


def _moving_square(index: int) -> npt.NDArray[np.uint8]:
    frame = _background()
    x = 20 + 6 * index
    frame[100:140, x : x + 30] = 250
    return frame


def _gate(config: MotionGateConfig) -> tuple[MotionGatedDetector, CountingDetector]:
    inner = CountingDetector()
    return MotionGatedDetector(inner, MotionDetector(MotionConfig(warmup_frames=5)), config), inner


def test_static_scene_makes_no_calls_after_warm_up() -> None:
    gate, inner = _gate(MotionGateConfig(hold_s=0.2))
    frame = _background()
    for i in range(40):
        dets = gate.detect(frame, now_s=i * 0.1)
    assert inner.calls == 5  # the warm-up frames only
    assert gate.stats.calls_saved == 35 and gate.stats.saved_ratio > 0.8
    assert len(dets) == 0  # hold expired


def test_moving_square_is_detected_on_every_frame() -> None:
    gate, inner = _gate(MotionGateConfig())
    for i in range(30):
        dets = gate.detect(_moving_square(i), now_s=i * 0.1)
    assert inner.calls >= 20 and len(dets) == 1


def test_detections_held_then_dropped_after_motion_stops() -> None:
    gate, inner = _gate(MotionGateConfig(hold_s=0.5))
    for i in range(15):
        gate.detect(_moving_square(i), now_s=i * 0.1)
    calls = inner.calls
    still = _moving_square(14)
    held = [len(gate.detect(still, now_s=1.5 + i * 0.1)) for i in range(12)]
    assert inner.calls <= calls + 2  # MOG2 may still see the last step once
    assert held[0] == 1 and held[-1] == 0


def test_regions_mode_runs_on_crops_and_maps_back() -> None:
    gate, inner = _gate(MotionGateConfig(mode="regions", min_crop_px=64))
    for i in range(20):
        dets = gate.detect(_moving_square(i), now_s=i * 0.1)
    assert gate.stats.crops >= 10
    assert all(h < 240 and w < 320 for h, w in inner.frames[5:])
    x = 20 + 6 * 19
    assert dets.boxes[0, 0] <= x and dets.boxes[0, 2] >= x + 30  # crop box in frame pixels covers the square


def test_refresh_runs_full_frame_on_still_scene() -> None:
    gate, inner = _gate(MotionGateConfig(refresh_s=1.0))
    frame = _background()
    for i in range(40):
        gate.detect(frame, now_s=i * 0.1)
    assert 5 + 3 <= inner.calls <= 5 + 4


def test_overlapping_crops_merge() -> None:
    assert merge_crops([(0, 0, 10, 10), (5, 5, 20, 20), (30, 30, 40, 40)]) == [(0, 0, 20, 20), (30, 30, 40, 40)]
