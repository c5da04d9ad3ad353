"""Event modules in the running platform: their settings are checked with the configuration (line numbers, what
to do), a camera worker runs them behind the gate, and their observations become pending alerts."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.support.audit_sinks import ListAudit
from tests.support.cli_accounts import create_account, signed_in_world
from tests.support.clocks import FakeClock, StepClock
from tests.support.configs import camera_yaml, config_yaml
from vigie.analytics.detect.motion import MotionConfig
from vigie.analytics.rules.pipeline import RulePipeline
from vigie.analytics.rules.registry import build_rule
from vigie.cli import main
from vigie.config import load_config
from vigie.domain.activation import ActivationRequest
from vigie.domain.alerts import AlertState
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.domain.statistics import StatisticBucket
from vigie.events.aggregation import EventAggregator
from vigie.governance.audit import AuditChain, AuditKeyring
from vigie.governance.gate import ActivationGate, ClosedGate, GateRules, Window
from vigie.ingest.reader import SampledFrame, StreamSpec
from vigie.runtime.assembly.governance import open_governance
from vigie.runtime.workers.analysis import WorkerSpec, camera_analysis
from vigie.runtime.workers.sink import WorkerMessageSink
from vigie.services.alerts import AlertService
from vigie.services.governance import Outcome
from vigie.storage import (
    SqlAlertRepo,
    SqlAuditStore,
    SqlCameraStatusRepo,
    SqlEventRepo,
    SqlStatisticsRepo,
    create_engine_for,
    migrate,
)

ZONE = "[[0.6, 0.7], [0.9, 0.7], [0.9, 0.95], [0.6, 0.95]]"


def write_config(tmp_path: Path, modules: str, detector: str = "") -> Path:
    camera = camera_yaml("quai-1", "rtsp://cam.example/1", setting="transit")
    camera += "            analysis:\n"
    if detector:
        camera += f"              detector: {detector}\n"
    camera += "              modules:\n" + modules
    path = tmp_path / "vigie.yaml"
    path.write_text(config_yaml(tmp_path, camera))
    return path


def test_config_check_reports_module_settings_with_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    modules = (
        f"                intrusion: {{zones: [{ZONE}], min_duration_s: -2}}\n"
        "                teleport: {}\n"
        "                weapon: {}\n"
        f"                abandoned_object: {{min_duration_s: 30}}\n"
    )
    path = write_config(tmp_path, modules)
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    lines = path.read_text().splitlines()
    number = next(i for i, line in enumerate(lines, 1) if "intrusion:" in line)
    assert f"{path}:{number}:" in err and "min_duration_s" in err and "greater than or equal to 0" in err
    assert "unknown event module 'teleport'" in err
    assert "weapon: no approved model" in err
    assert "abandoned_object reads objects" in err and "analysis.detector" in err


def test_valid_module_settings_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, "                crowd_movement: {min_speed: 0.06}\n                fire_start: {}\n")
    assert main(["config", "check", str(path)]) == 0


T0 = datetime(2026, 11, 28, 12, tzinfo=UTC)


class Open:
    def __init__(self, *modules: str) -> None:
        self._rules = GateRules(
            windows={(m, "quai-1"): (Window(1, T0 - timedelta(hours=1), T0 + timedelta(hours=1)),) for m in modules}
        )

    def rules(self, now: datetime) -> GateRules:
        return self._rules


def flame_frames(count: int) -> list[np.ndarray]:
    """A dark street with a flickering, growing orange flame at the bottom left (as fire_start expects)."""
    rng = np.random.default_rng(4)
    frames = []
    for i in range(count):
        frame = np.full((360, 640, 3), (60, 60, 70), np.uint8)
        radius = 6 + i * 0.6
        cy, cx = 300, 120
        yy, xx = np.mgrid[0:360, 0:640]
        wobble = rng.normal(0, radius * 0.25, (360, 640))
        inside = (xx - cx) ** 2 + ((yy - cy) * 0.6) ** 2 < (radius + wobble) ** 2
        frame[inside] = (30, 140, 250)
        frames.append(frame)
    return frames


def test_a_worker_runs_a_pixel_module_behind_the_gate_and_its_alerts_stay_pending(tmp_path: Path) -> None:
    spec = WorkerSpec(
        stream=StreamSpec("quai-1", "file:///unused.mp4", 5.0, 640, pixel_format="bgr24"),
        motion=MotionConfig(),
        gate=lambda on_transition: None,  # type: ignore[arg-type,return-value]
        rules=(("fire_start", {}),),
    )
    frames = flame_frames(50)
    closed = camera_analysis(spec, ClosedGate())
    samples = [SampledFrame(f, T0 + timedelta(seconds=i / 5), 1, "h264", 640, 360) for i, f in enumerate(frames)]
    assert [o for sample in samples for o in closed.process(sample.image, sample.at)] == []
    gate = ActivationGate(Open("fire_start"), lambda: T0, cache_ttl_s=0)
    analysis = camera_analysis(spec, gate)
    found: list[Observation | StatisticBucket] = []
    for sample in samples:
        found += analysis.process(sample.image, sample.at)
    fires = [o for o in found if o.module == "fire_start"]
    assert len(fires) == 1 and fires[0].regions[0].x < 0.4

    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(engine)
    audit = AuditChain(SqlAuditStore(engine), AuditKeyring(tmp_path / "keys"), checkpoint_every=1000, clock=StepClock())
    alerts = AlertService(SqlAlertRepo(engine), audit, lambda: T0)
    sink = WorkerMessageSink(EventAggregator(SqlEventRepo(engine)), SqlCameraStatusRepo(engine), audit, alerts=alerts)
    for observation in found:
        sink(observation)
    pending = alerts.pending()
    assert [(a.module, a.state) for a in pending] == [("fire_start", AlertState.PENDING)]
    assert SqlEventRepo(engine).list() == []  # an event module's output is an alert, not a motion event


def test_alert_commands_list_decide_and_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, "                crowd_movement: {}\n")
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(engine)
    audit = AuditChain(
        SqlAuditStore(engine), AuditKeyring(tmp_path / "data" / "keys"), checkpoint_every=1000, clock=StepClock()
    )
    service = AlertService(SqlAlertRepo(engine), audit, lambda: T0)
    ids = [
        service.raise_alert(Observation("quai-1", "crowd_movement", "crowd_movement", T0, (Box(0, 0, 1, 1),), 0.7)).id
        for _ in range(3)
    ]
    engine.dispose()
    config = ["--config", str(path)]
    with signed_in_world(path, tmp_path / "sessions", FakeClock(T0), monkeypatch) as accounts:
        accounts.add("l.martin", "operator", "supervisor")
        accounts.add("marc", "dpo")
        assert main(["alerts", "list", "--state", "pending", *config]) == 0
        assert capsys.readouterr().out.count("pending") == 3
        accounts.sign_in("l.martin")
        assert main(["alerts", "confirm", str(ids[0]), *config]) == 0
        assert "confirmed by l.martin (operator)" in capsys.readouterr().out
        assert main(["alerts", "dismiss", str(ids[1]), "--as", "supervisor", *config]) == 0
        assert "false_positive by l.martin (supervisor)" in capsys.readouterr().out
        assert main(["alerts", "confirm", str(ids[1]), *config]) == 1
        assert "already decided" in capsys.readouterr().err
        accounts.sign_in("marc")  # a DPO audits alerts, does not decide them
        assert main(["alerts", "confirm", str(ids[2]), *config]) == 1
        assert "do not allow decide alerts" in capsys.readouterr().err
        assert main(["alerts", "confirm", str(ids[2]), "--as", "operator", *config]) == 1
        assert "does not hold the role operator" in capsys.readouterr().err
        assert main(["alerts", "stats", *config]) == 0
        out = capsys.readouterr().out
        assert "crowd_movement" in out and "50 %" in out  # one confirmed, one false positive, one pending


def _request(path: Path, module: str) -> Outcome:
    """Ask for ``module`` on quai-1 through the governance the commands and the API open, at :data:`T0`: the
    decree's events are authorised only until the JO law's extended experiment ends (2027-12-31), so this runs on a
    fixed clock, not the host's (which the ``vigie activation`` command reads)."""
    config = load_config(path)
    folder = path.parent / "accounts"
    if not folder.exists():
        folder.mkdir()
        create_account(path, "alice.martin", ["supervisor"], folder=folder, clock=lambda: T0)
    engine = create_engine_for(config.storage.database_url)
    migrate(engine)
    try:
        governance = open_governance(config, engine, ListAudit(), lambda: T0)
        return governance.service.request(
            ActivationRequest(
                tenant="testville",
                module=module,
                camera_ids=("quai-1",),
                framework="loi-2023-380-art10-prolongation-2027",
                decision_number="2026-PREF-7",
                decision_date=(T0 - timedelta(days=27)).date(),
                dpia_reference="AIPD-2026-09",
                purpose="test",
                starts_at=T0,
                ends_at=T0 + timedelta(days=1),
                requested_by="alice.martin",
                requested_role="supervisor",
            )
        )
    finally:
        engine.dispose()


def test_an_activation_is_refused_where_the_module_could_not_run(tmp_path: Path) -> None:
    path = write_config(tmp_path, "                crowd_movement: {}\n")
    refused = _request(path, "weapon")
    assert not refused.accepted
    assert "no settings for weapon" in refused.message and "analysis.modules.weapon" in refused.message
    assert _request(path, "crowd_movement").accepted, "the module configured on the camera can be activated"


def test_statistics_buckets_are_stored_and_exported_without_small_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, "                crowd_movement: {}\n")
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(engine)
    audit = AuditChain(
        SqlAuditStore(engine), AuditKeyring(tmp_path / "data" / "keys"), checkpoint_every=1000, clock=StepClock()
    )
    sink = WorkerMessageSink(
        EventAggregator(SqlEventRepo(engine)), SqlCameraStatusRepo(engine), audit, statistics=SqlStatisticsRepo(engine)
    )
    quarter = timedelta(minutes=15)
    sink(StatisticBucket("quai-1", "line_count", "line_count", T0, T0 + quarter, 128.0))
    sink(StatisticBucket("quai-1", "line_count", "line_count", T0 + quarter, T0 + 2 * quarter, None))
    sink.flush()  # buffered: written in one transaction at the supervisor's next round
    engine.dispose()
    assert main(["statistics", "--config", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "camera,module,start,end,value"
    assert lines[1].endswith(",128") and lines[2].endswith(",")  # withheld: below the minimum count


def test_weapon_is_never_fed_the_camera_detector(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Even with an approved model file, the worker cannot yet run weapon's own model: refused, never mis-fed
    with person detections (class 0 of the camera's detector)."""
    model = tmp_path / "weapon.onnx"
    model.write_bytes(b"approved weights")
    digest = hashlib.sha256(b"approved weights").hexdigest()
    path = write_config(tmp_path, f"                weapon: {{model_path: {model}, model_sha256: {digest}}}\n")
    assert main(["config", "check", str(path)]) == 2
    assert "own detection model" in capsys.readouterr().err
    rule = build_rule("weapon", {"model_path": str(model), "model_sha256": digest})
    with pytest.raises(ValueError, match="own approved model"):
        RulePipeline("quai-1", [rule], ClosedGate())
