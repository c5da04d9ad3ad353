"""A thermal camera's detector, from its configuration to the worker's pipeline, behind the gate.

The heat pictures are rendered here (white-hot silhouettes and blobs on a cool, noisy background): the
development data holds no real thermal picture, so nothing below claims what a real thermal camera gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.analytics.onnx_models import MODELS, REAL_MODELS, require
from tests.support.thermal_camera import T0, Audit, camera, gate, no_gate_factory
from vigie.analytics.camera import OncePerFrame, object_detector
from vigie.analytics.detect.gating import MotionGatedDetector
from vigie.analytics.detect.onnx import OnnxDetector
from vigie.analytics.detect.thermal import ThermalDetector, ThermalPicture
from vigie.config import ConfigError
from vigie.config.detectors import HotBlobDetectorSettings
from vigie.domain.observation import Observation
from vigie.domain.ports import Gate
from vigie.ingest.reader import SampledFrame
from vigie.runtime.assembly.models import ModelRegistry
from vigie.runtime.assembly.service import ServiceError, model_spec, worker_spec
from vigie.runtime.workers.analysis import WorkerSpec, camera_analysis, camera_settings

W, H = 640, 480


def silhouette(frame: np.ndarray, x: int, y: int, height: int, warmth: float) -> None:
    """A white-hot standing pedestrian (head, torso, arms, legs), soft-edged, added to ``frame`` in place."""
    shape = np.zeros(frame.shape, np.float32)
    w = height * 0.28
    cv2.circle(shape, (x, int(y + height * 0.07)), int(height * 0.065), 1.0, -1)
    cv2.ellipse(shape, (x, int(y + height * 0.32)), (int(w * 0.5), int(height * 0.2)), 0, 0, 360, 1.0, -1)
    for top, bottom, thick in (
        ((-0.2, 0.5), (-0.35, 1.0), 0.3),
        ((0.2, 0.5), (0.3, 1.0), 0.3),
        ((-0.5, 0.18), (-0.65, 0.52), 0.18),
        ((0.5, 0.18), (0.62, 0.52), 0.18),
    ):
        start = (int(x + w * top[0]), int(y + height * top[1]))
        end = (int(x + w * bottom[0]), int(y + height * bottom[1]))
        cv2.line(shape, start, end, 1.0, max(1, int(w * thick)))
    frame += warmth * cv2.GaussianBlur(shape, (5, 5), 0)


def night_scene(
    seed: int, people: Sequence[tuple[int, int, int]] = ((150, 170, 190), (330, 150, 220), (500, 190, 170))
) -> np.ndarray:
    """A cool, noisy scene with a mild gradient and three pedestrians (x, top, height), 8-bit grey."""
    rng = np.random.default_rng(seed)
    frame = 70 + rng.normal(0, 3, (H, W)) + np.linspace(0, 10, W)[None, :]
    for x, top, height in people:
        silhouette(frame, x, top, height, 90)
    out: np.ndarray = np.clip(frame, 0, 255).astype(np.uint8)
    return out


def samples(frames: Sequence[np.ndarray]) -> list[SampledFrame]:
    return [SampledFrame(f, T0 + timedelta(seconds=i / 5), 1, "h264", W, H) for i, f in enumerate(frames)]


def run(spec: WorkerSpec, gate: Gate, frames: Sequence[np.ndarray]) -> list[Observation]:
    analysis = camera_analysis(spec, gate)
    found: list[Observation] = []
    for sample in samples(frames):
        found += [o for o in analysis.process(sample.image, sample.at) if isinstance(o, Observation)]
    return found


def _detector_of(spec: WorkerSpec) -> tuple[OncePerFrame | None, str]:
    return object_detector(camera_settings(spec))


# --- hot blobs -------------------------------------------------------------------------------------------------


def test_a_thermal_camera_runs_the_hot_blob_detector_its_configuration_names() -> None:
    cam = camera("thermal", "{kind: hot_blob, k_sigma: 4, min_area: 0.002}")
    spec = worker_spec(cam, no_gate_factory, model_spec(cam, ModelRegistry(Path("/nonexistent"), Audit())))
    assert spec.model is None and spec.stream.pixel_format == "gray"
    assert spec.hot_blob == HotBlobDetectorSettings(k_sigma=4, min_area=0.002)
    detector, version = _detector_of(spec)
    assert detector is not None and version.startswith("hot_blob@sha256:")

    hot_spot = night_scene(7, people=())
    hot_spot[200:240, 260:380] = 230  # wider than tall: a fire start, a hot engine — not a person
    found = run(spec, gate("tracking"), [*(night_scene(i) for i in range(4)), hot_spot, hot_spot, hot_spot])
    people = [len(o.regions) for o in found if o.kind == "person" and o.at < T0 + timedelta(seconds=0.8)]
    spots = [len(o.regions) for o in found if o.kind == "hot_spot"]
    assert len(people) >= 2 and set(people) == {3}  # once the tracker confirms them: the three pedestrians
    assert spots and set(spots) == {1}
    assert {o.model_version for o in found} == {version} and all(o.module == "tracking" for o in found)


def test_without_an_activation_the_hot_blob_detector_neither_detects_nor_learns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cam = camera("thermal", "{kind: hot_blob}")
    spec = worker_spec(cam, no_gate_factory)
    calls: list[int] = []
    original = ThermalDetector.detect

    def counted(self: ThermalDetector, frame: np.ndarray) -> object:
        calls.append(1)
        return original(self, frame)

    monkeypatch.setattr(ThermalDetector, "detect", counted)
    assert run(spec, gate(), [night_scene(i) for i in range(5)]) == []  # no activation
    assert run(spec, gate("fire_start"), [night_scene(i) for i in range(5)]) == []  # another module's
    assert calls == []


def test_closing_the_gate_makes_the_hot_blob_detector_forget_its_background() -> None:
    spec = worker_spec(camera("thermal", "{kind: hot_blob}"), no_gate_factory)
    detector, _ = _detector_of(spec)
    assert detector is not None
    inner = detector.detector
    assert isinstance(inner, ThermalDetector)
    detector.detect(night_scene(1))
    detector.frame_done()
    assert inner._background is not None  # learnt while asked
    detector.frame_done()  # a frame no open module asked for: analysis is off
    assert inner._background is None


def test_hot_blob_on_a_visible_light_camera_is_refused_with_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        camera("fixed", "{kind: hot_blob}")
    [issue] = caught.value.issues
    assert (issue.line, issue.field) == (23, "communes.0.sites.0.cameras.0.analysis.detector.kind")
    assert "hot_blob detector reads heat" in issue.message and "`fixed`" in issue.message


# --- an object detection model on the thermal picture -----------------------------------------------------------


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    """The real YOLOX-Nano, registered as `vigie models add` does (skipped without ../shared/data)."""
    source = require(MODELS / REAL_MODELS["yolox"])
    registry = ModelRegistry(tmp_path_factory.mktemp("models"), Audit())
    registry.add(source, "yolox", "yolox_nano")
    return registry


def test_a_thermal_camera_with_a_model_runs_it_on_the_grey_picture_in_three_channels(
    registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    cam = camera("thermal", "{kind: model, name: yolox_nano}")
    model = model_spec(cam, registry)
    assert model is not None and model.grey_picture and model.name == "yolox_nano"
    spec = worker_spec(cam, no_gate_factory, model)
    assert spec.stream.pixel_format == "gray" and spec.hot_blob is None
    detector, version = _detector_of(spec)
    assert detector is not None and version.startswith("yolox_nano@sha256:")
    gated = detector.detector
    assert isinstance(gated, MotionGatedDetector) and isinstance(gated.detector, ThermalPicture)
    assert isinstance(gated.detector.detector, OnnxDetector)

    seen: list[np.ndarray] = []
    original = OnnxDetector.detect_batch

    def spy(self: OnnxDetector, frames: Sequence[np.ndarray]) -> object:
        seen.extend(frames)
        return original(self, frames)

    monkeypatch.setattr(OnnxDetector, "detect_batch", spy)
    found = run(spec, gate("tracking"), [night_scene(i) for i in range(4)])
    assert len(seen) == 4 and all(f.shape == (H, W, 3) for f in seen)
    assert all((f[..., 0] == f[..., 1]).all() and (f[..., 1] == f[..., 2]).all() for f in seen)
    people = [o for o in found if o.kind == "person"]
    assert len(people) >= 2 and all(len(o.regions) == 3 for o in people)  # the three rendered pedestrians

    seen.clear()
    assert run(spec, gate(), [night_scene(i) for i in range(3)]) == []  # no activation: no detection
    assert seen == []


def test_a_visible_light_camera_keeps_its_colour_picture(registry: ModelRegistry) -> None:
    cam = camera("fixed", "yolox_nano")  # the bare name of earlier files: a model
    model = model_spec(cam, registry)
    assert model is not None and not model.grey_picture
    spec = worker_spec(cam, no_gate_factory, model)
    assert spec.stream.pixel_format == "bgr24"
    detector, _ = _detector_of(spec)
    assert detector is not None and isinstance(detector.detector, MotionGatedDetector)
    assert isinstance(detector.detector.detector, OnnxDetector)


def test_a_model_that_is_not_installed_stops_the_start_with_what_to_run(tmp_path: Path) -> None:
    cam = camera("thermal", "{kind: model, name: picodet_s_320}")
    with pytest.raises(ServiceError) as caught:
        model_spec(cam, ModelRegistry(tmp_path, Audit()))
    message = str(caught.value)
    assert "camera bois-1" in message and "'picodet_s_320'" in message and "installed: none" in message
    assert "vigie models install picodet_s_320" in message
