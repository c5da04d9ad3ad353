"""Many cameras analysed in one process: one detector session per model for all of them, their frames inferred in
shared batches, one camera's failure or refused model never stopping the others.

The group body runs in a thread of the test process (as in its own process: the group's main loop, one thread per
camera reading a real H.264 file at its own pace); the models are tiny ONNX graphs made here."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.analytics.onnx_models import constant_model
from tests.support.waiting import wait_for
from vigie.analytics.camera import CameraAnalysis
from vigie.analytics.detect import onnx
from vigie.analytics.detect.batching import BatchingConfig, SharedDetectorSettings
from vigie.analytics.detect.motion import MotionConfig
from vigie.analytics.detect.onnx import OnnxDetector
from vigie.domain.camera import CameraHealth, HealthState
from vigie.domain.detections import Detections
from vigie.domain.digest import file_sha256
from vigie.domain.observation import Observation
from vigie.domain.ports import Gate
from vigie.ingest.backoff import Backoff
from vigie.ingest.reader import StreamSpec
from vigie.runtime.workers.analysis import AnalysisGroupSpec, ModelRefusal, ModelSpec, WorkerSpec, analysis_group
from vigie.runtime.workers.group import HealthReports


class Open:
    """A gate that lets every module run on every camera (these tests are about the process, not governance)."""

    def allows(self, module: str, camera_id: str, at: datetime) -> bool:
        return True

    def zones(self, module: str, camera_id: str) -> tuple[str, ...]:
        return ()


def open_gate(on_transition: object) -> Gate:
    return Open()


def person_model(path: Path, score: float = 0.9) -> Path:
    """A YOLOv8-layout model with a dynamic batch axis that sees one person in any frame."""
    out = np.zeros((4 + 3, 10), np.float32)
    out[:4, 1] = [320, 320, 200, 300]
    out[4, 1] = score
    return constant_model(path, out, ["batch", 3, 640, 640])


def camera(camera_id: str, url: str, model: ModelSpec | None = None) -> WorkerSpec:
    return WorkerSpec(
        stream=StreamSpec(camera_id, url, analysis_fps=5, analysis_width=320, pixel_format="bgr24"),
        motion=MotionConfig(warmup_frames=3),
        gate=open_gate,
        model=model,
    )


class Group:
    """An analysis group's body running in a thread; what it sends is collected in ``messages``."""

    def __init__(self, spec: AnalysisGroupSpec) -> None:
        self.out: queue.Queue[Any] = queue.Queue(maxsize=100_000)
        self.stop = threading.Event()
        self.messages: list[Any] = []
        self._thread = threading.Thread(
            target=analysis_group, args=(spec, self.out, queue.Queue(), self.stop), daemon=True
        )

    def __enter__(self) -> Group:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self._thread.join(15)
        assert not self._thread.is_alive(), "the group stops when asked"

    def received(self) -> list[Any]:
        """What the group sent, its batches of health reports opened as the supervisor opens them."""
        while True:
            try:
                message = self.out.get_nowait()
            except queue.Empty:
                return self.messages
            self.messages.extend(message.reports if isinstance(message, HealthReports) else [message])

    def of(self, kind: type) -> list[Any]:
        return [m for m in self.received() if isinstance(m, kind)]


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """The onnxruntime sessions built while the test runs (by model file)."""
    built: list[Path] = []
    original = onnx._session

    def counted(path: Path, *args: Any, **kwargs: Any) -> Any:
        built.append(path)
        return original(path, *args, **kwargs)

    monkeypatch.setattr(onnx, "_session", counted)
    yield built


@pytest.fixture
def batch_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of frames of each call the model got."""
    sizes: list[int] = []
    original = OnnxDetector.detect_batch

    def spy(self: OnnxDetector, frames: Sequence[np.ndarray]) -> list[Detections]:
        sizes.append(len(frames))
        return original(self, frames)

    monkeypatch.setattr(OnnxDetector, "detect_batch", spy)
    return sizes


def test_the_cameras_of_one_process_share_one_model_session_and_its_batches(
    tmp_path: Path, moving_square_video: Path, sessions: list[Path], batch_sizes: list[int]
) -> None:
    path = person_model(tmp_path / "person.onnx")
    model = ModelSpec("person", path, "yolov8", file_sha256(path))
    cameras = tuple(camera(f"cam-{i}", moving_square_video.as_uri(), model) for i in range(6))
    batching = BatchingConfig(max_wait_s=0.2)  # no wait once the six cameras have a frame in
    spec = AnalysisGroupSpec(
        "analysis-0", cameras, open_gate, detectors=SharedDetectorSettings(batching, providers=("cpu",))
    )
    with Group(spec) as group:

        def tracked() -> set[str]:
            return {o.camera_id for o in group.of(Observation) if o.module == "tracking" and o.kind == "person"}

        wait_for(lambda: len(tracked()) == 6, 60, "persons tracked on the six cameras", context=tracked)
    assert sessions == [path], "one session for the six cameras"
    assert max(batch_sizes) > 1, f"the cameras' frames go to the model together, got batches {batch_sizes}"
    assert all(o.model_version == f"person@sha256:{model.sha256[:16]}" for o in group.of(Observation))


def test_a_failing_camera_analysis_stops_only_that_camera(
    tmp_path: Path, moving_square_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = CameraAnalysis.process

    def breaks_on_bad(self: CameraAnalysis, image: np.ndarray, at: datetime, period: float | None = None) -> Any:
        if self.camera_id == "bad" and self.frames >= 2:
            raise RuntimeError("analysis bug on this camera's picture")
        return original(self, image, at, period)

    monkeypatch.setattr(CameraAnalysis, "process", breaks_on_bad)
    url = moving_square_video.as_uri()
    cameras = (camera("good-1", url), camera("bad", url), camera("good-2", url))
    spec = AnalysisGroupSpec("analysis-0", cameras, open_gate, backoff=Backoff(base_s=0.2, cap_s=0.4))
    with Group(spec) as group:

        def failures() -> list[CameraHealth]:
            return [h for h in group.of(CameraHealth) if h.camera_id == "bad" and h.state == HealthState.OFFLINE]

        wait_for(lambda: len(failures()) >= 2, 30, "the bad camera failing, restarted alone, failing again")

        def healthy_after_failure(camera_id: str) -> list[CameraHealth]:
            first_failure = failures()[0].at
            return [
                h
                for h in group.of(CameraHealth)
                if h.camera_id == camera_id and h.state == HealthState.ONLINE and h.fps_in > 0 and h.at > first_failure
            ]

        for good in ("good-1", "good-2"):
            wait_for(lambda: healthy_after_failure(good), 30, f"{good} analysing on after the bad camera failed")
        motion = {o.camera_id for o in group.of(Observation) if o.module == "motion"}
    assert {"good-1", "good-2"} <= motion
    reason = failures()[0].reason
    assert "internal error RuntimeError" in reason and "camera bad" in reason


def test_a_refused_model_is_reported_for_each_camera_that_uses_it_and_the_others_run(
    tmp_path: Path, moving_square_video: Path
) -> None:
    intact = person_model(tmp_path / "intact.onnx")
    swapped = person_model(tmp_path / "swapped.onnx")
    approved = file_sha256(swapped)
    person_model(swapped, 0.7)  # the file changed after its approval (L30)
    url = moving_square_video.as_uri()
    cameras = (
        camera("good", url, ModelSpec("intact", intact, "yolov8", file_sha256(intact))),
        camera("bad-1", url, ModelSpec("swapped", swapped, "yolov8", approved)),
        camera("bad-2", url, ModelSpec("swapped", swapped, "yolov8", approved)),
    )
    spec = AnalysisGroupSpec("analysis-0", cameras, open_gate, detectors=SharedDetectorSettings(providers=("cpu",)))
    with Group(spec) as group:
        wait_for(lambda: {r.camera_id for r in group.of(ModelRefusal)} == {"bad-1", "bad-2"}, 30, "both refusals")
        wait_for(
            lambda: [o for o in group.of(Observation) if o.camera_id == "good" and o.module == "tracking"],
            60,
            "the intact model tracking on its camera",
        )
    refusal = next(r for r in group.of(ModelRefusal) if r.camera_id == "bad-1")
    assert (refusal.model, refusal.file, refusal.expected_sha256) == ("swapped", str(swapped), approved)
    assert refusal.found_sha256 == file_sha256(swapped) and refusal.modules == ("tracking",)
    assert not [o for o in group.of(Observation) if o.camera_id.startswith("bad")], "no analysis in its place"


def test_the_health_reports_say_what_frames_cost(tmp_path: Path, moving_square_video: Path) -> None:
    """Issue 17's metrics: frames decoded per second (the stream's rate, above the analysis rate), CPU to read and
    decode and time to analyse, per analysed frame."""
    path = person_model(tmp_path / "person.onnx")
    model = ModelSpec("person", path, "yolov8", file_sha256(path))
    spec = AnalysisGroupSpec(
        "analysis-0",
        (camera("cam", moving_square_video.as_uri(), model),),
        open_gate,
        detectors=SharedDetectorSettings(providers=("cpu",)),
    )
    with Group(spec) as group:

        def costed() -> list[CameraHealth]:
            return [
                h
                for h in group.of(CameraHealth)
                if h.state == HealthState.ONLINE and h.fps_in > 0 and h.fps_decoded > 1.5 * h.fps_in
            ]

        wait_for(lambda: len(costed()) >= 2, 30, "health reports with the stream's rate above the analysis rate")
    report = costed()[-1]
    assert 0 < report.decode_s < 0.5, report
    assert 0 < report.inference_s < 5, report
