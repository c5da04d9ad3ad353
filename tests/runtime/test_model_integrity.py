"""L30: only approved model versions run. A camera worker hashes its model file at every load and refuses a file that
no longer has the SHA-256 registered for it: the modules that need it do not run there, and the refusal is audited.

Real worker processes under the real supervisor, the real sink and audit chain; the models are tiny ONNX graphs made
here (no weights from ../shared/data)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

from tests.analytics.onnx_models import constant_model
from tests.support.audit_sinks import ListAudit
from tests.support.clocks import FakeClock
from tests.support.configs import config_yaml
from tests.support.waiting import wait_for
from vigie.analytics.detect.motion import MotionConfig
from vigie.analytics.detect.onnx import ModelIntegrityError, OnnxDetector, OnnxDetectorConfig
from vigie.cli import main
from vigie.config import VigieConfig, load_config_text
from vigie.domain.audit import AuditAction, AuditRecord
from vigie.events.aggregation import EventAggregator
from vigie.ingest.backoff import Backoff
from vigie.ingest.reader import StreamSpec
from vigie.runtime.assembly.audit import open_audit_sink
from vigie.runtime.assembly.gates import DatabaseGateFactory
from vigie.runtime.assembly.models import ModelRegistry, sha256_of
from vigie.runtime.workers.analysis import ModelRefusal, ModelSpec, WorkerSpec
from vigie.runtime.workers.sink import WorkerMessageSink
from vigie.runtime.workers.supervisor import CameraSupervisor
from vigie.storage import create_engine_for, migrate
from vigie.storage.repositories import SqlCameraStatusRepo, SqlEventRepo


def yolov8(path: Path, score: float) -> Path:
    """A YOLOv8-layout model that always sees one person (with ``score``): a valid model, whatever its bytes."""
    out = np.zeros((4 + 3, 10), np.float32)
    out[:4, 1] = [320, 320, 200, 300]
    out[4, 1] = score
    return constant_model(path, out, ["batch", 3, 640, 640])


def test_the_onnx_loader_hashes_what_it_loads_and_refuses_another_file(tmp_path: Path) -> None:
    path = yolov8(tmp_path / "m.onnx", 0.9)
    approved = sha256_of(path)
    OnnxDetector(OnnxDetectorConfig(model_path=path, format="yolov8", providers=("cpu",), sha256=approved))
    yolov8(path, 0.8)  # same name, other bytes
    with pytest.raises(ModelIntegrityError) as refused:
        OnnxDetector(OnnxDetectorConfig(model_path=path, format="yolov8", providers=("cpu",), sha256=approved))
    message = str(refused.value)
    assert approved[:16] in message and sha256_of(path)[:16] in message and "vigie models add" in message


def _config(tmp_path: Path) -> VigieConfig:
    config = load_config_text(config_yaml(tmp_path, ""))
    migrate(create_engine_for(config.storage.database_url))
    return config


def _spec(config: VigieConfig, camera_id: str, url: str, model: ModelSpec, clock: FakeClock) -> WorkerSpec:
    """A simulated camera (every module may run on it) whose analysis is detection + tracking with ``model``."""
    return WorkerSpec(
        stream=StreamSpec(camera_id, url, analysis_fps=5, analysis_width=320, pixel_format="bgr24"),
        motion=MotionConfig(warmup_frames=3),
        gate=DatabaseGateFactory(config, frozenset({camera_id}), clock),
        model=model,
        rules=(("fire_start", {}),),
        clock=clock,
    )


def test_a_model_file_changed_after_registration_is_refused_at_every_worker_start_and_audited(
    tmp_path: Path, moving_square_video: Path
) -> None:
    config = _config(tmp_path)
    clock = FakeClock()
    engine = create_engine_for(config.storage.database_url)
    audit = open_audit_sink(config, engine, clock)
    registry = ModelRegistry(tmp_path / "models", audit, clock=clock)
    intact = registry.add(yolov8(tmp_path / "intact.onnx", 0.9), "yolov8")
    swapped = registry.add(yolov8(tmp_path / "swapped.onnx", 0.9), "yolov8")
    swapped_path = registry.root / swapped.file
    yolov8(swapped_path, 0.7)  # after registration, the file's bytes change: still a valid model of that format
    assert sha256_of(swapped_path) != swapped.sha256

    def model(entry_name: str) -> ModelSpec:
        entry = registry.get(entry_name)
        assert entry is not None
        return ModelSpec(entry.name, registry.root / entry.file, entry.format, entry.sha256)

    url = moving_square_video.as_uri()
    sink = WorkerMessageSink(EventAggregator(SqlEventRepo(engine)), SqlCameraStatusRepo(engine), audit, clock=clock)
    supervisor = CameraSupervisor(
        [_spec(config, "good", url, model(intact.name), clock), _spec(config, "bad", url, model(swapped.name), clock)],
        sink,
        backoff=Backoff(base_s=0.2, cap_s=0.5),
        on_exit=sink.worker_exited,
        clock=clock,
    )

    def entries(action: AuditAction, target: str) -> list[AuditRecord]:
        return [r for r in audit.store.records() if r.action == action and target in r.target]

    supervisor.start()
    try:
        wait_for(lambda: entries(AuditAction.GATE_OPENED, "tracking@good"), 60, "tracking running on the intact model")
        first = wait_for(lambda: entries(AuditAction.MODEL_REFUSED, "camera:bad"), 60, "the changed model refused")
        # A restarted worker hashes again: the file changes once more, the worker is killed from outside, and the
        # new start refuses the new content (the same content refused again is logged, audited once per run).
        yolov8(swapped_path, 0.6)
        os.kill(supervisor.pids()["analysis:bad"], signal.SIGKILL)
        again = wait_for(lambda: entries(AuditAction.MODEL_REFUSED, "camera:bad")[1:], 60, "refused again on restart")
    finally:
        supervisor.stop()
    details = first[0].details
    assert details["model"] == swapped.name and details["file"] == str(swapped_path)
    assert details["expected_sha256"] == swapped.sha256 and details["found_sha256"] != swapped.sha256
    assert again[0].details["found_sha256"] == sha256_of(swapped_path) != details["found_sha256"]
    assert details["modules"] == ["tracking"], "fire_start reads the picture, not the model: it is not refused"
    assert not entries(AuditAction.GATE_OPENED, "tracking@bad"), "no analysis with a model that is not approved"
    assert not entries(AuditAction.GATE_OPENED, "motion@bad"), "no silent fall-back to motion in its place"
    assert entries(AuditAction.GATE_OPENED, "fire_start@bad"), "modules that need no model still run"
    assert not entries(AuditAction.MODEL_REFUSED, "camera:good"), "an intact file loads"


def test_models_list_says_which_registered_file_changed_and_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = tmp_path / "vigie.yaml"
    config_path.write_text(config_yaml(tmp_path, ""), encoding="utf-8")
    config = load_config_text(config_path.read_text(encoding="utf-8"))
    migrate(create_engine_for(config.storage.database_url))
    registry = ModelRegistry(config.storage.data_dir / "models", ListAudit(), clock=FakeClock())
    intact = registry.add(yolov8(tmp_path / "intact.onnx", 0.9), "yolov8")
    swapped = registry.add(yolov8(tmp_path / "swapped.onnx", 0.9), "yolov8")
    assert registry.changed(intact) is None and registry.changed(swapped) is None
    yolov8(registry.root / swapped.file, 0.7)
    assert registry.changed(swapped) == sha256_of(registry.root / swapped.file)

    assert main(["models", "list", "--config", str(config_path)]) == 0
    out = capsys.readouterr().out
    changed = [line for line in out.splitlines() if "CHANGED" in line]
    assert len(changed) == 1 and "swapped.onnx" in changed[0] and "vigie models add" in changed[0]


def test_a_worker_restarting_in_a_loop_audits_the_same_refusal_once(tmp_path: Path) -> None:
    config = _config(tmp_path)
    engine = create_engine_for(config.storage.database_url)
    audit = ListAudit()
    sink = WorkerMessageSink(EventAggregator(SqlEventRepo(engine)), SqlCameraStatusRepo(engine), audit)
    refusal = ModelRefusal("cam", "m", "/models/m.onnx", "a" * 64, "b" * 64, ("tracking",), FakeClock()())
    sink(refusal)
    sink(refusal)  # the camera is offline, its worker restarts, hashes again, refuses again
    assert audit.actions() == [AuditAction.MODEL_REFUSED]
    sink(ModelRefusal("cam", "m", "/models/m.onnx", "a" * 64, "c" * 64, ("tracking",), FakeClock()()))
    assert audit.actions() == [AuditAction.MODEL_REFUSED] * 2, "other content: audited again"
