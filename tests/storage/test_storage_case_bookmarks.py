"""The ``case_bookmarks`` table (issue 22) on SQLite and PostgreSQL: a case's bookmarks come back as added, in the
order of their instants whatever the order they were added in, only the case's own; one is removed, then all of
them with the case's purge; they go with the case's row."""

from __future__ import annotations

from datetime import date, timedelta, timezone

from sqlalchemy import Engine, delete
from tests.support.clocks import T0

from vigie.domain.case_bookmarks import CaseBookmark
from vigie.domain.cases import AuthorityKind, Case
from vigie.storage.case_bookmarks import SqlCaseBookmarks
from vigie.storage.cases import SqlCaseRepo
from vigie.storage.tables import CaseRow

PARIS_WINTER = timezone(timedelta(hours=1))


def a_case(commune: str = "villeurbanne", reference: str = "PV-1") -> Case:
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
        opened_at=T0,
    )


def a_bookmark(case_id: int, minutes: int, note: str = "", camera: str = "vil-1") -> CaseBookmark:
    at = (T0 - timedelta(hours=3) + timedelta(minutes=minutes)).astimezone(PARIS_WINTER)
    return CaseBookmark(case_id, camera, at, note, "inv.vil", T0)


def test_bookmarks_come_back_in_the_order_of_their_instants_for_their_case_only(db: Engine) -> None:
    cases, bookmarks = SqlCaseRepo(db), SqlCaseBookmarks(db)
    case, other = cases.add(a_case()), cases.add(a_case("bron", "PV-B"))
    assert case.id is not None and other.id is not None
    late = bookmarks.add(a_bookmark(case.id, 50, "  le scooter repart vers le nord  "))
    early = bookmarks.add(a_bookmark(case.id, 5, camera="vil-2"))
    bookmarks.add(a_bookmark(other.id, 1, "autre affaire"))

    assert late.id is not None and early.id is not None and late.id != early.id
    assert late.note == "le scooter repart vers le nord" and late.at.utcoffset() == timedelta(0)
    listed = bookmarks.list(case.id)
    assert listed == [early, late]
    assert listed[1].at == T0 - timedelta(hours=3) + timedelta(minutes=50)
    assert bookmarks.count(case.id) == 2 and bookmarks.count(other.id) == 1
    assert bookmarks.get(case.id, late.id) == late
    assert bookmarks.get(other.id, late.id) is None  # another case's id answers like none


def test_a_bookmark_is_removed_then_the_rest_go_with_the_purge_or_with_the_case(db: Engine) -> None:
    cases, bookmarks = SqlCaseRepo(db), SqlCaseBookmarks(db)
    case, kept = cases.add(a_case()), cases.add(a_case(reference="PV-2"))
    assert case.id is not None and kept.id is not None
    first, second = (bookmarks.add(a_bookmark(case.id, m)) for m in (1, 2))
    assert first.id is not None and second.id is not None
    third = bookmarks.add(a_bookmark(kept.id, 3))

    assert bookmarks.delete(kept.id, first.id) is False  # not that case's
    assert bookmarks.delete(case.id, first.id) is True
    assert bookmarks.delete(case.id, first.id) is False
    assert bookmarks.list(case.id) == [second]
    assert bookmarks.purge(case.id) == 1
    assert bookmarks.list(case.id) == [] and bookmarks.list(kept.id) == [third]

    with db.begin() as conn:  # the case's row deleted: its bookmarks go with it (ON DELETE CASCADE)
        conn.execute(delete(CaseRow).where(CaseRow.id == kept.id))
    assert bookmarks.list(kept.id) == []
