"""One inference service per cluster node, on a real local Ray with the real YOLOX-Nano model: two analysis groups
(each its own Ray actor, its own process, as on a cluster node) load the model through their node's service — one
session for the node, counted — and get the same detections as a session of their own; a service that dies drops
the frames in flight (counted, the camera goes on) and serves again once Ray restarted it; a model file that
changed since its approval is refused through the service (L30) and no session is built for it."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.analytics.onnx_models import DATA, MODELS, REAL_MODELS, TUD, require
from tests.support.waiting import wait_for
from vigie.analytics.camera import CameraAnalysis, CameraSettings, ObjectModel
from vigie.analytics.detect.batching import (
    BatchingConfig,
    DetectorOverloaded,
    ModelKey,
    SharedDetectors,
    SharedDetectorSettings,
)
from vigie.analytics.detect.motion import MotionConfig
from vigie.analytics.detect.onnx import ModelFormatError, ModelIntegrityError, OnnxDetector, OnnxDetectorConfig
from vigie.cluster.actor import GroupActor, NodeStore
from vigie.cluster.inference import (
    NodeInference,
    ServiceDetector,
    ServiceStats,
    end_services,
    node_has_gpu,
    service_name,
)
from vigie.domain.detections import Detections
from vigie.domain.observation import Observation
from vigie.domain.ports import Gate
from vigie.ingest.reader import StreamSpec
from vigie.runtime.workers.analysis import AnalysisGroupSpec, ModelRefusal, ModelSpec, WorkerSpec

ray = pytest.importorskip("ray")
cv2 = pytest.importorskip("cv2")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SETTINGS = SharedDetectorSettings(BatchingConfig(max_batch=8, max_wait_s=0.01, timeout_s=5.0), providers=("cpu",))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def yolox_key() -> ModelKey:
    path = require(MODELS / REAL_MODELS["yolox"])
    return ModelKey(path, "yolox", None, sha256(path))


def tud_frames() -> list[np.ndarray]:
    frames = [cv2.imread(str(require(TUD / "img1" / f"{i:06d}.jpg"))) for i in (1, 20, 35, 50, 70)]
    return [np.asarray(f, np.uint8) for f in frames]


@pytest.fixture(scope="module")
def namespace() -> Iterator[str]:
    """A real local Ray (one node, this machine), ended with the module: no later test finds this process a
    driver."""
    ns = f"t{uuid.uuid4().hex[:10]}"
    ray.init(
        address="local", num_cpus=2, namespace=ns, include_dashboard=False, log_to_driver=False, logging_level="ERROR"
    )
    try:
        yield ns
    finally:
        end_services(ns)
        ray.shutdown()


class AnalysisGroup:
    """What an analysis group's process holds of inference in cluster mode (``analysis_group``: the group's own
    ``SharedDetectors`` with the node's loader), its cameras as threads calling the shared detector."""

    def __init__(self, namespace: str) -> None:
        self.detectors = SharedDetectors(SETTINGS, load=NodeInference(namespace, SETTINGS))

    def detect(self, key: ModelKey, frames: list[np.ndarray]) -> tuple[str, str, list[Detections]]:
        shared = self.detectors.get(key)
        with ThreadPoolExecutor(len(frames)) as cameras:  # one thread per camera, as in a group
            found = list(cameras.map(shared.detect, frames))
        node = str(ray.get_runtime_context().get_node_id())
        return node, type(shared.detector).__name__, found


def service_stats(namespace: str, node_id: str) -> ServiceStats:
    stats: ServiceStats = ray.get(ray.get_actor(service_name(node_id), namespace=namespace).stats.remote(), timeout=30)
    return stats


def same(found: Detections, expected: Detections) -> None:
    assert len(found) == len(expected)
    np.testing.assert_allclose(found.boxes, expected.boxes, atol=1e-3)
    np.testing.assert_array_equal(found.class_ids, expected.class_ids)


def test_two_groups_of_a_node_share_one_service_and_find_what_a_local_session_finds(namespace: str) -> None:
    key = yolox_key()
    frames = tud_frames()
    local = OnnxDetector(OnnxDetectorConfig(model_path=key.path, format="yolox", providers=("cpu",)))
    expected = [local.detect(f) for f in frames]
    assert sum(len(e) for e in expected) >= 10, "the TUD frames show people"

    group_actor = ray.remote(AnalysisGroup)
    groups = [group_actor.options(num_cpus=0.5).remote(namespace) for _ in range(2)]
    answers = ray.get([g.detect.remote(key, frames) for g in groups], timeout=240)

    nodes = {node for node, _, _ in answers}
    assert len(nodes) == 1, "one node here"
    for _, loader, found in answers:
        assert loader == "ServiceDetector", "the group loaded no session of its own: it calls its node's service"
        for got, want in zip(found, expected, strict=True):
            same(got, want)
    stats = service_stats(namespace, nodes.pop())
    assert stats.sessions_built == 1, "one copy of the model for the node's two groups"
    assert stats.frames == 2 * len(frames) and stats.requests >= 2
    environ = Path(f"/proc/{stats.pid}/environ").read_bytes().split(b"\0")
    assert b"RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES=1" in environ, "Ray leaves the node's GPUs visible to it"
    for group in groups:
        ray.kill(group)


def test_the_control_plane_ends_the_services_of_its_namespace_only(namespace: str) -> None:
    other = f"{namespace}-other"
    NodeInference(namespace, SETTINGS).service()
    NodeInference(other, SETTINGS).service()
    node = str(ray.get_runtime_context().get_node_id())
    service_stats(other, node)  # both started
    mine = service_stats(namespace, node).pid
    assert end_services(other) == 1
    wait_for(
        lambda: (
            service_name(node) not in {a["name"] for a in ray.util.list_named_actors(True) if a["namespace"] == other}
        ),
        30,
        "the other namespace's service gone",
    )
    assert service_stats(namespace, node).pid == mine, "another installation's service is not touched"


def open_gate(on_transition: object) -> Gate:
    return Open()


def test_analysis_groups_hosted_as_on_a_node_track_people_through_the_nodes_one_session(
    namespace: str, tmp_path: Path
) -> None:
    """The production actor of an analysis group (``GroupActor``, the group body as ``analysis_group`` runs it)
    with the loader the supervisor gives it in ``node`` mode: the cameras of two groups, a real clip of people
    walking in, are tracked with YOLOX-Nano loaded once for the node."""
    key = yolox_key()
    clip = require(DATA / "video" / "one-by-one-person-detection.mp4")
    model = ModelSpec("yolox", key.path, "yolox", str(key.sha256))

    def camera(camera_id: str) -> WorkerSpec:
        stream = StreamSpec(camera_id, clip.as_uri(), analysis_fps=5, analysis_width=640, pixel_format="bgr24")
        return WorkerSpec(stream=stream, motion=MotionConfig(warmup_frames=3), gate=open_gate, model=model)

    def group(name: str, *cameras: str) -> AnalysisGroupSpec:
        spec = AnalysisGroupSpec(name, tuple(camera(c) for c in cameras), open_gate, detectors=SETTINGS)
        return dataclasses.replace(spec, load=NodeInference(namespace, SETTINGS))

    actor = ray.remote(GroupActor).options(num_cpus=0.5, max_restarts=0)
    store = NodeStore(tmp_path / "spool")
    actors = [
        actor.remote(group("analysis-0", "cam-a1", "cam-a2"), frozenset(), store),
        actor.remote(group("analysis-1", "cam-b1"), frozenset(), store),
    ]
    try:

        def messages() -> list[Any]:
            drained = ray.get([a.drain.remote(0) for a in actors], timeout=30)
            return [m for d in drained for m in d.messages]

        def tracked() -> set[str]:
            return {o.camera_id for o in messages() if isinstance(o, Observation) and o.module == "tracking"}

        wait_for(
            lambda: tracked() == {"cam-a1", "cam-a2", "cam-b1"}, 120, "people tracked on the 3 cameras", context=tracked
        )
        assert not [m for m in messages() if isinstance(m, ModelRefusal)]
        node = str(ray.get_runtime_context().get_node_id())
        stats = service_stats(namespace, node)
        assert stats.sessions_built == 1, "one session for the node's two groups"
        assert stats.frames > 0
        versions = {o.model_version for o in messages() if isinstance(o, Observation) and o.module == "tracking"}
        assert versions == {f"yolox@sha256:{str(key.sha256)[:16]}"}, "observations name the approved model (L30)"
    finally:
        ray.get([a.stop.remote(10.0) for a in actors], timeout=30)
        for a in actors:
            ray.kill(a)


def test_a_dead_service_drops_the_frames_then_serves_again_restarted_or_replaced(namespace: str) -> None:
    key = yolox_key()
    frame = tud_frames()[0]
    quick = SharedDetectorSettings(BatchingConfig(max_batch=8, max_wait_s=0.0, timeout_s=1.0), providers=("cpu",))
    detectors = SharedDetectors(quick, load=NodeInference(namespace, quick))
    try:
        shared = detectors.get(key)
        assert isinstance(shared.detector, ServiceDetector)
        assert len(shared.detect(frame)) > 0
        node = str(ray.get_runtime_context().get_node_id())
        service = ray.get_actor(service_name(node), namespace=namespace)
        outcomes: list[str] = []
        stop = threading.Event()

        def camera_loop() -> None:  # a camera analysing frames all along (its thread must never end on this)
            while not stop.is_set():
                try:
                    outcomes.append("found" if len(shared.detect(frame)) else "empty")
                except DetectorOverloaded:
                    outcomes.append("dropped")

        reader = threading.Thread(target=camera_loop)
        reader.start()
        wait_for(lambda: outcomes.count("found") >= 2, 30, "frames analysed before the kill")
        ray.kill(service, no_restart=False)  # the process dies; Ray starts it again on this node
        killed_at = len(outcomes)
        wait_for(lambda: "dropped" in outcomes[killed_at:], 30, "frames dropped while the service is down")
        wait_for(lambda: outcomes[-3:] == ["found"] * 3, 90, "frames analysed again once the service restarted")
        ray.kill(service, no_restart=True)  # ended for good (killed by hand): the group starts a new one
        killed_at = len(outcomes)
        wait_for(lambda: "dropped" in outcomes[killed_at:], 30, "frames dropped while the node has no service")
        wait_for(lambda: outcomes[-3:] == ["found"] * 3, 90, "frames analysed again by a new service")
        stop.set()
        reader.join(30)
        assert not reader.is_alive(), "the camera's thread went on through the service's death"
        assert "empty" not in outcomes
        stats = service_stats(namespace, node)
        assert stats.sessions_built == 1, "the new service loaded the model again, once"
    finally:
        detectors.close()


def test_a_model_file_changed_since_its_approval_is_refused_through_the_service(namespace: str, tmp_path: Path) -> None:
    approved = yolox_key()
    copy = tmp_path / "yolox_nano.onnx"
    shutil.copyfile(approved.path, copy)
    with copy.open("ab") as file:
        file.write(b"\0")  # the file changed since its approval
    node = str(ray.get_runtime_context().get_node_id())
    loader = NodeInference(namespace, SETTINGS)
    loader(OnnxDetectorConfig(model_path=approved.path, format="yolox", sha256=approved.sha256))  # the approved one
    before = service_stats(namespace, node).sessions_built
    with pytest.raises(ModelIntegrityError, match="not the approved"):
        loader(OnnxDetectorConfig(model_path=copy, format="yolox", sha256=approved.sha256))

    with pytest.raises(ModelFormatError, match="not found"):  # as a local load says it
        loader(OnnxDetectorConfig(model_path=tmp_path / "absent.onnx", format="yolox", sha256=approved.sha256))

    refused: list[Any] = []
    detectors = SharedDetectors(SETTINGS, load=loader)
    model = ObjectModel("yolox", copy, "yolox", str(approved.sha256))
    camera = CameraAnalysis(
        CameraSettings("cam-2", model=model), Open(), detectors=detectors, on_refused=refused.append
    )
    try:
        assert camera.refusal is not None and refused == [camera.refusal], "refused at the camera, to be audited"
        assert camera.refusal.found_sha256 == sha256(copy)
        assert camera.detector is None and "tracking" in camera.refused
        assert detectors.detectors() == {}
        assert service_stats(namespace, node).sessions_built == before, "no session built for the changed file"
    finally:
        camera.close()
        detectors.close()


def test_on_a_node_without_a_gpu_auto_keeps_a_session_in_the_group(namespace: str) -> None:
    key = yolox_key()
    node = str(ray.get_runtime_context().get_node_id())
    assert not node_has_gpu(node), "this local node declares no GPU"
    detector = NodeInference(namespace, SETTINGS, gpu_nodes_only=True)(
        OnnxDetectorConfig(model_path=key.path, format="yolox", sha256=key.sha256, providers=("cpu",))
    )
    assert isinstance(detector, OnnxDetector), "no service on a CPU node under auto: the group's own session"
    assert len(detector.detect_batch(tud_frames()[:1])[0]) > 0


def test_a_model_file_changed_while_the_service_restarts_is_not_run(namespace: str, tmp_path: Path) -> None:
    approved = yolox_key()
    copy = tmp_path / "yolox_nano.onnx"
    shutil.copyfile(approved.path, copy)
    other = f"{namespace}-restart"  # a service of its own, not the other tests'
    detector = NodeInference(other, SETTINGS)(
        OnnxDetectorConfig(model_path=copy, format="yolox", sha256=approved.sha256, providers=("cpu",))
    )
    frame = tud_frames()[0]
    assert len(detector.detect_batch([frame])[0]) > 0
    with copy.open("ab") as file:
        file.write(b"\0")  # changed after the group loaded it
    node = str(ray.get_runtime_context().get_node_id())
    ray.kill(ray.get_actor(service_name(node), namespace=other), no_restart=False)

    def refused() -> str:
        try:
            detector.detect_batch([frame])
        except DetectorOverloaded as err:
            return str(err) if "not the approved" in str(err) else ""
        raise AssertionError("frames inferred with a model file that is no longer the approved one")

    wait_for(refused, 60, "the restarted service refusing the changed file")
    assert service_stats(other, node).sessions_built == 0
    end_services(other)


class Open:
    """A gate open for every module (what governance allows is not under test here)."""

    def allows(self, module: str, camera_id: str, at: datetime) -> bool:
        return True

    def zones(self, module: str, camera_id: str) -> tuple[str, ...]:
        return ()
