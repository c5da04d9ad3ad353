"""One detector shared by many cameras' pipelines: batches form, every caller gets its own frame's result, and a
bad frame or an overload never fails the other cameras."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from tests.analytics.onnx_models import MODELS, REAL_MODELS, TUD, constant_model, require
from vigie.analytics.detect.batching import BatchingConfig, BatchingDetector, DetectorClosed, DetectorOverloaded
from vigie.analytics.detect.letterbox import FrameError
from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig
from vigie.domain.detections import Detections, ObjectClass

cv2 = pytest.importorskip("cv2")


def _dynamic_batch_detector(tmp_path: Path) -> OnnxDetector:
    """A YOLOv8-layout model with a real dynamic batch axis that sees one person in any frame."""
    out = np.zeros((4 + 3, 8400), np.float32)
    out[:4, 0] = [320, 320, 100, 200]
    out[4, 0] = 0.9
    path = constant_model(tmp_path / "v8.onnx", out, ["batch", 3, 640, 640])
    return OnnxDetector(OnnxDetectorConfig(model_path=path, format="yolov8", providers=("cpu",)))


class _Held:
    """The real detector behind a door the test opens: holds the dispatcher busy, as a saturated GPU would."""

    def __init__(self, detector: OnnxDetector) -> None:
        self.detector = detector
        self.door = threading.Event()
        self.batches: list[int] = []

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        self.door.wait(10)
        self.batches.append(len(frames))
        return self.detector.detect_batch(frames)


def test_frames_of_many_cameras_go_in_batches(tmp_path: Path) -> None:
    held = _Held(_dynamic_batch_detector(tmp_path))
    frame = np.zeros((360, 640, 3), np.uint8)
    with BatchingDetector(held, BatchingConfig(max_batch=8, max_wait_s=0.2)) as shared, ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(shared.detect, frame) for _ in range(16)]
        held.door.set()
        results = [f.result(10) for f in futures]
    assert all(len(r) == 1 and r.class_ids[0] == ObjectClass.PERSON for r in results)
    assert sum(held.batches) == 16 and max(held.batches) <= 8
    assert len(held.batches) <= 4, f"16 frames waiting together should need few calls, got {held.batches}"
    assert shared.stats.mean_batch >= 4


def test_each_camera_gets_the_detections_of_its_own_frame() -> None:
    path = require(MODELS / REAL_MODELS["yolox"])
    detector = OnnxDetector(OnnxDetectorConfig(model_path=path, format="yolox", providers=("cpu",)))
    frames = [cv2.imread(str(require(TUD / "img1" / f"{i:06d}.jpg"))) for i in (1, 35, 70)]
    frames.append(np.full_like(frames[0], 127))  # an empty street: nothing
    alone = [detector.detect(f) for f in frames]
    config = BatchingConfig(max_batch=4, max_wait_s=0.02)
    with BatchingDetector(detector, config) as shared, ThreadPoolExecutor(8) as pool:
        together = list(pool.map(shared.detect, frames * 3))
    for k, result in enumerate(together):
        expected = alone[k % len(frames)]
        assert len(result) == len(expected)
        np.testing.assert_allclose(result.boxes, expected.boxes, atol=1e-3)
    assert len(together[3]) == 0 and len(together[0]) >= 3


def test_a_bad_frame_fails_only_its_own_camera(tmp_path: Path) -> None:
    shared = BatchingDetector(_dynamic_batch_detector(tmp_path))
    try:
        with pytest.raises(FrameError, match="uint8"):
            shared.detect(np.zeros((360, 640, 3), np.float32))
        assert len(shared.detect(np.zeros((360, 640, 3), np.uint8))) == 1
    finally:
        shared.close()


def test_a_frame_that_breaks_the_model_fails_only_its_caller(tmp_path: Path) -> None:
    class BreaksOnWhite(_Held):
        def detect_batch(self, frames: Sequence[np.ndarray]) -> list[Detections]:
            self.door.wait(10)
            if any(f.min() == 255 for f in frames):
                raise RuntimeError("model failure on this frame")
            return self.detector.detect_batch(frames)

    held = BreaksOnWhite(_dynamic_batch_detector(tmp_path))
    black, white = np.zeros((100, 100, 3), np.uint8), np.full((100, 100, 3), 255, np.uint8)
    with BatchingDetector(held, BatchingConfig(max_batch=8, max_wait_s=0.05)) as shared, ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(shared.detect, f) for f in (black, white, black, black)]
        held.door.set()
        with pytest.raises(RuntimeError, match="model failure"):
            futures[1].result(10)
        assert all(len(futures[i].result(10)) == 1 for i in (0, 2, 3))
    assert shared.stats.fallbacks >= 1


def test_overload_refuses_at_once_instead_of_queueing(tmp_path: Path) -> None:
    held = _Held(_dynamic_batch_detector(tmp_path))
    frame = np.zeros((100, 100, 3), np.uint8)
    shared = BatchingDetector(held, BatchingConfig(max_batch=1, max_wait_s=0.0, max_pending=2))
    with ThreadPoolExecutor(4) as pool:
        busy = pool.submit(shared.detect, frame)  # taken by the dispatcher, which waits at the door
        while not held.door.is_set() and shared.stats.calls == 0:
            threading.Event().wait(0.01)
        waiting = [pool.submit(shared.detect, frame) for _ in range(2)]
        while len(shared._queue) < 2:  # both in the waiting room
            threading.Event().wait(0.01)
        with pytest.raises(DetectorOverloaded, match="max_pending"):
            shared.detect(frame)
        assert shared.stats.refused == 1
        held.door.set()
        assert len(busy.result(10)) == 1 and all(len(w.result(10)) == 1 for w in waiting)
    shared.close()
    with pytest.raises(DetectorClosed):
        shared.detect(frame)


class _Refusing:
    """A detector that is itself out of capacity (a node's inference service answering too late): it refuses."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        self.calls.append(len(frames))
        raise DetectorOverloaded("no answer from the service in time")


def test_a_refusing_detector_drops_the_whole_batch_without_retrying_frame_by_frame() -> None:
    refusing = _Refusing()
    frame = np.zeros((100, 100, 3), np.uint8)
    with (
        BatchingDetector(refusing, BatchingConfig(max_batch=8, max_wait_s=0.2)) as shared,
        ThreadPoolExecutor(4) as pool,
    ):
        futures = [pool.submit(shared.detect, frame) for _ in range(4)]
        for future in futures:
            with pytest.raises(DetectorOverloaded):
                future.result(10)
    assert sum(refusing.calls) == 4, f"each frame asked once, in batches, never again alone: {refusing.calls}"
    assert shared.stats.fallbacks == 0
