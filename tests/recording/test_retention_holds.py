"""Holds (L4): the service refuses unattributed holds and audits every placement and lift; the commands end to end."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.audit_sinks import ListAudit
from tests.support.cli_accounts import CliAccounts, signed_in_world
from tests.support.clocks import FakeClock
from tests.support.configs import authorised_around, camera_yaml, config_yaml
from vigie.cli.commands.recording import (
    hold_lift_command,
    hold_list_command,
    hold_place_command,
    register_command,
)
from vigie.domain.actor import Actor
from vigie.domain.audit import AuditAction
from vigie.domain.recording import Segment
from vigie.services.holds import HoldNotFoundError, HoldRefusedError, HoldService
from vigie.storage import (
    SqlAuditStore,
    SqlDestructionRegister,
    SqlHoldRepo,
    SqlSegmentIndex,
    create_engine_for,
    migrate,
)

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def service(tmp_path: Path) -> tuple[HoldService, ListAudit, SqlSegmentIndex]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(engine)
    audit = ListAudit()
    index = SqlSegmentIndex(engine)
    return HoldService(index, SqlHoldRepo(engine), audit, lambda: T0 + 10 * HOUR), audit, index


def test_place_and_lift_are_audited(service: tuple[HoldService, ListAudit, SqlSegmentIndex]) -> None:
    holds, audit, index = service
    index.add(Segment("cam-a", "cam-a/1.mp4", T0, T0 + HOUR, 10, "0" * 64))
    hold = holds.place(
        "cam-a", T0, T0 + 2 * HOUR, requisition_ref=" REQ-1 ", case_number="PV-9", officer="OPJ Roux", by=Actor("alice")
    )
    assert (hold.requisition_ref, hold.placed_at, hold.placed_by) == ("REQ-1", T0 + 10 * HOUR, "alice")
    assert holds.active() == [hold]
    placed = audit.events[-1]
    assert (placed.action, placed.actor, placed.target) == (AuditAction.HOLD_PLACED, "alice", f"hold:{hold.id}")
    assert placed.details["case_number"] == "PV-9" and placed.details["segments_covered"] == 1

    lifted = holds.lift(hold.id or 0, Actor("bob"), "classement sans suite")
    assert lifted.lifted_by == "bob" and holds.active() == []
    assert audit.events[-1].action is AuditAction.HOLD_LIFTED
    assert audit.events[-1].details["reason"] == "classement sans suite"

    with pytest.raises(HoldRefusedError, match="already lifted"):
        holds.lift(hold.id or 0, Actor("bob"), "again")
    with pytest.raises(HoldNotFoundError):
        holds.lift(12345, Actor("bob"), "x")
    with pytest.raises(HoldRefusedError, match="missing reason"):
        holds.lift(hold.id or 0, Actor("bob"), "  ")
    assert len(audit.events) == 2  # refusals change nothing


@pytest.mark.parametrize(
    ("requisition", "case", "officer", "missing"),
    [
        ("", "PV-1", "OPJ", "requisition reference"),
        ("REQ", " ", "OPJ", "case number"),
        ("REQ", "PV-1", "", "officer"),
    ],
)
def test_a_hold_without_its_references_is_refused(
    service: tuple[HoldService, ListAudit, SqlSegmentIndex], requisition: str, case: str, officer: str, missing: str
) -> None:
    holds, audit, _ = service
    with pytest.raises(HoldRefusedError, match=f"refused: missing {missing}; a hold needs"):
        holds.place(
            "cam-a", T0, T0 + HOUR, requisition_ref=requisition, case_number=case, officer=officer, by=Actor("a")
        )
    assert holds.all() == [] and audit.events == []


def test_a_hold_needs_an_aware_non_empty_period(service: tuple[HoldService, ListAudit, SqlSegmentIndex]) -> None:
    holds, _, _ = service
    refs = {"requisition_ref": "R", "case_number": "C", "officer": "O", "by": Actor("a")}
    with pytest.raises(HoldRefusedError, match="is not after the start"):
        holds.place("cam-a", T0, T0, **refs)
    with pytest.raises(HoldRefusedError, match="has no time zone"):
        holds.place("cam-a", T0.replace(tzinfo=None), T0 + HOUR, **refs)


@pytest.fixture
def accounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliAccounts]:
    """Two investigators (holds come with requisitions: the export permission) and an operator, signed in at the
    command line on a clock the configuration's camera is authorised at."""
    config = tmp_path / "vigie.yaml"
    camera = camera_yaml("cam-001", "rtsp://cam.invalid/s", valid=authorised_around(T0.date()))
    config.write_text(config_yaml(tmp_path, camera))
    with signed_in_world(config, tmp_path / "sessions", FakeClock(T0 + 10 * HOUR), monkeypatch) as world:
        for name in ("alice", "bob"):
            world.add(name, "investigator")
        world.add("erin", "operator")
        world.sign_in("alice")
        yield world


def test_hold_and_register_commands_end_to_end(
    tmp_path: Path, accounts: CliAccounts, capsys: pytest.CaptureFixture[str]
) -> None:
    config = accounts.config
    capsys.readouterr()
    assert (
        hold_place_command(
            config,
            "cam-001",
            "2025-03-01T12:00+01:00",
            "2025-03-01T14:00+01:00",
            requisition="REQ-5",
            case="PV-5",
            officer="OPJ Blanc",
        )
        == 0
    )
    assert capsys.readouterr().out.startswith("hold #1 placed: cam-001 from 2025-03-01T11:00:00+00:00")
    assert (
        hold_place_command(
            config,
            "cam-999",
            "2025-03-01T12:00Z",
            "2025-03-01T13:00Z",
            requisition="R",
            case="C",
            officer="O",
        )
        == 1
    )
    assert "camera 'cam-999' is not in the configuration" in capsys.readouterr().err
    assert (
        hold_place_command(
            config,
            "cam-001",
            "2025-03-01T12:00",
            "2025-03-01T13:00Z",
            requisition="R",
            case="C",
            officer="O",
        )
        == 1
    )
    assert "has no time zone" in capsys.readouterr().err
    assert (
        hold_place_command(
            config,
            "cam-001",
            "2025-03-01T12:00Z",
            "2025-03-01T13:00Z",
            requisition="R",
            case="",
            officer="O",
        )
        == 1
    )
    assert "missing case number" in capsys.readouterr().err

    accounts.sign_in("erin")  # an operator handles no requisition
    assert hold_lift_command(config, 1, "affaire jugée") == 1
    assert "do not allow export" in capsys.readouterr().err
    accounts.sign_in("bob")
    assert hold_lift_command(config, 1, "affaire jugée") == 0
    assert hold_lift_command(config, 1, "again") == 1
    assert hold_lift_command(config, 7, "x") == 1
    capsys.readouterr()
    assert hold_list_command(config) == 0
    listing = capsys.readouterr().out
    assert "#1 cam-001" in listing and "lifted" in listing and "by bob: affaire jugée" in listing
    assert "placed 2025-03-01T22:00:00+00:00 by alice" in listing

    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    actions = [r.action for r in SqlAuditStore(engine).records(from_seq=1)]
    assert [a for a in actions if a.startswith("hold.")] == ["hold.placed", "hold.lifted"]
    assert "access.denied" in actions
    segment = SqlSegmentIndex(engine).add(Segment("cam-001", "cam-001/a.mp4", T0, T0 + HOUR, 5, "ab" * 32))
    SqlDestructionRegister(engine).record_transmission(segment, T0 + 2 * HOUR)
    SqlDestructionRegister(engine).record_destruction(segment, T0 + 30 * 24 * HOUR, "retention")
    engine.dispose()

    out = tmp_path / "register.csv"
    assert register_command(config, out) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows == [
        {
            "segment_id": str(segment.id),
            "camera_id": "cam-001",
            "key": "cam-001/a.mp4",
            "start": "2025-03-01T12:00:00+00:00",
            "end": "2025-03-01T13:00:00+00:00",
            "sha256": "ab" * 32,
            "transmitted_to_prosecutor_at": "2025-03-01T14:00:00+00:00",
            "destroyed_at": "2025-03-31T12:00:00+00:00",
            "reason": "retention",
        }
    ]
    assert register_command(config, None) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("segment_id,camera_id,key,start,end")
