"""Calibration and evaluation are no side door (issue 14): on an installation's footage ``vigie calibrate`` and
``vigie eval events`` run only for a signed-in account that may request an activation, and the audit chain says
who ran which module on which file (SHA-256) and recorded period, before the run; a file recorded by Vigie is
refused without ``--config``; public-format material stays usable offline."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.cli_accounts import CliAccounts, signed_in_world
from tests.support.clocks import FakeClock
from tests.support.configs import authorised_around, camera_yaml, config_yaml
from vigie.cli import main
from vigie.cli.commands.context import opened
from vigie.config import load_config
from vigie.domain.audit import AuditAction
from vigie.domain.recording import Segment
from vigie.recording.segment_writer import segment_key
from vigie.storage import SqlAuditStore, SqlSegmentIndex, create_engine_for

NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
RECORDED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def world(
    tmp_path: Path, moving_square_video: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[CliAccounts, Path]]:
    """A configuration with camera cam-001, one of its segments in the store and the index, and three accounts."""
    config = tmp_path / "vigie.yaml"
    camera = camera_yaml("cam-001", "rtsp://cam-001.example.invalid/s", valid=authorised_around(NOW.date()))
    config.write_text(config_yaml(tmp_path, camera), encoding="utf-8")
    key = segment_key("cam-001", RECORDED)
    segment = tmp_path / "data" / "segments" / key
    segment.parent.mkdir(parents=True)
    shutil.copyfile(moving_square_video, segment)
    digest = hashlib.sha256(segment.read_bytes()).hexdigest()
    clock = FakeClock(NOW)
    with opened(config, clock) as context:
        end = RECORDED + timedelta(seconds=4)
        SqlSegmentIndex(context.engine).add(Segment("cam-001", key, RECORDED, end, segment.stat().st_size, digest))
    with signed_in_world(config, tmp_path / "sessions", clock, monkeypatch) as accounts:
        accounts.add("sam", "supervisor")
        accounts.add("olga", "operator")
        yield accounts, segment


def calibration_entries(config: Path) -> list[tuple[str, str, dict[str, object]]]:
    engine = create_engine_for(load_config(config).storage.database_url)
    try:
        return [
            (r.actor, r.target, dict(r.details))
            for r in SqlAuditStore(engine).records()
            if r.action == AuditAction.ANALYSIS_CALIBRATION.value
        ]
    finally:
        engine.dispose()


def test_a_recording_is_calibrated_only_signed_in_and_the_run_is_audited(
    world: tuple[CliAccounts, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts, segment = world
    cfg = str(accounts.config)
    calibrate = ["calibrate", str(segment), "--module", "fire_start", "--fps", "2"]

    assert main(calibrate) == 2, "a segment recorded by Vigie is not analysed offline"
    assert "is a segment recorded by Vigie" in capsys.readouterr().err

    accounts.use("sam")
    assert main([*calibrate, "--config", cfg]) == 2
    assert "not signed in" in capsys.readouterr().err

    accounts.sign_in("olga")  # an operator does not prepare activations
    assert main([*calibrate, "--config", cfg]) == 1
    assert "do not allow request activation" in capsys.readouterr().err
    assert calibration_entries(accounts.config) == []

    accounts.sign_in("sam")
    capsys.readouterr()
    assert main([*calibrate, "--config", cfg]) == 0
    run = capsys.readouterr()
    assert "fire_start calibration run" in run.out
    [(actor, target, details)] = calibration_entries(accounts.config)
    assert "--calibration " in run.err, "the run's audit entry is given, to attach to an activation request (L32)"
    assert (actor, target) == ("sam", "camera:cam-001")
    assert details["command"] == "vigie calibrate" and details["module"] == "fire_start"
    assert details["role"] == "supervisor" and details["camera"] == "cam-001"
    assert details["recorded_from"] == "2026-11-28T12:00:00.000000Z"
    digest = hashlib.sha256(segment.read_bytes()).hexdigest()
    assert details["files"] == [
        {"input": "video", "name": segment.name, "sha256": digest, "bytes": segment.stat().st_size}
    ]

    assert main([*calibrate, "--config", cfg, "--camera", "cam-002"]) == 1  # not this segment's camera
    assert "segment of camera cam-001" in capsys.readouterr().err


def test_eval_events_with_a_configuration_is_audited_with_every_input(
    world: tuple[CliAccounts, Path], tmp_path: Path, moving_square_video: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts, _ = world
    truth = tmp_path / "events.json"
    truth.write_text(json.dumps({"events": []}), encoding="utf-8")
    accounts.sign_in("sam")
    args = ["eval", "events", str(moving_square_video), str(truth), "--module", "fire_start", "--fps", "2"]
    code = main([*args, "--config", str(accounts.config), "--camera", "cam-001"])
    assert code == 0, capsys.readouterr().err
    [(actor, target, details)] = calibration_entries(accounts.config)
    assert (actor, target, details["command"]) == ("sam", "camera:cam-001", "vigie eval events")
    files = details["files"]
    assert isinstance(files, list) and [f["input"] for f in files] == ["video", "ground_truth"]
    assert "recorded_from" not in details  # not a segment of the store: no recorded period to give


def test_public_material_stays_usable_offline(moving_square_video: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", str(moving_square_video), "--module", "fire_start", "--fps", "2"]) == 0
    assert "calibration run" in capsys.readouterr().out
