"""The ``cases`` table (issue 22; implements :class:`vigie.domain.cases.CaseRepo`)."""

from __future__ import annotations

import builtins
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from vigie.domain.cases import AuthorityKind, Case, HoldDecision
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.tables import CaseRow, require_aware


class SqlCaseRepo:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._read = sessionmaker(for_reading(engine), expire_on_commit=False)

    def add(self, case: Case) -> Case:
        if case.id is not None:
            raise ValueError(f"case {case.id} is already stored")
        row = CaseRow(
            commune_id=case.commune_id,
            reference=case.reference,
            requisition_ref=case.requisition_ref,
            authority=case.authority,
            authority_kind=case.authority_kind.value,
            requisition_date=case.requisition_date,
            purpose=case.purpose,
            camera_ids=" ".join(case.camera_ids),
            start=require_aware(case.start, "case.start"),
            end=require_aware(case.end, "case.end"),
            opened_by=case.opened_by,
            opened_at=require_aware(case.opened_at, "case.opened_at"),
            hold_ids=" ".join(str(h) for h in case.hold_ids),
            closed_at=None,
            closed_by=None,
            hold_decision=None,
            close_reason=None,
        )
        with storage_errors(self._engine, f"open case {case.reference}"), self._write.begin() as session:
            session.add(row)
            session.flush()
            return _case(row)

    def get(self, case_id: int) -> Case | None:
        with storage_errors(self._engine, f"read case {case_id}"), self._read.begin() as session:
            row = session.get(CaseRow, case_id)
            return None if row is None else _case(row)

    def list(self, commune_id: str, *, limit: int, offset: int) -> builtins.list[Case]:
        query = (
            select(CaseRow)
            .where(CaseRow.commune_id == commune_id)
            .order_by(CaseRow.opened_at.desc(), CaseRow.id.desc())
            .limit(max(1, min(limit, 1000)))
            .offset(max(0, offset))
        )
        with storage_errors(self._engine, "list cases"), self._read.begin() as session:
            return [_case(row) for row in session.scalars(query)]

    def add_holds(self, case_id: int, hold_ids: builtins.list[int]) -> Case:
        with storage_errors(self._engine, f"link holds to case {case_id}"), self._write.begin() as session:
            row = _locked(session, case_id)
            known = [int(h) for h in row.hold_ids.split()]
            row.hold_ids = " ".join(str(h) for h in [*known, *(h for h in hold_ids if h not in known)])
            return _case(row)

    def close(self, case_id: int, at: datetime, by: str, decision: HoldDecision, reason: str) -> Case:
        when = require_aware(at, "at")
        with storage_errors(self._engine, f"close case {case_id}"), self._write.begin() as session:
            row = _locked(session, case_id)
            if row.closed_at is not None:
                raise ValueError(f"case {case_id} was already closed at {row.closed_at.isoformat()} by {row.closed_by}")
            row.closed_at, row.closed_by, row.hold_decision, row.close_reason = when, by, decision.value, reason
            return _case(row)


def _locked(session: Session, case_id: int) -> CaseRow:
    row = session.scalars(select(CaseRow).where(CaseRow.id == case_id).with_for_update()).one_or_none()
    if row is None:
        raise LookupError(f"case {case_id} does not exist")
    return row


def _case(row: CaseRow) -> Case:
    return Case(
        commune_id=row.commune_id,
        reference=row.reference,
        requisition_ref=row.requisition_ref,
        authority=row.authority,
        authority_kind=AuthorityKind(row.authority_kind),
        requisition_date=row.requisition_date,
        purpose=row.purpose,
        camera_ids=tuple(row.camera_ids.split()),
        start=row.start,
        end=row.end,
        opened_by=row.opened_by,
        opened_at=row.opened_at,
        id=row.id,
        hold_ids=tuple(int(h) for h in row.hold_ids.split()),
        closed_at=row.closed_at,
        closed_by=row.closed_by,
        hold_decision=None if row.hold_decision is None else HoldDecision(row.hold_decision),
        close_reason=row.close_reason,
    )
