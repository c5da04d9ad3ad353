"""Cases (issue 22): an investigator opens a case from a judicial requisition — its reference, authority, date,
purpose and scope (cameras, a period) — places holds on its scope and closes it with a decision about them; the
people of the commune with ``read_cases`` (investigators, the DPO, auditors) list and read them. Every step is
audited by the service (:mod:`vigie.services.cases`); searches of the recordings come within a case's scope only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from vigie.api.deps import configured
from vigie.api.schemas import Day, Instant, RequestModel
from vigie.api.security import CurrentPrincipal
from vigie.domain.cases import MAX_CASE_CAMERAS, AuthorityKind, Case, HoldDecision
from vigie.services.cases import CaseService

router = APIRouter(prefix="/api/cases", tags=["cases"])
CaseId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the case's id, answered when it was opened")]
CameraId = Annotated[str, Field(min_length=1, max_length=64)]


class CaseIn(RequestModel):
    reference: str = Field(min_length=1, max_length=256, description="the case's number with the authority")
    requisition_ref: str = Field(min_length=1, max_length=256, description="the requisition's reference")
    authority: str = Field(min_length=1, max_length=256, description="the officer or magistrate who signed it")
    authority_kind: Literal["officer", "magistrate"] = Field(
        description="an officer of judicial police, or a magistrate (prosecutor, investigating judge)"
    )
    requisition_date: Day = Field(description="the day the requisition was signed (not in the future)")
    purpose: str = Field(min_length=1, max_length=2000, description="what the requisition asks to establish")
    camera_ids: list[CameraId] = Field(
        min_length=1, max_length=MAX_CASE_CAMERAS, description="the cameras of the scope: cameras you may see"
    )
    start: Instant = Field(description="start of the period of the scope, with a time zone")
    end: Instant = Field(
        description="end of the period (exclusive), with a time zone: after the start, not in the future, at most "
        "31 days after the start"
    )


class CloseIn(RequestModel):
    hold_decision: Literal["lifted", "kept"] = Field(
        description="what becomes of the case's holds: lifted (back under normal retention) or kept in force"
    )
    reason: str = Field(min_length=1, max_length=2000, description="why the case closes, and why its holds go or stay")


class CaseOut(BaseModel):
    id: int
    commune_id: str
    reference: str
    requisition_ref: str
    authority: str
    authority_kind: Literal["officer", "magistrate"]
    requisition_date: date
    purpose: str
    camera_ids: list[str]
    start: datetime
    end: datetime
    opened_by: str
    opened_at: datetime
    state: Literal["open", "closed"]
    hold_ids: list[int] = Field(description="the holds placed for the case")
    closed_at: datetime | None
    closed_by: str | None
    hold_decision: Literal["lifted", "kept"] | None
    close_reason: str | None


class CasePageOut(BaseModel):
    items: list[CaseOut]
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page, null on the last page")


def _service(request: Request) -> CaseService:
    return configured(request, "cases", CaseService, "cases are")


def case_out(case: Case) -> CaseOut:
    return CaseOut(
        id=case.id or 0,
        commune_id=case.commune_id,
        reference=case.reference,
        requisition_ref=case.requisition_ref,
        authority=case.authority,
        authority_kind=case.authority_kind.value,
        requisition_date=case.requisition_date,
        purpose=case.purpose,
        camera_ids=list(case.camera_ids),
        start=case.start,
        end=case.end,
        opened_by=case.opened_by,
        opened_at=case.opened_at,
        state="open" if case.is_open else "closed",
        hold_ids=list(case.hold_ids),
        closed_at=case.closed_at,
        closed_by=case.closed_by,
        hold_decision=None if case.hold_decision is None else case.hold_decision.value,
        close_reason=case.close_reason,
    )


@router.post("", status_code=201, response_model=CaseOut, summary="Open a case from a requisition (investigators)")
def open_case(*, request: Request, response: Response, principal: CurrentPrincipal, body: CaseIn) -> CaseOut:
    case = _service(request).open(
        principal,
        reference=body.reference,
        requisition_ref=body.requisition_ref,
        authority=body.authority,
        authority_kind=AuthorityKind(body.authority_kind),
        requisition_date=body.requisition_date,
        purpose=body.purpose,
        camera_ids=body.camera_ids,
        start=body.start,
        end=body.end,
    )
    response.headers["Location"] = f"{router.prefix}/{case.id}"
    return case_out(case)


@router.get("", response_model=CasePageOut, summary="Your commune's cases, newest first (audited)")
def list_cases(
    *,
    request: Request,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> CasePageOut:
    items = _service(request).list_for(principal, limit=limit, offset=offset)
    return CasePageOut(
        items=[case_out(c) for c in items],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(items) == limit else None,
    )


@router.get("/{case_id}", response_model=CaseOut, summary="One case of your commune (audited)")
def get_case(*, request: Request, principal: CurrentPrincipal, case_id: CaseId) -> CaseOut:
    return case_out(_service(request).get_for(principal, case_id))


@router.post(
    "/{case_id}/holds",
    response_model=CaseOut,
    summary="Place a hold (L4) on every camera of the case's scope over its period (investigators; audited)",
)
def place_holds(*, request: Request, principal: CurrentPrincipal, case_id: CaseId) -> CaseOut:
    return case_out(_service(request).place_holds(principal, case_id))


@router.post(
    "/{case_id}/close",
    response_model=CaseOut,
    summary="Close a case, its holds lifted or kept by decision (investigators; audited); 409 once closed",
)
def close_case(*, request: Request, principal: CurrentPrincipal, case_id: CaseId, body: CloseIn) -> CaseOut:
    decision = HoldDecision(body.hold_decision)
    return case_out(_service(request).close(principal, case_id, decision=decision, reason=body.reason))
