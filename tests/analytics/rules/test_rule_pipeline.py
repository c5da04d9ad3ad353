"""The event modules behind the governance gate: each module runs only while its own activation covers the camera,
is reset when it stops, and its observations carry nothing beyond event type, camera, time, region, score and
model version (L28, L30)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tests.analytics.rules.scripted import SIZE, Walker, background, detections_at, picture_at
from tests.analytics.rules.test_still_modules import left_bag
from vigie.analytics.rules.abandoned_object import AbandonedObject, AbandonedObjectConfig
from vigie.analytics.rules.intrusion import Intrusion, IntrusionConfig
from vigie.analytics.rules.pipeline import RulePipeline
from vigie.analytics.rules.wrong_way import WrongWay, WrongWayConfig
from vigie.domain.detections import Detections, ObjectClass
from vigie.domain.observation import Observation
from vigie.governance.gate import ActivationGate, ClosedGate, GateRules, Window

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ZONE = ((0.6, 0.7), (0.9, 0.7), (0.9, 0.95), (0.6, 0.95))


class Rules:
    """Approved windows per module on camera ``cam-1``; ``stop(module)`` ends one (as a revocation would)."""

    def __init__(self, *modules: str) -> None:
        self.windows = {
            (m, "cam-1"): (Window(k + 1, T0 - timedelta(hours=1), T0 + timedelta(hours=1)),)
            for k, m in enumerate(modules)
        }

    def stop(self, module: str) -> None:
        self.windows.pop((module, "cam-1"), None)

    def rules(self, now: datetime) -> GateRules:
        return GateRules(windows=dict(self.windows))


class Replay:
    """Detections of a scripted scene, as a detector would return them frame after frame (and a call count)."""

    def __init__(self, walkers: list[Walker]) -> None:
        self.walkers, self.calls, self.t = walkers, 0, 0.0
        self.rng = np.random.default_rng(0)

    def detect(self, frame_bgr: np.ndarray) -> Detections:
        self.calls += 1
        return detections_at(self.walkers, self.t, self.rng, 1.0)


def scene() -> list[Walker]:
    intruder = Walker(ObjectClass.PERSON, [(0, 0.3, 0.85), (3, 0.75, 0.85), (40, 0.75, 0.85)])
    against = Walker(ObjectClass.PERSON, [(0, 1.02, 0.5), (12, -0.02, 0.5)])
    return [intruder, against]


def run(
    pipeline: RulePipeline, replay: Replay, seconds: float, rules: Rules | None = None, stop_at: float = 1e9
) -> list[Observation]:
    frame = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    out: list[Observation] = []
    for step in range(round(seconds * 5) + 1):
        replay.t = step / 5
        if rules is not None and replay.t >= stop_at:
            rules.stop("intrusion")
        out += pipeline.process(frame, T0 + timedelta(seconds=replay.t), replay.t, 0.2).observations
    return out


def modules() -> list[Intrusion | WrongWay]:
    return [
        Intrusion(IntrusionConfig.model_validate({"zones": [ZONE], "min_duration_s": 1})),
        WrongWay(WrongWayConfig.model_validate({"flow": [(0, 0.5), (1, 0.5)]})),
    ]


def test_nothing_runs_and_nothing_is_detected_behind_a_closed_gate() -> None:
    replay = Replay(scene())
    pipeline = RulePipeline("cam-1", modules(), ClosedGate(), detector=replay, model_version="m@sha256:ab")
    assert run(pipeline, replay, 10) == []
    assert replay.calls == 0 and pipeline.frames_analysed == 0


def test_each_module_runs_under_its_own_activation_only() -> None:
    replay = Replay(scene())
    gate = ActivationGate(Rules("wrong_way"), lambda: T0, cache_ttl_s=0)
    pipeline = RulePipeline("cam-1", modules(), gate, detector=replay, model_version="m@sha256:ab")
    observations = run(pipeline, replay, 12)
    assert [o.module for o in observations] == ["wrong_way"]


def test_a_module_stopped_mid_incident_is_reset_and_the_others_go_on() -> None:
    rules = Rules("intrusion", "wrong_way")
    replay = Replay(scene())
    pipeline = RulePipeline("cam-1", modules(), ActivationGate(rules, lambda: T0, cache_ttl_s=0), detector=replay)
    observations = run(pipeline, replay, 12, rules, stop_at=2.6)  # the intruder entered at 2.0 s: no alert yet
    assert [o.module for o in observations] == ["wrong_way"]
    intrusion = pipeline._rules[0]
    assert len(intrusion._dwell._stays) == 0


def test_observations_carry_only_what_the_law_allows() -> None:
    replay = Replay(scene())
    gate = ActivationGate(Rules("intrusion", "wrong_way"), lambda: T0, cache_ttl_s=0)
    pipeline = RulePipeline("cam-1", modules(), gate, detector=replay, model_version="yolox@sha256:0123")
    observations = run(pipeline, replay, 12)
    assert {o.kind for o in observations} == {"intrusion", "wrong_way"}
    fields = {f.name for f in dataclasses.fields(Observation)}
    assert fields == {"camera_id", "module", "kind", "at", "regions", "score", "model_version", "version"}
    for o in observations:
        assert o.camera_id == "cam-1" and o.model_version == "yolox@sha256:0123" and 0 < o.score <= 1
        assert len(o.regions) == 1 and 0 <= o.regions[0].x <= 1


def test_a_module_reading_objects_needs_a_detector() -> None:
    with pytest.raises(ValueError, match="intrusion, wrong_way need an object detector"):
        RulePipeline("cam-1", modules(), ClosedGate())


def test_the_pipeline_gives_abandoned_object_the_picture_and_a_bag_no_detector_sees_is_raised_once() -> None:
    """Through the camera's rule pipeline (as ``vigie serve`` runs it): the detector reports only the person, the
    module reads the bag from the analysed picture; one observation, after the owner left."""
    walkers = left_bag(until=60.0)
    person_only = Replay([w for w in walkers if w.cls is not ObjectClass.BAG])
    rules = Rules("abandoned_object")
    rule = AbandonedObject(AbandonedObjectConfig(min_duration_s=10))
    pipeline = RulePipeline("cam-1", [rule], ActivationGate(rules, lambda: T0, cache_ttl_s=0), detector=person_only)
    ground, out = background(), []
    for step in range(40 * 5 + 1):
        person_only.t = t = step / 5
        frame = np.repeat(picture_at(walkers, t, ground, 1.0)[:, :, None], 3, axis=2)  # BGR, as decoded
        out += pipeline.process(frame, T0 + timedelta(seconds=t), t, 0.2).observations
    assert [o.module for o in out] == ["abandoned_object"]
    assert 17 <= (out[0].at - T0).total_seconds() <= 19.5
