"""Cases (issue 22) through the real service, SQL storage and hold service: a case is opened only from a complete
requisition over cameras the investigator sees and an ended, bounded period; it is read only in its commune;
``require_in_scope`` refuses any camera or time outside its scope and a closed case, each refusal audited; holds are
placed on its scope and lifted or kept when it closes; every step is in the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.recording.export_samples import ListAuditSink
from tests.support.clocks import T0, FakeClock
from vigie.domain.audit import AuditAction
from vigie.domain.cases import AuthorityKind, Case, HoldDecision
from vigie.domain.users import Role, User
from vigie.services.access import AccessDeniedError, CommuneInfo, Directory, NotVisibleError, Principal
from vigie.services.cases import CaseClosedError, CaseConflictError, CaseRefusedError, CaseService, OutOfScopeError
from vigie.services.holds import HoldService
from vigie.storage import SqlHoldRepo, SqlSegmentIndex, create_engine_for, migrate
from vigie.storage.cases import SqlCaseRepo

DIRECTORY = Directory(
    communes=(
        CommuneInfo("villeurbanne", "Villeurbanne", "municipal"),
        CommuneInfo("bron", "Bron", "municipal"),
    ),
    camera_commune={"vil-1": "villeurbanne", "vil-2": "villeurbanne", "vil-3": "villeurbanne", "bron-1": "bron"},
)
START, END = T0 - timedelta(hours=5), T0 - timedelta(hours=1)


def person(username: str, commune: str, *roles: Role, video_refusal: str | None = None) -> Principal:
    user = User(username, username, commune, frozenset(roles), "x", id=1)
    return Principal(user, frozenset({commune}), DIRECTORY, video_refusal)


INVESTIGATOR = person("inv.vil", "villeurbanne", Role.INVESTIGATOR)
DPO = person("dpo.vil", "villeurbanne", Role.DPO)
OPERATOR = person("op.vil", "villeurbanne", Role.OPERATOR)
BRON = person("inv.bron", "bron", Role.INVESTIGATOR)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(eng)
    yield eng
    eng.dispose()


class Parts:
    def __init__(self, engine: Engine) -> None:
        self.audit, self.clock = ListAuditSink(), FakeClock()
        self.holds = HoldService(SqlSegmentIndex(engine), SqlHoldRepo(engine), self.audit, self.clock)
        self.service = CaseService(SqlCaseRepo(engine), self.audit, self.clock, holds=self.holds)

    def actions(self) -> list[str]:
        return [str(e.action) for e in self.audit.events]


@pytest.fixture
def parts(engine: Engine) -> Parts:
    return Parts(engine)


def open_case(parts: Parts, principal: Principal = INVESTIGATOR, **changes: Any) -> Case:
    fields: dict[str, Any] = {
        "reference": "PV 2026/1234",
        "requisition_ref": "REQ-17",
        "authority": "OPJ Martin",
        "authority_kind": AuthorityKind.OFFICER,
        "requisition_date": (T0 - timedelta(days=1)).date(),
        "purpose": "vol à l'arraché",
        "camera_ids": ["vil-1", "vil-2"],
        "start": START,
        "end": END,
    }
    return parts.service.open(principal, **(fields | changes))


def test_an_investigator_opens_a_case_audited_with_its_scope(parts: Parts) -> None:
    case = open_case(parts)
    assert case.id is not None and case.commune_id == "villeurbanne" and case.opened_by == "inv.vil"
    assert case.camera_ids == ("vil-1", "vil-2") and (case.start, case.end) == (START, END)
    opened = parts.audit.events[-1]
    assert opened.action is AuditAction.CASE_OPENED and opened.target == f"case:{case.id}"
    assert opened.details["camera_ids"] == ["vil-1", "vil-2"] and opened.details["requisition_ref"] == "REQ-17"


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"reference": "  "}, "reference"),
        ({"authority": ""}, "authority"),
        ({"purpose": " "}, "purpose"),
        ({"end": START}, "must be after start"),
        ({"end": T0 + timedelta(minutes=1)}, "in the future"),
        ({"start": END - timedelta(days=31, seconds=1)}, "longer than 31 days"),
        ({"start": START.replace(tzinfo=None)}, "no time zone"),
        ({"requisition_date": (T0 + timedelta(days=2)).date()}, "requisition_date"),
        ({"camera_ids": []}, "camera_ids"),
    ],
)
def test_an_incomplete_requisition_or_a_bad_period_is_refused_by_name(
    parts: Parts, changes: dict[str, Any], named: str
) -> None:
    with pytest.raises(CaseRefusedError, match=named):
        open_case(parts, **changes)
    assert AuditAction.CASE_OPENED not in [e.action for e in parts.audit.events]


def test_a_period_of_exactly_31_days_is_accepted(parts: Parts) -> None:
    assert open_case(parts, start=END - timedelta(days=31)).start == END - timedelta(days=31)


def test_a_camera_of_another_commune_is_refused_like_a_missing_one_and_audited(parts: Parts) -> None:
    with pytest.raises(NotVisibleError, match="bron-1"):
        open_case(parts, camera_ids=["vil-1", "bron-1"])
    denied = parts.audit.events[-1]
    assert denied.action is AuditAction.ACCESS_DENIED and denied.details["camera_id"] == "bron-1"


def test_only_investigators_open_cases_and_only_with_their_authorisation(parts: Parts) -> None:
    with pytest.raises(AccessDeniedError):
        open_case(parts, DPO)
    with pytest.raises(AccessDeniedError):
        open_case(parts, OPERATOR)
    lapsed = person("inv.old", "villeurbanne", Role.INVESTIGATOR, video_refusal="your authorisation ended")
    with pytest.raises(AccessDeniedError, match="authorisation ended"):
        open_case(parts, lapsed)


def test_a_case_is_read_in_its_commune_only_each_read_audited(parts: Parts) -> None:
    case = open_case(parts)
    assert case.id is not None
    assert parts.service.get_for(DPO, case.id) == case
    assert parts.service.list_for(DPO) == [case]
    assert parts.actions()[-2:] == ["case.read", "case.read"]
    assert parts.service.list_for(BRON) == []
    with pytest.raises(NotVisibleError, match=f"no case {case.id}"):
        parts.service.get_for(BRON, case.id)
    assert parts.audit.events[-1].action is AuditAction.ACCESS_DENIED
    with pytest.raises(AccessDeniedError):
        parts.service.list_for(OPERATOR)


def test_require_in_scope_accepts_the_scope_and_refuses_everything_outside_it_audited(parts: Parts) -> None:
    case = open_case(parts)
    assert case.id is not None
    inside = parts.service.require_in_scope(INVESTIGATOR, case.id, "vil-2", START, END)
    assert inside == case
    outside = [
        ("vil-3", START, END, "camera 'vil-3' is not in the scope"),  # the investigator's commune, not the case's
        ("bron-1", START, END, "camera 'bron-1' is not in the scope"),
        ("vil-1", START - timedelta(seconds=1), END, "not within the scope"),
        ("vil-1", START, END + timedelta(seconds=1), "not within the scope"),
        ("vil-1", END, START, "not within the scope"),
    ]
    for camera, start, end, message in outside:
        before = len(parts.audit.events)
        with pytest.raises(OutOfScopeError, match=message):
            parts.service.require_in_scope(INVESTIGATOR, case.id, camera, start, end)
        denied = parts.audit.events[before:]
        assert [e.action for e in denied] == [AuditAction.ACCESS_DENIED]
        assert denied[0].target == f"case:{case.id}" and denied[0].details["camera_id"] == camera
    with pytest.raises(NotVisibleError):
        parts.service.require_in_scope(BRON, case.id, "vil-1", START, END)
    with pytest.raises(AccessDeniedError):
        parts.service.require_in_scope(DPO, case.id, "vil-1", START, END)


def test_holds_are_placed_on_the_scope_and_lifted_when_the_case_closes(parts: Parts) -> None:
    case = open_case(parts)
    assert case.id is not None
    held = parts.service.place_holds(INVESTIGATOR, case.id)
    assert len(held.hold_ids) == 2
    holds = {h.id: h for h in parts.holds.active()}
    assert {holds[i].camera_id for i in held.hold_ids} == {"vil-1", "vil-2"}
    assert {(holds[i].start, holds[i].end, holds[i].case_number) for i in held.hold_ids} == {
        (START, END, "PV 2026/1234")
    }
    assert parts.actions()[-3:] == ["hold.placed", "hold.placed", "case.holds_placed"]
    with pytest.raises(CaseConflictError, match="already has its holds"):
        parts.service.place_holds(INVESTIGATOR, case.id)

    parts.clock.advance(days=10)
    closed = parts.service.close(INVESTIGATOR, case.id, decision=HoldDecision.LIFTED, reason="classement sans suite")
    assert not closed.is_open and closed.hold_decision is HoldDecision.LIFTED
    assert parts.holds.active() == []
    assert parts.actions()[-3:] == ["hold.lifted", "hold.lifted", "case.closed"]
    assert parts.audit.events[-1].details["holds_lifted"] == list(held.hold_ids)

    with pytest.raises(CaseClosedError, match="closed"):
        parts.service.require_in_scope(INVESTIGATOR, case.id, "vil-1", START, END)
    assert parts.audit.events[-1].action is AuditAction.ACCESS_DENIED
    assert parts.audit.events[-1].details["reason"] == "the case is closed"
    with pytest.raises(CaseClosedError):
        parts.service.close(INVESTIGATOR, case.id, decision=HoldDecision.KEPT, reason="again")
    with pytest.raises(CaseClosedError):
        parts.service.place_holds(INVESTIGATOR, case.id)


def test_a_case_closed_with_its_holds_kept_leaves_them_in_force(parts: Parts) -> None:
    case = open_case(parts)
    assert case.id is not None
    held = parts.service.place_holds(INVESTIGATOR, case.id)
    with pytest.raises(CaseRefusedError, match="reason"):
        parts.service.close(INVESTIGATOR, case.id, decision=HoldDecision.KEPT, reason=" ")
    closed = parts.service.close(INVESTIGATOR, case.id, decision=HoldDecision.KEPT, reason="audience le 12 mars")
    assert closed.hold_decision is HoldDecision.KEPT
    assert sorted(h.id or 0 for h in parts.holds.active()) == sorted(held.hold_ids)
    assert parts.audit.events[-1].details["holds_kept"] == list(held.hold_ids)


def test_another_commune_cannot_close_a_case(parts: Parts) -> None:
    case = open_case(parts)
    assert case.id is not None
    with pytest.raises(NotVisibleError):
        parts.service.close(BRON, case.id, decision=HoldDecision.LIFTED, reason="x")
    with pytest.raises(NotVisibleError):
        parts.service.place_holds(BRON, case.id)
    assert parts.service.get_for(INVESTIGATOR, case.id).is_open


def test_a_replaced_principal_is_only_a_name(parts: Parts) -> None:
    # the commune, not the username, decides what a person reads: a namesake in another commune sees nothing
    case = open_case(parts)
    assert case.id is not None
    namesake = replace(BRON, user=replace(BRON.user, username="inv.vil"))
    with pytest.raises(NotVisibleError):
        parts.service.get_for(namesake, case.id)
    assert date.fromisoformat(str(parts.audit.events[0].details["requisition_date"])) == case.requisition_date
