"""A thermal camera running both detectors at once, from its configuration to the worker's pipeline: persons from
YOLOX-Nano on the grey picture, hot spots from the hot-blob detector, each observation naming its own detector.

The frames are the simulator's thermal rendering of real silhouettes (:mod:`vigie.sim.thermal`, people cut out of
TUD-Campus): skipped without the development data, like every test of a real model.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import pytest

from tests.analytics.onnx_models import MODELS, REAL_MODELS, TUD, require
from tests.support.thermal_camera import T0, Audit, camera, gate, no_gate_factory
from vigie.analytics.camera import hot_blob_version
from vigie.analytics.detect.gating import MotionGatedDetector
from vigie.analytics.detect.onnx import OnnxDetector
from vigie.analytics.detect.thermal import HotSpotsBeside, ThermalDetector
from vigie.analytics.track.matching import box_iou
from vigie.config.detectors import HotBlobDetectorSettings
from vigie.domain.observation import Observation
from vigie.runtime.assembly.models import ModelRegistry
from vigie.runtime.assembly.service import model_spec, worker_spec
from vigie.runtime.workers.analysis import WorkerSpec, camera_analysis
from vigie.sim.cutouts import person_cutouts
from vigie.sim.thermal import HotSpot, Placed, ThermalFrame, ThermalRenderer

W, H = 640, 480
FIRE = HotSpot((256, 110), 18, 100.0)
BOTH = "{kind: model, name: yolox_nano, hot_spots: {k_sigma: 4}}"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    source = require(MODELS / REAL_MODELS["yolox"])
    registry = ModelRegistry(tmp_path_factory.mktemp("models"), Audit())
    registry.add(source, "yolox", "yolox_nano")
    return registry


@pytest.fixture(scope="module")
def street() -> list[ThermalFrame]:
    """Six frames of a night street: three people walking (real silhouettes, 160 px, +80 levels) and a fire start."""
    people = person_cutouts(require(TUD), limit=3, seed=5)  # three YOLOX-Nano finds in every frame (scores ≥ 0.6)
    background = np.full((H, W, 3), 110, np.uint8)
    background[H // 2 :] = 90  # a darker ground: the renderer makes the bottom warmer anyway
    renderer = ThermalRenderer(background, (W, H), seed=1)
    frames = []
    for k in range(6):
        walkers = [Placed(c, (int(x * W) + 6 * k, 400), 160, 80.0) for c, x in zip(people, (0.1, 0.3, 0.75))]
        frames.append(renderer.render(k, walkers, hot_spots=[FIRE]))
    return frames


def run(spec: WorkerSpec, modules: Sequence[str], frames: Sequence[ThermalFrame]) -> list[Observation]:
    analysis = camera_analysis(spec, gate(*modules))
    found: list[Observation] = []
    for k, frame in enumerate(frames):
        at = T0 + timedelta(seconds=k / 5)
        found += [o for o in analysis.process(frame.image, at) if isinstance(o, Observation)]
    return found


def pixels(observation: Observation) -> np.ndarray:
    return np.array([(r.x * W, r.y * H, (r.x + r.w) * W, (r.y + r.h) * H) for r in observation.regions])


def xyxy(boxes: Sequence[tuple[int, int, int, int]]) -> np.ndarray:
    return np.array([(x, y, x + w, y + h) for x, y, w, h in boxes], float)


def test_a_thermal_camera_reports_persons_from_the_model_and_hot_spots_from_the_hot_blob_detector(
    registry: ModelRegistry, street: list[ThermalFrame]
) -> None:
    cam = camera("thermal", BOTH)
    model = model_spec(cam, registry)
    spec = worker_spec(cam, no_gate_factory, model)
    assert spec.model is not None and spec.model.grey_picture and spec.stream.pixel_format == "gray"
    assert spec.hot_blob == HotBlobDetectorSettings(k_sigma=4, classify_persons=False)
    analysis = camera_analysis(spec, gate("tracking"))
    both = analysis.detector.detector if analysis.detector is not None else None
    assert isinstance(both, HotSpotsBeside) and isinstance(both.objects, MotionGatedDetector)
    yolox, spots = spec.model.name + "@sha256:" + spec.model.sha256[:16], hot_blob_version(spec.hot_blob)
    assert analysis.model_version == f"{yolox}+{spots}"

    found = run(spec, ["tracking"], street)
    people = [o for o in found if o.kind == "person"]
    hot = [o for o in found if o.kind == "hot_spot"]
    assert {o.kind for o in found} == {"person", "hot_spot"}
    assert {o.model_version for o in people} == {yolox} and {o.model_version for o in hot} == {spots}
    assert len(people) >= 3 and all(len(o.regions) == 3 for o in people)  # once tracked: the three walkers
    truth = {o.at: xyxy(street[round((o.at - T0).total_seconds() * 5)].persons) for o in people}
    assert all((box_iou(pixels(o), truth[o.at]).max(axis=1) >= 0.5).all() for o in people)
    # one hot spot, the fire: the walkers' warmth is theirs (explained by the model's boxes), never a hot spot too
    assert hot and all(len(o.regions) == 1 for o in hot)
    fire = xyxy(street[0].hot_spots)
    assert all(box_iou(pixels(o), fire).max() >= 0.3 for o in hot)


def test_the_same_person_is_not_reported_twice_but_alone_the_hot_blob_detector_calls_it_a_hot_spot(
    registry: ModelRegistry, street: list[ThermalFrame]
) -> None:
    """The reason for the explained-blob rule: without the model, the same settings see four hot spots."""
    alone = worker_spec(camera("thermal", "{kind: hot_blob, k_sigma: 4, classify_persons: false}"), no_gate_factory)
    spots = [o for o in run(alone, ["tracking"], street) if o.kind == "hot_spot"]
    assert spots and max(len(o.regions) for o in spots) == 4
    cam = camera("thermal", BOTH)
    both = worker_spec(cam, no_gate_factory, model_spec(cam, registry))
    assert max(len(o.regions) for o in run(both, ["tracking"], street) if o.kind == "hot_spot") == 1


def test_an_event_module_reading_both_carries_both_identities(
    registry: ModelRegistry, street: list[ThermalFrame]
) -> None:
    cam = camera("thermal", BOTH + "\n              modules:\n                intrusion: {zones: "
                 "[[[0, 0], [1, 0], [1, 1], [0, 1]]], min_duration_s: 0}")  # fmt: skip
    model = model_spec(cam, registry)
    spec = worker_spec(cam, no_gate_factory, model)
    assert model is not None and spec.hot_blob is not None
    found = [o for o in run(spec, ["intrusion"], street) if o.module == "intrusion"]
    assert found
    both = f"yolox_nano@sha256:{model.sha256[:16]}+{hot_blob_version(spec.hot_blob)}"
    assert {o.model_version for o in found} == {both}


def test_without_an_activation_neither_detector_runs(
    registry: ModelRegistry, street: list[ThermalFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    blob_detect, onnx_batch = ThermalDetector.detect, OnnxDetector.detect_batch

    def blob(self: ThermalDetector, frame: np.ndarray) -> object:
        calls.append("hot_blob")
        return blob_detect(self, frame)

    def onnx(self: OnnxDetector, frames: Sequence[np.ndarray]) -> object:
        calls.append("model")
        return onnx_batch(self, frames)

    monkeypatch.setattr(ThermalDetector, "detect", blob)
    monkeypatch.setattr(OnnxDetector, "detect_batch", onnx)
    cam = camera("thermal", BOTH)
    spec = worker_spec(cam, no_gate_factory, model_spec(cam, registry))
    assert run(spec, [], street) == []
    assert run(spec, ["fire_start"], street) == []  # another module's activation
    assert calls == []
    run(spec, ["tracking"], street[:2])
    assert set(calls) == {"hot_blob", "model"}
