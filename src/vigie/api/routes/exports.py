"""Exports for a requisition (L13, L14): ask, follow the progress, download the signed package, verify it.

The service checks the export permission (with the authorisation and training, L8, L9), the cameras (another
tenant's camera answers 404 like a missing one), the reason and requisition reference, and audits every request,
refusal, download and verification. An export runs in the background: ``POST`` answers 202 with the job, to
follow with ``GET /api/exports/{id}`` until its state is ``done`` or ``failed``. Once the package has been handed
to the prosecutor, ``POST /api/exports/{id}/transmission`` records the day (L5): it lands in the destruction
register of the recordings exported, and in the audit log.
"""

from __future__ import annotations

import base64
import tempfile
from datetime import date, datetime
from typing import Annotated, Final, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from vigie.api.deps import configured
from vigie.api.limits import PACKAGE_UPLOAD_MAX_BYTES
from vigie.api.schemas import Day, Instant, RequestModel
from vigie.api.security import CurrentPrincipal
from vigie.services.exports import ExportJob, ExportService, PackageVerification, Transmission

router = APIRouter(prefix="/api/exports", tags=["exports"])
ExportId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="the id answered when the export was asked")]
ExportOrManifestId = Annotated[
    str,
    Path(
        pattern=r"^([0-9a-f]{32}|[0-9a-f]{64})$",
        description="the export's id, or the SHA-256 of its manifest (an export made with `vigie export create`)",
    ),
]
PACKAGE_MEDIA_TYPE: Final = "application/zip"
_SPOOL_IN_MEMORY: Final = 1 << 20


class ExportIn(RequestModel):
    camera_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(min_length=1, max_length=64)
    start: Instant = Field(description="start of the range, with a time zone")
    end: Instant = Field(description="end of the range (exclusive), with a time zone; at most one day")
    reason: str = Field(max_length=2000, description="why the footage is exported (L13); must not be blank")
    requisition_ref: str = Field(
        max_length=256, description="reference of the requisition or judicial request (L13); must not be blank"
    )
    redacted: bool = Field(
        default=False,
        description="blur every person and vehicle before packaging (footage for the press or an insurer); the "
        "manifest names the model; refused when the server has no redaction model",
    )


class ExportFileOut(BaseModel):
    name: str
    camera_id: str
    start: datetime = Field(description="first instant in the file (cut at a keyframe)")
    end: datetime
    sha256: str
    bytes: int


class PackageOut(BaseModel):
    name: str
    sha256: str = Field(description="SHA-256 of the zip package")
    bytes: int
    url: str = Field(description="where to download it (audited)")


class ExportOut(BaseModel):
    id: str
    state: Literal["queued", "running", "done", "failed"]
    progress: float = Field(description="fraction of the recorded segments copied and checked, 0 to 1")
    camera_ids: list[str]
    start: datetime
    end: datetime
    reason: str
    requisition_ref: str
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    files: list[ExportFileOut]
    cameras_without_footage: list[str]
    manifest_sha256: str | None
    key_id: str | None = Field(description="id of the key that signed the manifest")
    package: PackageOut | None = Field(description="the signed package, once the export is done")
    error: str | None = Field(description="why the export failed")
    transmitted_on: date | None = Field(
        default=None, description="the day the package was handed to the prosecutor, once recorded (L5)"
    )
    cancel_requested: bool = Field(
        default=False, description="its owner asked to cancel it: it stops at its next segment and then fails"
    )
    redacted: bool = Field(default=False, description="every person and vehicle blurred before packaging")


class TransmissionIn(RequestModel):
    transmitted_on: Day = Field(description="the day the footage was handed to the prosecutor (Paris day; not future)")
    requisition_ref: str = Field(
        min_length=1, max_length=256, description="the requisition it was handed over for: the export's own reference"
    )


class TransmissionOut(BaseModel):
    export_id: str
    camera_ids: list[str]
    start: datetime
    end: datetime
    requisition_ref: str
    transmitted_on: date
    recorded_by: str
    recordings: int = Field(description="recordings whose register line now carries the transmission day")


class ExportPageOut(BaseModel):
    items: list[ExportOut]
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page, null on the last page")


class IssueOut(BaseModel):
    kind: str = Field(description="package, manifest, signature, missing, extra, size or sha256")
    name: str = Field(description="the file concerned")
    message: str


class VerificationOut(BaseModel):
    ok: bool
    package_sha256: str | None
    package_bytes: int
    expected_sha256: str | None = Field(description="SHA-256 the package had when this server made it")
    manifest_sha256: str | None
    key_id: str | None
    files_checked: int
    issues: list[IssueOut]


def _service(request: Request) -> ExportService:
    return configured(request, "exports", ExportService, "exports are")


def export_out(job: ExportJob) -> ExportOut:
    result, package = job.result, job.package
    return ExportOut(
        id=job.id,
        state=job.state.value,
        progress=job.progress,
        camera_ids=list(job.camera_ids),
        start=job.start,
        end=job.end,
        reason=job.reason,
        requisition_ref=job.requisition_ref,
        requested_by=job.owner,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        files=[
            ExportFileOut(name=f.name, camera_id=f.camera_id, start=f.start, end=f.end, sha256=f.sha256, bytes=f.bytes)
            for f in (result.files if result else ())
        ],
        cameras_without_footage=list(result.cameras_without_footage) if result else [],
        manifest_sha256=result.manifest_sha256 if result else None,
        key_id=result.key_id if result else None,
        package=None
        if package is None
        else PackageOut(
            name=package.name, sha256=package.sha256, bytes=package.bytes, url=f"{router.prefix}/{job.id}/package"
        ),
        error=job.error,
        transmitted_on=job.transmitted_on,
        cancel_requested=job.cancel_requested,
        redacted=job.redacted,
    )


def transmission_out(done: Transmission) -> TransmissionOut:
    return TransmissionOut(
        export_id=done.export_id,
        camera_ids=list(done.camera_ids),
        start=done.start,
        end=done.end,
        requisition_ref=done.requisition_ref,
        transmitted_on=done.transmitted_on,
        recorded_by=done.recorded_by,
        recordings=done.recordings,
    )


def verification_out(report: PackageVerification) -> VerificationOut:
    return VerificationOut(
        ok=report.ok,
        package_sha256=report.package_sha256,
        package_bytes=report.package_bytes,
        expected_sha256=report.expected_sha256,
        manifest_sha256=report.manifest_sha256,
        key_id=report.key_id,
        files_checked=report.files_checked,
        issues=[IssueOut(kind=i.kind, name=i.name, message=i.message) for i in report.issues],
    )


@router.post(
    "",
    status_code=202,
    response_model=ExportOut,
    summary="Ask for an export (investigators): it runs in the background",
)
def create_export(*, request: Request, response: Response, principal: CurrentPrincipal, body: ExportIn) -> ExportOut:
    job = _service(request).submit_as(
        principal,
        camera_ids=body.camera_ids,
        start=body.start,
        end=body.end,
        reason=body.reason,
        requisition_ref=body.requisition_ref,
        redacted=body.redacted,
    )
    response.headers["Location"] = f"{router.prefix}/{job.id}"
    return export_out(job)


@router.get("", response_model=ExportPageOut, summary="Your exports, newest first")
def list_exports(
    *,
    request: Request,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ExportPageOut:
    items = _service(request).list_for(principal, limit=limit, offset=offset)
    return ExportPageOut(
        items=[export_out(j) for j in items],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(items) == limit else None,
    )


@router.post(
    "/verify",
    response_model=VerificationOut,
    summary="Verify a package brought back (the zip as the request body), against this server's keys",
    max_body_size=PACKAGE_UPLOAD_MAX_BYTES,
    responses={
        413: {"description": "the package is larger than the upload limit"},
        422: {"description": "refused unchecked: the package would inflate beyond 100:1 or the limit (a zip bomb)"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "the zip package as is, with any content type (application/zip, application/octet-stream)",
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def verify_upload(request: Request, principal: CurrentPrincipal) -> VerificationOut:
    # The raw body, not a multipart form: one file, sent as is (fetch(url, {body: file}) or curl --data-binary),
    # without the python-multipart dependency a form upload would need. It is spooled in memory, then in the
    # system's temporary folder (never the data folder, which holds the recordings), at most the upload limit, and
    # deleted on the way out; the package is then read as a stream, never unpacked (services.export_package).
    service = _service(request)
    service.check_can_verify(principal)  # refused before reading a byte (audited)
    limit = service.max_upload_bytes
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as upload:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise HTTPException(status_code=413, detail=f"a package is at most {limit} bytes")
            upload.write(chunk)  # a local file (or memory): each write is short
        report = await run_in_threadpool(service.verify_upload_as, principal, upload)
    return verification_out(report)


@router.get("/{export_id}", response_model=ExportOut, summary="One of your exports: state, progress, files, package")
def get_export(*, request: Request, principal: CurrentPrincipal, export_id: ExportId) -> ExportOut:
    return export_out(_service(request).get_for(principal, export_id))


@router.get(
    "/{export_id}/package",
    summary="Download the signed package of a finished export (audited); 409 while it runs",
    response_class=FileResponse,
    responses={200: {"content": {PACKAGE_MEDIA_TYPE: {}}}},
)
def download_package(*, request: Request, principal: CurrentPrincipal, export_id: ExportId) -> FileResponse:
    package = _service(request).download_as(principal, export_id)
    digest = base64.b64encode(bytes.fromhex(package.sha256)).decode("ascii")
    return FileResponse(
        package.path,
        media_type=PACKAGE_MEDIA_TYPE,
        filename=package.name,
        headers={"Cache-Control": "no-store", "Repr-Digest": f"sha-256=:{digest}:"},
    )


@router.post(
    "/{export_id}/cancel",
    status_code=202,
    response_model=ExportOut,
    summary="Cancel one of your exports still queued or running (audited); 409 once it is finished",
)
def cancel_export(*, request: Request, principal: CurrentPrincipal, export_id: ExportId) -> ExportOut:
    return export_out(_service(request).cancel_as(principal, export_id))


@router.post(
    "/{export_id}/verify", response_model=VerificationOut, summary="Verify the stored package of one of your exports"
)
def verify_export(*, request: Request, principal: CurrentPrincipal, export_id: ExportId) -> VerificationOut:
    return verification_out(_service(request).verify_as(principal, export_id))


@router.post(
    "/{export_id}/transmission",
    response_model=TransmissionOut,
    summary="Record the day an export was handed to the prosecutor (L5): into the destruction register, audited",
)
def record_transmission(
    *, request: Request, principal: CurrentPrincipal, export_id: ExportOrManifestId, body: TransmissionIn
) -> TransmissionOut:
    done = _service(request).record_transmission_as(
        principal, export_id, transmitted_on=body.transmitted_on, requisition_ref=body.requisition_ref
    )
    return transmission_out(done)
