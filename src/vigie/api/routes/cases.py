"""Cases (issue 22): an investigator opens a case from a judicial requisition — its reference, authority, date,
purpose and scope (cameras, a period) — places holds on its scope and closes it with a decision about them; the
people of the commune with ``read_cases`` (investigators, the DPO, auditors) list and read them. Every step is
audited by the service (:mod:`vigie.services.cases`); searches of the recordings come within a case's scope only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from vigie.api.deps import configured
from vigie.api.schemas import Day, Instant, RequestModel
from vigie.api.security import CurrentPrincipal
from vigie.domain.case_bookmarks import MAX_NOTE, CaseBookmark
from vigie.domain.case_objects import MAX_PAGE, CaseObject, ObjectCursor, ObjectQuery
from vigie.domain.cases import MAX_CASE_CAMERAS, AuthorityKind, Case, HoldDecision
from vigie.services.case_bookmarks import CaseBookmarkService
from vigie.services.case_search import DEFAULT_MOTION, MAX_REGION_POINTS, CaseSearchService, SearchJob
from vigie.services.cases import CaseService

router = APIRouter(prefix="/api/cases", tags=["cases"])
CaseId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the case's id, answered when it was opened")]
CameraId = Annotated[str, Field(min_length=1, max_length=64)]
JobId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the search's id, answered when it was started")]


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


# --- forensic object search within a case (issue 22) -------------------------------------------------------------


class SearchIn(RequestModel):
    camera_ids: list[CameraId] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_CASE_CAMERAS,
        description="cameras of the case's scope to search (default: all of them)",
    )
    start: Instant | None = Field(default=None, description="start of the period searched (default: the case's)")
    end: Instant | None = Field(default=None, description="end of the period searched, exclusive (default: the case's)")


Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class MotionSearchIn(RequestModel):
    camera_id: CameraId = Field(description="the camera of the case's scope whose recordings are searched")
    start: Instant = Field(description="start of the period searched, with a time zone (within the case's period)")
    end: Instant = Field(description="end of the period searched, exclusive, with a time zone")
    region: list[Annotated[list[Fraction], Field(min_length=2, max_length=2)]] = Field(
        min_length=3,
        max_length=MAX_REGION_POINTS,
        description="the region drawn on the camera's picture: 3 to 32 [x, y] points, normalised ((0, 0) top-left "
        "to (1, 1) bottom-right)",
    )
    min_changed: float | None = Field(
        default=None,
        gt=0.0,
        le=1.0,
        description=f"fraction of the region's pixels that must change for motion to count (default "
        f"{DEFAULT_MOTION.min_changed_fraction})",
    )
    min_seconds: float | None = Field(
        default=None, ge=0.0, le=3600.0, description="motion shorter than this is left out, seconds (default 0)"
    )


class SearchJobOut(BaseModel):
    id: int
    case_id: int
    kind: Literal["objects", "motion"] = Field(description="objects (detector and tracker) or motion in a region")
    camera_ids: list[str]
    start: datetime
    end: datetime
    parameters: dict[str, Any] = Field(
        description="what else was asked: for a motion search its region ([x, y] points), min_changed, min_seconds"
    )
    requested_by: str
    requested_at: datetime
    state: Literal["queued", "running", "done", "failed"]
    progress: float = Field(description="0 to 1")
    found: int = Field(description="results stored: objects, or motion hits (kept as history after a purge)")
    error: str | None
    finished_at: datetime | None


class SearchJobPageOut(BaseModel):
    items: list[SearchJobOut]
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page, null on the last page")


class MotionHitOut(BaseModel):
    id: int
    camera_id: str
    start: datetime
    end: datetime
    peak_at: datetime = Field(description="when the most of the region changed: where playback should open")
    peak_fraction: float = Field(description="the largest fraction of the region changed in the span, 0 to 1")


class MotionHitPageOut(BaseModel):
    items: list[MotionHitOut]
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page, null on the last page")


class BoxOut(BaseModel):
    x: float
    y: float
    w: float
    h: float


class CaseObjectOut(BaseModel):
    id: int
    camera_id: str
    class_: str = Field(alias="class", serialization_alias="class")
    colour: str | None
    first_seen: datetime
    last_seen: datetime
    direction: str | None
    zones: list[str]
    lines: list[str]
    box: BoxOut
    thumbnail_at: datetime


class CaseObjectPageOut(BaseModel):
    items: list[CaseObjectOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


def _search(request: Request) -> CaseSearchService:
    return configured(request, "case_search", CaseSearchService, "forensic search is")


def _job_out(job: SearchJob) -> SearchJobOut:
    return SearchJobOut(
        id=job.id or 0,
        case_id=job.case_id,
        kind=job.kind.value,
        camera_ids=list(job.camera_ids),
        start=job.start,
        end=job.end,
        parameters=dict(job.parameters),
        requested_by=job.requested_by,
        requested_at=job.requested_at,
        state=job.state.value,
        progress=job.progress,
        found=job.found,
        error=job.error,
        finished_at=job.finished_at,
    )


@router.post(
    "/{case_id}/searches",
    status_code=202,
    response_model=SearchJobOut,
    summary="Search the case's recordings for objects, within its scope (investigators; audited); runs in the "
    "background",
)
def start_search(*, request: Request, principal: CurrentPrincipal, case_id: CaseId, body: SearchIn) -> SearchJobOut:
    job = _search(request).search(principal, case_id, body.camera_ids, body.start, body.end)
    return _job_out(job)


@router.post(
    "/{case_id}/motion-searches",
    status_code=202,
    response_model=SearchJobOut,
    summary="Search one camera's recordings for motion in a region drawn on it, within the case's scope "
    "(investigators; audited); runs in the background",
)
def start_motion_search(
    *, request: Request, principal: CurrentPrincipal, case_id: CaseId, body: MotionSearchIn
) -> SearchJobOut:
    job = _search(request).search_motion(
        principal,
        case_id,
        body.camera_id,
        body.start,
        body.end,
        body.region,
        min_changed=body.min_changed,
        min_seconds=body.min_seconds,
    )
    return _job_out(job)


@router.get("/{case_id}/searches", response_model=SearchJobPageOut, summary="The case's searches, newest first")
def list_searches(
    *,
    request: Request,
    principal: CurrentPrincipal,
    case_id: CaseId,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> SearchJobPageOut:
    items = _search(request).jobs(principal, case_id, limit=limit, offset=offset)
    return SearchJobPageOut(
        items=[_job_out(j) for j in items],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(items) == limit else None,
    )


@router.get("/{case_id}/searches/{job_id}", response_model=SearchJobOut, summary="Where a search of the case stands")
def get_search(*, request: Request, principal: CurrentPrincipal, case_id: CaseId, job_id: JobId) -> SearchJobOut:
    return _job_out(_search(request).job(principal, case_id, job_id))


@router.get(
    "/{case_id}/searches/{job_id}/hits",
    response_model=MotionHitPageOut,
    summary="What a motion search found: spans where the region changed, in time order (audited)",
)
def list_motion_hits(
    *,
    request: Request,
    principal: CurrentPrincipal,
    case_id: CaseId,
    job_id: JobId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> MotionHitPageOut:
    hits = _search(request).motion_hits(principal, case_id, job_id, limit=limit, offset=offset)
    return MotionHitPageOut(
        items=[
            MotionHitOut(
                id=h.id or 0,
                camera_id=h.camera_id,
                start=h.start,
                end=h.end,
                peak_at=h.peak_at,
                peak_fraction=h.peak_fraction,
            )
            for h in hits
        ],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(hits) == limit else None,
    )


@router.get(
    "/{case_id}/objects",
    response_model=CaseObjectPageOut,
    response_model_by_alias=True,
    summary="The objects the case's searches found, filtered (audited); a person is a class, never described",
)
def list_objects(
    *,
    request: Request,
    principal: CurrentPrincipal,
    case_id: CaseId,
    class_: Annotated[list[str] | None, Query(alias="class", max_length=8)] = None,
    colour: Annotated[list[str] | None, Query(max_length=11)] = None,
    direction: Annotated[str | None, Query(max_length=16)] = None,
    camera: Annotated[list[str] | None, Query(max_length=64)] = None,
    start: Annotated[Instant | None, Query(description="objects seen at or after this time, with a time zone")] = None,
    end: Annotated[Instant | None, Query(description="objects first seen before this time, with a time zone")] = None,
    zone: Annotated[str | None, Query(max_length=64)] = None,
    line: Annotated[str | None, Query(max_length=64)] = None,
    min_dwell: Annotated[float | None, Query(ge=0, le=31 * 86400, description="seconds")] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> CaseObjectPageOut:
    query = ObjectQuery(
        case_id=case_id,
        classes=frozenset(class_ or ()),  # type: ignore[arg-type]  # checked and parsed by ObjectQuery
        colours=frozenset(colour or ()),  # type: ignore[arg-type]
        camera_ids=frozenset(camera or ()),
        start=start,
        end=end,
        direction=direction,  # type: ignore[arg-type]
        zone=zone,
        line=line,
        min_dwell_seconds=min_dwell,
        limit=limit,
        after=None if cursor is None else ObjectCursor.parse(cursor),
    )
    page = _search(request).objects(principal, query)
    return CaseObjectPageOut(
        items=[_object_out(o) for o in page.objects],
        next_cursor=None if page.next_cursor is None else page.next_cursor.token(),
    )


def _object_out(o: CaseObject) -> CaseObjectOut:
    return CaseObjectOut.model_validate(
        {
            "id": o.id or 0,
            "camera_id": o.camera_id,
            "class": o.object_class.value,
            "colour": None if o.colour is None else o.colour.value,
            "first_seen": o.first_seen,
            "last_seen": o.last_seen,
            "direction": None if o.direction is None else o.direction.value,
            "zones": list(o.zones),
            "lines": list(o.lines),
            "box": {"x": o.box.x, "y": o.box.y, "w": o.box.w, "h": o.box.h},
            "thumbnail_at": o.thumbnail_at,
        }
    )


@router.get(
    "/{case_id}/objects/{object_id}/thumbnail.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
    summary="The object's picture, cut from the recording at its thumbnail instant (audited)",
)
def object_thumbnail(
    *,
    request: Request,
    principal: CurrentPrincipal,
    case_id: CaseId,
    object_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
) -> Response:
    jpeg = _search(request).object_thumbnail(principal, case_id, object_id)
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


# --- a case's own bookmarks (issue 22) ---------------------------------------------------------------------------


class BookmarkIn(RequestModel):
    camera_id: CameraId = Field(description="a camera of the case's scope")
    at: Instant = Field(description="the instant marked, with a time zone, within the case's period")
    note: str = Field(default="", max_length=MAX_NOTE, description="what to look at there (may be empty)")


class BookmarkOut(BaseModel):
    id: int
    case_id: int
    camera_id: str
    at: datetime
    note: str
    created_by: str
    created_at: datetime


class BookmarkListOut(BaseModel):
    items: list[BookmarkOut] = Field(description="in the order of their instants")


def _bookmarks(request: Request) -> CaseBookmarkService:
    return configured(request, "case_bookmarks", CaseBookmarkService, "case bookmarks are")


def _bookmark_out(b: CaseBookmark) -> BookmarkOut:
    return BookmarkOut(
        id=b.id or 0,
        case_id=b.case_id,
        camera_id=b.camera_id,
        at=b.at,
        note=b.note,
        created_by=b.created_by,
        created_at=b.created_at,
    )


@router.post(
    "/{case_id}/bookmarks",
    status_code=201,
    response_model=BookmarkOut,
    summary="Bookmark an instant of a camera of the case's scope, with a note (investigators; audited)",
)
def add_bookmark(*, request: Request, principal: CurrentPrincipal, case_id: CaseId, body: BookmarkIn) -> BookmarkOut:
    return _bookmark_out(_bookmarks(request).add(principal, case_id, body.camera_id, body.at, body.note))


@router.get("/{case_id}/bookmarks", response_model=BookmarkListOut, summary="The case's bookmarks (audited)")
def list_bookmarks(*, request: Request, principal: CurrentPrincipal, case_id: CaseId) -> BookmarkListOut:
    return BookmarkListOut(items=[_bookmark_out(b) for b in _bookmarks(request).list(principal, case_id)])


@router.delete(
    "/{case_id}/bookmarks/{bookmark_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a bookmark of an open case (investigators; audited)",
)
def remove_bookmark(
    *,
    request: Request,
    principal: CurrentPrincipal,
    case_id: CaseId,
    bookmark_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
) -> Response:
    _bookmarks(request).remove(principal, case_id, bookmark_id)
    return Response(status_code=204)
