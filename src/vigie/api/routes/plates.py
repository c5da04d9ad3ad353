"""Plate reading (LAPI) for state tenants (L34, L35): the matches of one's own tenant and their plate crops, the
per-camera daily counts (all that is shown of reads that matched nothing), hit-list imports and procedure holds.

The service checks the permission and that the person's tenant is a state service, and audits every query; a
read that matched no list is reachable by no route."""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Annotated, Final

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from vigie.api.deps import configured
from vigie.api.schemas import Day, Instant, RequestModel
from vigie.api.security import CurrentPrincipal
from vigie.domain.plates import HitListImport, PlateMatch, ReadCount
from vigie.services.plates import MAX_HIT_LIST_BYTES, PlateService

router = APIRouter(prefix="/api/plates", tags=["plates"])
MatchId = Annotated[int, Path(ge=1, le=2**62)]
HOLD_BODY_MAX_BYTES: Final = 4 * 1024


def _service(request: Request) -> PlateService:
    return configured(request, "plates", PlateService, "plate reading is")


class HoldOut(BaseModel):
    reference: str
    placed_by: str
    placed_at: datetime


class MatchOut(BaseModel):
    id: int
    camera_id: str
    at: datetime
    plate: str
    display: str
    plate_format: str
    confidence: float
    list_name: str
    reason: str
    expires_at: datetime
    alert_id: int | None
    hold: HoldOut | None


class CountOut(BaseModel):
    camera_id: str
    day: date
    reads: int
    matches: int


class ImportOut(BaseModel):
    id: int
    lists: list[str]
    entries: int
    sha256: str
    verified_by: str
    imported_by: str
    imported_at: datetime


class HoldIn(RequestModel):
    reference: str = Field(min_length=1, max_length=200, description="the procedure's case or requisition number")


class ReleaseIn(RequestModel):
    reason: str = Field(min_length=1, max_length=500, description="why the hold is lifted")


def match_out(m: PlateMatch) -> MatchOut:
    h = m.hold
    hold = None if h is None else HoldOut(reference=h.reference, placed_by=h.placed_by, placed_at=h.placed_at)
    return MatchOut(
        id=m.id,
        camera_id=m.camera_id,
        at=m.at,
        plate=m.text,
        display=m.display,
        plate_format=m.plate_format,
        confidence=m.confidence,
        list_name=m.list_name,
        reason=m.reason,
        expires_at=m.expires_at,
        alert_id=m.alert_id,
        hold=hold,
    )


def _count_out(c: ReadCount) -> CountOut:
    return CountOut(camera_id=c.camera_id, day=c.day, reads=c.reads, matches=c.matches)


def _import_out(i: HitListImport) -> ImportOut:
    return ImportOut(
        id=i.id or 0,
        lists=list(i.list_names),
        entries=i.entries,
        sha256=i.sha256,
        verified_by=i.verified_by,
        imported_by=i.imported_by,
        imported_at=i.imported_at,
    )


@router.get("/matches", response_model=list[MatchOut], summary="Reads that matched your tenant's lists (audited)")
def list_matches(
    *,
    request: Request,
    principal: CurrentPrincipal,
    camera_id: Annotated[str | None, Query(max_length=128)] = None,
    since: Annotated[Instant | None, Query(description="matches at or after this time, with a time zone")] = None,
    alert_id: Annotated[int | None, Query(ge=1, le=2**62, description="the match(es) behind one alert")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[MatchOut]:
    found = _service(request).matches_for(principal, camera_id=camera_id, since=since, alert_id=alert_id, limit=limit)
    return [match_out(m) for m in found]


@router.get("/matches/{match_id}", response_model=MatchOut, summary="One match (audited)")
def get_match(request: Request, principal: CurrentPrincipal, match_id: MatchId) -> MatchOut:
    return match_out(_service(request).match_for(principal, match_id))


@router.get(
    "/matches/{match_id}/crop",
    summary="The plate crop of one match, JPEG (audited)",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "the plate alone"}},
)
def match_crop(request: Request, principal: CurrentPrincipal, match_id: MatchId) -> Response:
    crop = _service(request).crop_for(principal, match_id)
    return Response(crop, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post("/matches/{match_id}/hold", response_model=MatchOut, summary="Keep a match for a procedure (L35)")
def hold_match(request: Request, principal: CurrentPrincipal, match_id: MatchId, body: HoldIn) -> MatchOut:
    return match_out(_service(request).hold_as(principal, match_id, body.reference))


@router.post("/matches/{match_id}/release", response_model=MatchOut, summary="Lift a match's procedure hold")
def release_match(request: Request, principal: CurrentPrincipal, match_id: MatchId, body: ReleaseIn) -> MatchOut:
    return match_out(_service(request).release_as(principal, match_id, body.reason))


@router.get("/counts", response_model=list[CountOut], summary="Plates read and matched per camera per day (audited)")
def counts(
    *,
    request: Request,
    principal: CurrentPrincipal,
    since: Annotated[Day | None, Query(description="first Paris day (default: 14 days before today)")] = None,
    until: Annotated[Day | None, Query(description="last Paris day (default: today)")] = None,
    camera_id: Annotated[str | None, Query(max_length=128)] = None,
) -> list[CountOut]:
    service = _service(request)
    first, last = service.default_period()
    found = service.counts_for(principal, since or first, until or last, camera_id=camera_id)
    return [_count_out(c) for c in found]


@router.get("/lists", response_model=list[ImportOut], summary="Your tenant's hit-list imports (no plate)")
def imports(request: Request, principal: CurrentPrincipal) -> list[ImportOut]:
    return [_import_out(i) for i in _service(request).imports_for(principal)]


@router.post(
    "/lists",
    response_model=ImportOut,
    summary="Import a hit-list file (the request body), vouched for by its SHA-256 or an Ed25519 signature",
    max_body_size=MAX_HIT_LIST_BYTES,
    responses={413: {"description": "the file is larger than a hit list may be"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "the file as is: UTF-8 text, a header plate/reason/list, one plate a line",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
async def import_list(
    request: Request,
    principal: CurrentPrincipal,
    checksum: Annotated[str | None, Query(max_length=80, description="the file's SHA-256 (hex)")] = None,
    signature: Annotated[
        str | None, Query(max_length=100, description="detached Ed25519 signature of the file, base64")
    ] = None,
) -> ImportOut:
    service = _service(request)
    service.check_can_import(principal)  # refused before reading a byte
    signed: bytes | None = None
    if signature is not None:
        try:
            signed = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            raise HTTPException(status_code=422, detail="signature: not base64") from None
    data = bytearray()
    async for chunk in request.stream():  # the cap (max_body_size) stops a longer body before it is all read
        data.extend(chunk)
    stored = await run_in_threadpool(service.import_as, principal, bytes(data), checksum=checksum, signature=signed)
    return _import_out(stored)
