"""The ``cases`` table (issue 22) on SQLite and PostgreSQL: a case comes back as opened, is listed by commune
newest first, gets its holds linked once each, and closes once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine
from tests.support.clocks import T0

from vigie.domain.cases import AuthorityKind, Case, HoldDecision
from vigie.storage.cases import SqlCaseRepo


def a_case(commune: str = "villeurbanne", *, opened_after: timedelta = timedelta(0), reference: str = "PV-1") -> Case:
    return Case(
        commune_id=commune,
        reference=reference,
        requisition_ref="REQ-2026-17",
        authority="OPJ Martin",
        authority_kind=AuthorityKind.OFFICER,
        requisition_date=date(2026, 11, 27),
        purpose="vol à l'arraché, place Lazare-Goujon",
        camera_ids=("vil-1", "vil-2"),
        start=T0 - timedelta(hours=3),
        end=T0 - timedelta(hours=1),
        opened_by="inv.vil",
        opened_at=T0 + opened_after,
    )


def test_a_case_comes_back_as_opened_and_is_listed_by_commune_newest_first(db: Engine) -> None:
    repo = SqlCaseRepo(db)
    first = repo.add(a_case())
    second = repo.add(a_case(opened_after=timedelta(minutes=5), reference="PV-2"))
    repo.add(a_case("bron", reference="PV-B"))
    assert first.id is not None and second.id is not None
    assert repo.get(first.id) == first
    assert first.camera_ids == ("vil-1", "vil-2") and first.is_open and first.hold_ids == ()
    assert [c.reference for c in repo.list("villeurbanne", limit=10, offset=0)] == ["PV-2", "PV-1"]
    assert [c.reference for c in repo.list("villeurbanne", limit=1, offset=1)] == ["PV-1"]
    assert repo.get(10_000) is None


def test_holds_are_linked_once_and_a_case_closes_once(db: Engine) -> None:
    repo = SqlCaseRepo(db)
    case = repo.add(a_case())
    assert case.id is not None
    assert repo.add_holds(case.id, [3, 4]).hold_ids == (3, 4)
    assert repo.add_holds(case.id, [4, 9]).hold_ids == (3, 4, 9)
    closed = repo.close(case.id, T0 + timedelta(days=2), "inv.vil", HoldDecision.KEPT, "jugement à venir")
    assert not closed.is_open and closed.hold_decision is HoldDecision.KEPT and closed.closed_by == "inv.vil"
    assert repo.get(case.id) == closed
    with pytest.raises(ValueError, match="already closed"):
        repo.close(case.id, T0 + timedelta(days=3), "inv.vil", HoldDecision.LIFTED, "again")
    with pytest.raises(LookupError, match="does not exist"):
        repo.close(10_000, T0, "inv.vil", HoldDecision.LIFTED, "x")
