"""Detection → tracking → zones → observations on real footage with a real model, under the gate; and the same
pipeline inside a supervised camera worker process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2

from tests.analytics.onnx_models import MODELS, TUD, require
from tests.support.configs import authorised_around, config_yaml
from tests.support.waiting import wait_for
from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig
from vigie.analytics.pipeline import DETECTION_MODULE, DetectionPipeline
from vigie.analytics.track import ByteTracker
from vigie.analytics.zones import PolygonZone
from vigie.config import load_config_text
from vigie.domain.observation import Observation
from vigie.governance.gate import ActivationGate, ClosedGate, GateRules, Window
from vigie.runtime.assembly.gates import DatabaseGateFactory
from vigie.runtime.assembly.models import sha256_of
from vigie.runtime.assembly.service import worker_spec
from vigie.runtime.workers.analysis import ModelSpec
from vigie.runtime.workers.supervisor import CameraSupervisor
from vigie.storage import create_engine_for, migrate

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def tud_frames(count: int) -> list[cv2.typing.MatLike]:
    require(TUD / "img1" / "000001.jpg")
    return [cv2.imread(str(TUD / "img1" / f"{i:06d}.jpg")) for i in range(1, count + 1)]


def detector() -> OnnxDetector:
    return OnnxDetector(OnnxDetectorConfig(model_path=require(MODELS / "yolox_nano.onnx"), format="yolox"))


class TrackingWindow:
    def rules(self, now: datetime) -> GateRules:
        return GateRules(
            windows={(DETECTION_MODULE, "cam"): (Window(1, NOW - timedelta(hours=1), NOW + timedelta(hours=1)),)}
        )


def test_persons_are_observed_with_tracked_regions_and_the_model_hash() -> None:
    gate = ActivationGate(TrackingWindow(), lambda: NOW)
    pipeline = DetectionPipeline("cam", detector(), ByteTracker(), gate, model_version="yolox_nano@sha256:abc")
    observations: list[Observation] = []
    for i, frame in enumerate(tud_frames(6)):
        observations += pipeline.process(frame, NOW + timedelta(seconds=i * 0.2), 0.2)
    persons = [o for o in observations if o.kind == "person"]
    assert persons, "TUD-Campus shows pedestrians"
    assert all(o.module == DETECTION_MODULE and o.model_version == "yolox_nano@sha256:abc" for o in persons)
    assert max(len(o.regions) for o in persons) >= 3
    assert all(0 <= r.x <= 1 and 0 < r.w <= 1 for o in persons for r in o.regions)


def test_nothing_without_the_gate_and_nothing_outside_the_zones() -> None:
    frames = tud_frames(4)
    closed = DetectionPipeline("cam", detector(), ByteTracker(), ClosedGate(), model_version="m")
    assert [o for i, f in enumerate(frames) for o in closed.process(f, NOW, 0.2)] == []
    assert closed.frames_analysed == 0
    corner = PolygonZone(((0.0, 0.0), (0.05, 0.0), (0.05, 0.05), (0.0, 0.05)))
    gate = ActivationGate(TrackingWindow(), lambda: NOW)
    zoned = DetectionPipeline("cam", detector(), ByteTracker(), gate, model_version="m", zones=[corner])
    assert [o for i, f in enumerate(frames) for o in zoned.process(f, NOW + timedelta(seconds=i), 0.2)] == []


def test_a_camera_worker_runs_the_model_it_is_given(tmp_path: Path) -> None:
    video = require(MODELS.parent / "video" / "one-by-one-person-detection.mp4")
    model = require(MODELS / "yolox_nano.onnx")
    valid_from, valid_until = authorised_around()  # the worker runs in real time
    camera_yaml = f"""          - id: room
            name: Room
            kind: fixed
            main_stream: {video.as_uri()}
            location: {{lat: 45.76, lon: 4.83}}
            authorisation:
              reference: T
              valid_from: {valid_from}
              valid_until: {valid_until}
              purposes: [crime_prevention]
              retention_days: 7
            analysis: {{fps: 4, detector: yolox_nano}}
"""
    config = load_config_text(config_yaml(tmp_path, camera_yaml))
    migrate(create_engine_for(config.storage.database_url))
    camera = next(config.placements()).camera
    spec = worker_spec(
        camera,
        DatabaseGateFactory(config, frozenset({"room"})),
        ModelSpec("yolox_nano", model, "yolox", sha256_of(model)),
    )
    assert spec.stream.pixel_format == "bgr24"
    seen: list[object] = []
    supervisor = CameraSupervisor([spec], seen.append)
    supervisor.start()
    try:
        wait_for(
            lambda: any(isinstance(m, Observation) for m in seen),
            30,
            "the people entering the room observed",
            every=0.3,
        )
    finally:
        supervisor.stop()
    observations = [m for m in seen if isinstance(m, Observation)]
    assert observations, "the worker must observe the people entering the room"
    assert {o.kind for o in observations} <= {"person", "bag", "bicycle", "car", "motorcycle", "bus", "truck"}
    assert all(o.model_version.startswith("yolox_nano@sha256:") for o in observations)
