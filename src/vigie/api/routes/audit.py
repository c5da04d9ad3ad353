"""The audit log (L11) for DPOs and auditors: read their tenant's entries, verify the whole chain, download a signed
export that ``vigie audit verify`` checks offline. The service checks the permission and the tenant and records
every read, verification and export.

And, for everyone without login, ``GET /api/public/audit-head``: the latest signed head of the chain, which anyone
may archive so that rows cut or rewritten later are detected by ``vigie audit verify --head`` (docs/audit.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from vigie.api.deps import configured
from vigie.api.schemas import Instant
from vigie.api.security import CurrentPrincipal
from vigie.domain.audit import AuditAction, AuditRecord
from vigie.services.audit import AuditFilters, AuditService, ChainVerification

audit_router = APIRouter(prefix="/api/audit", tags=["audit"])
public_router = APIRouter(prefix="/api/public", tags=["public"])
HEAD_CACHE = "public, max-age=30"
EXPORT_MEDIA_TYPE = "application/x-ndjson"

Since = Annotated[Instant | None, Query(description="entries at or after this time, with a time zone")]
Until = Annotated[Instant | None, Query(description="entries strictly before this time, with a time zone")]


class AuditEntryOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPageOut(BaseModel):
    items: list[AuditEntryOut] = Field(description="newest first")
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page, null on the last page")
    max_seq: int = Field(description="pass it back as max_seq for the next pages: later entries stay out of them")


class AuditHeadOut(BaseModel):
    """A signed head of the audit chain (docs/audit.md): keep it as is, byte for byte the JSON fields below."""

    format: str = Field(description="always vigie-audit-head")
    version: int
    seq: int = Field(description="the entry the head vouches for, and so every entry before it")
    hash: str = Field(description="that entry's hash")
    at: str = Field(description="when the head was signed (UTC)")
    checkpoint_every: int = Field(description="the chain's checkpoint interval")
    key_id: str = Field(description="the audit key that signed it (public key: `vigie audit keys`)")
    signature: str = Field(description="Ed25519, base64, over the canonical JSON of the other fields")


class VerificationIssueOut(BaseModel):
    seq: int | None
    kind: str
    message: str


class VerificationOut(BaseModel):
    ok: bool = Field(description="true when every hash, link and checkpoint signature of the chain verifies")
    entries: int = Field(description="entries checked")
    first_seq: int | None
    last_seq: int | None
    checkpoints: int = Field(description="signed checkpoints whose signature verified")
    key_ids: list[str] = Field(description="public keys the signatures were checked against")
    checked_at: datetime
    first_broken_seq: int | None = Field(description="where the chain first breaks, null when it holds")
    problem: str | None = Field(description="modified, deleted, inserted, reordered, signature, malformed…")
    message: str | None = Field(description="what is wrong at first_broken_seq")
    issue_count: int
    issues: list[VerificationIssueOut] = Field(description="the first issues found")


def _service(request: Request) -> AuditService:
    return configured(request, "audit", AuditService, "the audit log is")


def _entry(record: AuditRecord) -> AuditEntryOut:
    return AuditEntryOut(
        seq=record.seq,
        at=record.at,
        actor=record.actor,
        action=record.action,
        target=record.target,
        details=dict(record.details),
        prev_hash=record.prev_hash,
        hash=record.hash,
    )


def _verification(result: ChainVerification) -> VerificationOut:
    return VerificationOut(
        ok=result.ok,
        entries=result.entries,
        first_seq=result.first_seq,
        last_seq=result.last_seq,
        checkpoints=result.checkpoints,
        key_ids=list(result.key_ids),
        checked_at=result.checked_at,
        first_broken_seq=result.first_broken_seq,
        problem=result.problem,
        message=result.message,
        issue_count=result.issue_count,
        issues=[VerificationIssueOut(seq=i.seq, kind=i.kind, message=i.message) for i in result.issues],
    )


@audit_router.get("", response_model=AuditPageOut, summary="Audit entries of your tenant, newest first (audited)")
def list_entries(
    *,
    request: Request,
    principal: CurrentPrincipal,
    since: Since = None,
    until: Until = None,
    actor: Annotated[str | None, Query(max_length=256, description="who: exactly this actor")] = None,
    action: Annotated[AuditAction | None, Query(description="what happened")] = None,
    target: Annotated[str | None, Query(max_length=256, description="on what: targets starting with this")] = None,
    max_seq: Annotated[int | None, Query(ge=1, le=2**62, description="the max_seq of the first page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AuditPageOut:
    filters = AuditFilters(since=since, until=until, actor=actor, action=action, target_prefix=target, max_seq=max_seq)
    page = _service(request).list_for(principal, filters, limit=limit, offset=offset)
    return AuditPageOut(
        items=[_entry(r) for r in page.items],
        limit=limit,
        offset=offset,
        next_offset=page.next_offset,
        max_seq=page.max_seq,
    )


@audit_router.get("/verify", response_model=VerificationOut, summary="Verify the whole chain (audited)")
def verify(request: Request, principal: CurrentPrincipal) -> VerificationOut:
    return _verification(_service(request).verify_for(principal))


@audit_router.get(
    "/export",
    summary="Signed export of a period, for `vigie audit verify` (audited)",
    response_class=FileResponse,
    responses={200: {"content": {EXPORT_MEDIA_TYPE: {}}, "description": "the export file (JSON Lines)"}},
)
def export(*, request: Request, principal: CurrentPrincipal, since: Since = None, until: Until = None) -> FileResponse:
    exported = _service(request).export_for(principal, since=since, until=until)
    return FileResponse(
        exported.path,
        media_type=EXPORT_MEDIA_TYPE,
        filename=exported.filename,
        headers={"Cache-Control": "no-store", "X-Content-SHA256": exported.sha256},
        # The file holds personal data: it lives only until it has been sent.
        background=BackgroundTask(exported.discard),
    )


@public_router.get(
    "/audit-head",
    response_model=AuditHeadOut,
    summary="The latest signed head of the audit chain, to archive (public, no login)",
    responses={404: {"description": "the audit log is empty: no head yet"}},
)
def audit_head(request: Request, response: Response) -> AuditHeadOut:
    head = _service(request).published_head()
    if head is None:
        raise HTTPException(status_code=404, detail="the audit log is empty: no head yet")
    response.headers["Cache-Control"] = HEAD_CACHE
    return AuditHeadOut(**head)


router = APIRouter()
"""Both: the app includes ``router`` of each route module."""
router.include_router(audit_router)
router.include_router(public_router)
