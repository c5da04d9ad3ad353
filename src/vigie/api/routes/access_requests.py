"""Filmed persons' requests of access (L19): the DPO records a request, sets the cameras and period of its copy,
prepares a redacted copy (in the background: 202, then its progress on GET), a second person reviews it frame by
frame (the redacted MP4s, their boxes and the originals readable here), then it is released as a signed package or
refused with a legal reason. Every step is audited by the service (:mod:`vigie.services.access_requests`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import FileResponse

from vigie.api.access_request_schemas import (
    AccessRequestIn,
    AccessRequestOut,
    BoxIn,
    BoxOut,
    CopyFileOut,
    CopyIn,
    CopyOut,
    ExtendIn,
    ProgressOut,
    RefusalOut,
    RefuseIn,
    ReleaseOut,
    ReviewIn,
    ReviewOut,
    ScopeIn,
    ScopeOut,
    StateName,
)
from vigie.api.deps import configured
from vigie.api.security import CurrentPrincipal
from vigie.domain.access_requests import (
    AccessRequest,
    AccessRequestState,
    IdentityDocument,
    NormalisedBox,
    RefusalReason,
    days_left,
    due_soon,
)
from vigie.services.access_requests import AccessRequestService

router = APIRouter(prefix="/api/access-requests", tags=["access requests"])
RequestId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the request's id, answered when it was recorded")]
FileName = Annotated[str, Path(min_length=1, max_length=255, description="a file of the copy, as its list names it")]
CameraPath = Annotated[str, Path(min_length=1, max_length=128, description="a camera of the copy")]
ZIP = "application/zip"


def _service(request: Request) -> AccessRequestService:
    return configured(request, "access_requests", AccessRequestService, "access requests are")


def _box(box: BoxIn) -> NormalisedBox:
    return NormalisedBox(box.camera_id, box.x1, box.y1, box.x2, box.y2, box.start_s, box.end_s)


def _box_out(box: NormalisedBox) -> BoxOut:
    return BoxOut(
        camera_id=box.camera_id, x1=box.x1, y1=box.y1, x2=box.x2, y2=box.y2, start_s=box.start_s, end_s=box.end_s
    )


def access_request_out(r: AccessRequest, service: AccessRequestService) -> AccessRequestOut:
    today = service.today()
    scope = r.scope
    copy = r.copy
    return AccessRequestOut(
        id=r.id or 0,
        commune_id=r.commune_id,
        state=r.state.value,
        requester_name=r.requester_name,
        requester_contact=r.requester_contact,
        identity_document=r.identity_document.value,
        identity_checked_by=r.identity_checked_by,
        received_on=r.received_on,
        deadline=r.deadline,
        days_left=days_left(r.deadline, today),
        due_soon=not r.ended and due_soon(r.deadline, today),
        extended_because=r.extended_because,
        description=r.description,
        created_at=r.created_at,
        created_by=r.created_by,
        handled_by=r.handled_by,
        scope=None
        if scope is None
        else ScopeOut(
            cameras=list(scope.camera_ids),
            start=scope.start,
            end=scope.end,
            keep_clear=[_box_out(b) for b in scope.keep_clear],
            manual=[_box_out(b) for b in scope.manual],
        ),
        copy_=None
        if copy is None
        else CopyOut(
            files=[
                CopyFileOut(
                    name=f.name,
                    camera_id=f.camera_id,
                    frames=f.frames,
                    sha256=f.sha256,
                    bytes=f.bytes,
                    start=f.start,
                    end=f.end,
                )
                for f in copy.files
            ],
            frames=copy.frames,
            detector=copy.detector,
            prepared_by=r.prepared_by,
            source_manifest_sha256=copy.source_manifest_sha256,
        ),
        copy_error=r.copy_error,
        progress=None if r.progress is None else ProgressOut(done=r.progress[0], total=r.progress[1]),
        review=None if r.review is None else ReviewOut(**_fields(r.review)),
        refusal=None
        if r.refusal is None
        else RefusalOut(
            reason=r.refusal.reason.value, explanation=r.refusal.explanation, by=r.refusal.by, at=r.refusal.at
        ),
        release=None if r.release is None else ReleaseOut(**_fields(r.release)),
    )


def _fields(value: object) -> dict[str, object]:
    return {name: getattr(value, name) for name in getattr(value, "__slots__", ())}


@router.get("", response_model=list[AccessRequestOut], summary="Your commune's access requests, nearest deadline first")
def list_requests(
    *,
    request: Request,
    principal: CurrentPrincipal,
    state: Annotated[StateName | None, Query(description="only the requests in this state")] = None,
) -> list[AccessRequestOut]:
    service = _service(request)
    found = service.list_for(principal, None if state is None else AccessRequestState(state))
    return [access_request_out(r, service) for r in found]


@router.post("", status_code=201, response_model=AccessRequestOut, summary="Record a filmed person's request")
def create_request(
    *, request: Request, response: Response, principal: CurrentPrincipal, body: AccessRequestIn
) -> AccessRequestOut:
    service = _service(request)
    created = service.create(
        principal,
        requester_name=body.requester_name,
        requester_contact=body.requester_contact,
        identity_document=IdentityDocument(body.identity_document),
        identity_checked_by=body.identity_checked_by,
        received_on=body.received_on,
        description=body.description,
    )
    response.headers["Location"] = f"{router.prefix}/{created.id}"
    return access_request_out(created, service)


@router.get("/{request_id}", response_model=AccessRequestOut, summary="One request of your commune (audited)")
def get_request(*, request: Request, principal: CurrentPrincipal, request_id: RequestId) -> AccessRequestOut:
    service = _service(request)
    return access_request_out(service.get_for(principal, request_id), service)


@router.post("/{request_id}/scope", response_model=AccessRequestOut, summary="Set the cameras and period of the copy")
def set_scope(
    *, request: Request, principal: CurrentPrincipal, request_id: RequestId, body: ScopeIn
) -> AccessRequestOut:
    service = _service(request)
    return access_request_out(service.set_scope(principal, request_id, body.cameras, body.start, body.end), service)


@router.post(
    "/{request_id}/copy",
    status_code=202,
    response_model=AccessRequestOut,
    summary="Prepare the redacted copy (in the background; its progress on GET)",
)
def prepare_copy(
    *, request: Request, principal: CurrentPrincipal, request_id: RequestId, body: CopyIn
) -> AccessRequestOut:
    service = _service(request)
    keep = [_box(b) for b in body.keep_clear]
    manual = [_box(b) for b in body.manual]
    return access_request_out(service.prepare_copy(principal, request_id, keep, manual), service)


@router.get(
    "/{request_id}/copy/{name}",
    response_class=FileResponse,
    responses={200: {"content": {"video/mp4": {}}}},
    summary="A redacted MP4 of the copy (audited at your first read)",
)
def copy_file(*, request: Request, principal: CurrentPrincipal, request_id: RequestId, name: FileName) -> FileResponse:
    path = _service(request).copy_file(principal, request_id, name)
    return FileResponse(path, media_type="video/mp4", headers={"Cache-Control": "no-store"})


@router.get(
    "/{request_id}/copy/{name}/boxes",
    response_class=FileResponse,
    responses={200: {"content": {"application/json": {}}}},
    summary="The boxes blurred in each frame of a redacted MP4, as the copy maker wrote them",
)
def copy_boxes(*, request: Request, principal: CurrentPrincipal, request_id: RequestId, name: FileName) -> FileResponse:
    path = _service(request).copy_boxes(principal, request_id, name)
    return FileResponse(path, media_type="application/json", headers={"Cache-Control": "no-store"})


@router.get(
    "/{request_id}/original/{camera_id}",
    response_class=FileResponse,
    responses={200: {"content": {"video/mp4": {}}}},
    summary="The original clip of a camera of the copy, to review against (never released; audited)",
)
def original(
    *, request: Request, principal: CurrentPrincipal, request_id: RequestId, camera_id: CameraPath
) -> FileResponse:
    path = _service(request).original(principal, request_id, camera_id)
    return FileResponse(path, media_type="video/mp4", headers={"Cache-Control": "no-store"})


@router.post(
    "/{request_id}/review",
    response_model=AccessRequestOut,
    summary="A second person's review of the copy (approval needs every frame)",
)
def review(*, request: Request, principal: CurrentPrincipal, request_id: RequestId, body: ReviewIn) -> AccessRequestOut:
    service = _service(request)
    reviewed = service.review(
        principal, request_id, approved=body.approved, frames_reviewed=body.frames_reviewed, comment=body.comment
    )
    return access_request_out(reviewed, service)


@router.post(
    "/{request_id}/release", response_model=AccessRequestOut, summary="Release the approved copy as a signed package"
)
def release(*, request: Request, principal: CurrentPrincipal, request_id: RequestId) -> AccessRequestOut:
    service = _service(request)
    return access_request_out(service.release(principal, request_id), service)


@router.get(
    "/{request_id}/package",
    response_class=FileResponse,
    responses={200: {"content": {ZIP: {}}}},
    summary="Download the released package (audited each time)",
)
def package(*, request: Request, principal: CurrentPrincipal, request_id: RequestId) -> FileResponse:
    path = _service(request).package(principal, request_id)
    return FileResponse(path, media_type=ZIP, filename=path.name, headers={"Cache-Control": "no-store"})


@router.post("/{request_id}/refuse", response_model=AccessRequestOut, summary="Refuse with a legal reason")
def refuse(*, request: Request, principal: CurrentPrincipal, request_id: RequestId, body: RefuseIn) -> AccessRequestOut:
    service = _service(request)
    refused = service.refuse(principal, request_id, reason=RefusalReason(body.reason), explanation=body.explanation)
    return access_request_out(refused, service)


@router.post("/{request_id}/extend", response_model=AccessRequestOut, summary="Extend the deadline by two months, once")
def extend(*, request: Request, principal: CurrentPrincipal, request_id: RequestId, body: ExtendIn) -> AccessRequestOut:
    service = _service(request)
    return access_request_out(service.extend(principal, request_id, reason=body.reason), service)
