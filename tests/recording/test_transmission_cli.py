"""``vigie export transmitted EXPORT_ID --on DAY --requisition REF`` (issue 14, L5, R252-11): as the account signed in
at the command line, the day an export was handed to the prosecutor goes into the destruction register of every
recording exported, which ``vigie recording register`` shows; an operator, a day in the future and an unknown export
are refused with nothing written."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.recording.export_samples import record
from tests.support.cli_accounts import CliAccounts, signed_in_world
from tests.support.clocks import FakeClock
from tests.support.configs import authorised_around, camera_yaml, config_yaml
from vigie.cli import main
from vigie.storage import SqlAuditStore, create_engine_for, migrate
from vigie.storage.recording import SqlSegmentIndex

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
"""When the footage was recorded (winter: Paris is UTC+1)."""


@pytest.fixture
def accounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliAccounts]:
    config = tmp_path / "vigie.yaml"
    camera = camera_yaml("cam-001", "rtsp://cam.invalid/s", valid=authorised_around(T0.date()))
    config.write_text(config_yaml(tmp_path, camera))
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(engine)
    index = SqlSegmentIndex(engine)
    for segment in record(tmp_path / "data" / "segments", "cam-001", [(T0, 6)]):  # 3 segments of 2 s
        index.add(segment)
    engine.dispose()
    with signed_in_world(config, tmp_path / "sessions", FakeClock(T0 + timedelta(hours=1)), monkeypatch) as world:
        world.add("alice", "investigator")
        world.add("erin", "operator")
        yield world


def register(config: Path, out: Path) -> dict[str, str]:
    assert main(["recording", "register", "--config", str(config), "-o", str(out)]) == 0
    rows = csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))
    return {row["key"]: row["transmitted_to_prosecutor_at"] for row in rows}


def test_the_transmission_of_a_command_line_export_is_recorded_in_the_register(
    accounts: CliAccounts, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, clock = str(accounts.config), accounts.clock
    assert isinstance(clock, FakeClock)
    accounts.sign_in("alice")
    span = ["--from", T0.isoformat(), "--to", (T0 + timedelta(seconds=6)).isoformat()]
    why = ["-o", str(tmp_path / "out"), "--reason", "vol à l'arraché", "--requisition", "REQ-2026-77"]
    created = main(["export", "create", "--config", config, "--cameras", "cam-001", *span, *why])
    assert created == 0, capsys.readouterr().err
    manifest = re.search(r"manifest sha256 ([0-9a-f]{64})", capsys.readouterr().out)
    assert manifest is not None

    clock.advance(days=3)  # handed over the next day, recorded two days later
    handed = (clock().date() - timedelta(days=2)).isoformat()
    transmitted = ["export", "transmitted", manifest[1], "--config", config, "--requisition", "REQ-2026-77"]

    accounts.sign_in("erin")  # an operator hands no footage over
    assert main([*transmitted, "--on", handed]) == 1
    assert "refused" in capsys.readouterr().err
    accounts.sign_in("alice")
    future = (clock().date() + timedelta(days=1)).isoformat()
    assert main([*transmitted, "--on", future]) == 1
    assert "is in the future" in capsys.readouterr().err
    assert main(["export", "transmitted", "ab" * 32, "--config", config, "--on", handed, "--requisition", "x"]) == 1
    capsys.readouterr()
    assert set(register(accounts.config, tmp_path / "before.csv").values()) <= {""}, "nothing recorded yet"

    assert main([*transmitted, "--on", handed]) == 0, capsys.readouterr().err
    said = capsys.readouterr().out
    assert f"handed to the prosecutor on {handed}" in said and "by alice" in said and "3 recording(s)" in said
    lines = register(accounts.config, tmp_path / "register.csv")
    assert len(lines) == 3 and set(lines.values()) == {f"{handed}T11:00:00+00:00"}, lines

    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    exports = [r for r in SqlAuditStore(engine).records(from_seq=1) if r.action == "video.export"]
    engine.dispose()
    assert [(r.actor, r.details["outcome"]) for r in exports] == [("alice", "exported"), ("alice", "transmitted")]
    assert exports[1].details["transmitted_on"] == handed
    assert exports[1].details["manifest_sha256"] == manifest[1]
