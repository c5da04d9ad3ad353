"""One camera's analysis step with the process's shared detector: cameras share one loaded model per file and
settings, a camera never waits for the shared detector without end (its frame is dropped and counted), and a
frame whose camera gave up is never inferred."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.support.waiting import wait_for
from vigie.analytics.camera import CameraAnalysis, CameraSettings, ObjectModel
from vigie.analytics.detect.batching import (
    BatchingConfig,
    BatchingDetector,
    DetectorOverloaded,
    SharedDetectors,
    SharedDetectorSettings,
)
from vigie.analytics.detect.motion import MotionConfig
from vigie.analytics.detect.onnx import OnnxDetectorConfig
from vigie.domain.detections import Detections, ObjectClass

T0 = datetime(2026, 12, 4, 20, tzinfo=UTC)
SHA = "ab" * 32


class Open:
    def allows(self, module: str, camera_id: str, at: datetime) -> bool:
        return True

    def zones(self, module: str, camera_id: str) -> tuple[str, ...]:
        return ()


class Person:
    """A detector that sees one person in every frame, behind a door the test opens (a saturated GPU)."""

    def __init__(self, door_open: bool = True) -> None:
        self.door = threading.Event()
        if door_open:
            self.door.set()
        self.seen: list[int] = []

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        self.door.wait(10)
        self.seen.extend(int(f[0, 0, 0]) for f in frames)
        box = np.array([[10, 10, 60, 120]], np.float32)
        return [Detections.create(box, [0.9], [ObjectClass.PERSON]) for _ in frames]


def model(name: str = "person", threshold: float | None = None, grey: bool = False) -> ObjectModel:
    return ObjectModel(name, Path(f"/models/{name}.onnx"), "yolov8", SHA, grey, threshold)


def settings(camera_id: str, object_model: ObjectModel) -> CameraSettings:
    return CameraSettings(camera_id, MotionConfig(warmup_frames=2), analysis_fps=5, model=object_model)


def frame(value: int) -> np.ndarray:
    return np.full((120, 160, 3), value, np.uint8)


def test_cameras_share_one_loaded_model_per_file_and_settings() -> None:
    loaded: list[OnnxDetectorConfig] = []

    def load(config: OnnxDetectorConfig) -> Person:
        loaded.append(config)
        return Person()

    detectors = SharedDetectors(SharedDetectorSettings(intra_op_threads=1, providers=("cpu",)), load=load)
    try:
        cameras = [CameraAnalysis(settings(f"cam-{i}", model()), Open(), detectors=detectors) for i in range(8)]
        thermal = CameraAnalysis(settings("thermal", model(grey=True)), Open(), detectors=detectors)
        assert len(loaded) == 1 and detectors.sessions_built == 1, "one session for eight cameras and a thermal one"
        assert loaded[0].intra_op_threads == 1 and loaded[0].sha256 == SHA
        [shared] = detectors.detectors().values()
        assert shared.clients == 9
        CameraAnalysis(settings("strict", model(threshold=0.6)), Open(), detectors=detectors)
        assert detectors.sessions_built == 2, "another score threshold is another detector"
        found = cameras[0].process(frame(50), T0)
        found += thermal.process(np.full((120, 160), 50, np.uint8), T0)
        assert {o.model_version for o in found} <= {"person@sha256:" + SHA[:16]}
        for camera in [*cameras, thermal]:
            camera.close()
        assert shared.clients == 0
    finally:
        detectors.close()


def test_a_camera_never_waits_for_a_saturated_detector_longer_than_its_timeout() -> None:
    held = Person(door_open=False)
    config = BatchingConfig(max_wait_s=0.0, timeout_s=0.3)
    detectors = SharedDetectors(SharedDetectorSettings(config), load=lambda _: held)
    busy = CameraAnalysis(settings("busy", model()), Open(), detectors=detectors)
    late = CameraAnalysis(settings("late", model()), Open(), detectors=detectors)
    try:
        taken = threading.Thread(target=busy.process, args=(frame(1), T0))
        taken.start()  # its frame holds the detector (the door is shut)
        shared = detectors.detectors()[model().key]
        wait_for(lambda: shared.stats.calls == 1, 10, "the busy camera's frame taken by the detector")
        started = datetime.now(UTC)
        assert late.process(frame(2), T0) == []  # waits in the room, then gives up
        assert datetime.now(UTC) - started < timedelta(seconds=3)
        assert late.dropped == 1
        taken.join(5)
        assert busy.dropped == 1, "the frame in the stuck batch timed out too"
        held.door.set()
        later = T0 + timedelta(seconds=0.2)
        late.process(frame(3), later)
        assert late.dropped == 1 and 3 in held.seen, "with the detector free again, the camera's frames are analysed"
        assert 2 not in held.seen, "the frame whose camera gave up was not inferred"
        assert shared.stats.timed_out == 2
    finally:
        held.door.set()
        detectors.close()


def test_overload_raises_at_once_and_timeouts_say_what_happened() -> None:
    held = Person(door_open=False)
    shared = BatchingDetector(held, BatchingConfig(max_batch=1, max_wait_s=0.0, max_pending=1, timeout_s=0.2))
    try:
        with pytest.raises(DetectorOverloaded, match=r"within 0\.2 s"):
            shared.detect(frame(1))  # taken by the dispatcher, stuck behind the door
        with pytest.raises(DetectorOverloaded, match=r"within 0\.2 s"):
            shared.detect(frame(2))  # waits in the room, then gives up (and leaves it)
        assert len(shared._queue) == 0, "a frame whose camera gave up leaves the waiting room"
        outcome: list[str] = []

        def wait_in_the_room() -> None:
            try:
                shared.detect(frame(3))
            except DetectorOverloaded as err:
                outcome.append(str(err))

        waiting = threading.Thread(target=wait_in_the_room)
        waiting.start()
        while len(shared._queue) < 1:
            threading.Event().wait(0.01)
        with pytest.raises(DetectorOverloaded, match="max_pending"):
            shared.detect_batch([frame(4), frame(5)])
        waiting.join(5)
        assert shared.stats.refused == 2 and "within" in outcome[0]
    finally:
        held.door.set()
        shared.close()


def test_privacy_masks_without_a_masker_are_refused() -> None:
    masked = CameraSettings("cam", privacy_masks=(((0.0, 0.0), (0.5, 0.0), (0.5, 0.5)),))
    with pytest.raises(ValueError, match="privacy masks need a masker"):
        CameraAnalysis(masked, Open())


def test_a_model_with_a_fixed_batch_gets_that_many_frames_at_a_time() -> None:
    class FixedBatch(Person):
        batch_size = 1

    fixed, dynamic = SharedDetectors(load=lambda _: FixedBatch()), SharedDetectors(load=lambda _: Person())
    try:
        assert fixed.get(model().key).config.max_batch == 1, "each camera's result as soon as its frame is inferred"
        assert dynamic.get(model().key).config.max_batch == 64
    finally:
        fixed.close()
        dynamic.close()
