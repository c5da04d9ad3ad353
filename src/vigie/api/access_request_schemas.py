"""Request and response schemas of the access-request API (L19): a filmed person's request, its scope, the redacted
copy, its review, its release or refusal. Request bodies refuse unknown fields; every string and list is bounded."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from vigie.api.schemas import Day, Instant, RequestModel
from vigie.domain.access_requests import MAX_BOXES, MAX_DESCRIPTION, MAX_NAME, MAX_SCOPE_CAMERAS, MAX_TEXT

CameraId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
StateName = Literal["received", "preparing", "in_review", "approved", "released", "refused"]
DocumentName = Literal["id_card", "passport", "residence_permit", "driving_licence", "other"]
ReasonName = Literal[
    "no_footage",
    "person_not_found",
    "identity_not_established",
    "manifestly_unfounded",
    "third_party_rights",
    "public_security",
]
# The literals above are the domain's enums (AccessRequestState, IdentityDocument, RefusalReason) spelt out for the
# OpenAPI description; a test keeps them equal.


class BoxIn(RequestModel):
    camera_id: CameraId = Field(description="a camera of the request's scope")
    x1: float = Field(ge=0, le=1, description="left edge, fraction of the picture's width")
    y1: float = Field(ge=0, le=1, description="top edge, fraction of the picture's height")
    x2: float = Field(ge=0, le=1, description="right edge (more than x1)")
    y2: float = Field(ge=0, le=1, description="bottom edge (more than y1)")
    start_s: float = Field(default=0.0, ge=0, le=86_400, description="from this second of the camera's clip")
    end_s: float | None = Field(default=None, ge=0, le=86_400, description="to this second (absent: the end)")


class BoxOut(BaseModel):
    camera_id: str
    x1: float
    y1: float
    x2: float
    y2: float
    start_s: float
    end_s: float | None


class AccessRequestIn(RequestModel):
    requester_name: str = Field(min_length=1, max_length=MAX_NAME, description="the person's name (personal data)")
    requester_contact: str = Field(
        min_length=1, max_length=MAX_NAME, description="where to answer them: postal or e-mail address"
    )
    identity_document: DocumentName = Field(description="the kind of document the identity was checked on")
    identity_checked_by: str = Field(
        min_length=1, max_length=MAX_NAME, description="the agent who checked the identity (never the number)"
    )
    received_on: Day = Field(description="the day the request reached the commune (Paris; not in the future)")
    description: str = Field(
        min_length=1, max_length=MAX_DESCRIPTION, description="where and when the person was, what they wore"
    )


class ScopeIn(RequestModel):
    cameras: list[CameraId] = Field(
        min_length=1, max_length=MAX_SCOPE_CAMERAS, description="cameras of your commune that filmed the person"
    )
    start: Instant = Field(description="start of the period, with a time zone")
    end: Instant = Field(description="end of the period, with a time zone: after the start, ended, at most 24 h")


class CopyIn(RequestModel):
    keep_clear: list[BoxIn] = Field(
        default_factory=list, max_length=MAX_BOXES, description="regions left clear: where the requester is"
    )
    manual: list[BoxIn] = Field(
        default_factory=list, max_length=MAX_BOXES, description="boxes blurred by hand (a person the detector missed)"
    )


class ReviewIn(RequestModel):
    approved: bool = Field(description="true: the copy may be released; false: it is dropped")
    frames_reviewed: int = Field(ge=0, le=2**31 - 1, description="frames looked at (approval needs every frame)")
    comment: str = Field(default="", max_length=MAX_TEXT, description="what the reviewer saw or asks to change")


class RefuseIn(RequestModel):
    reason: ReasonName = Field(description="the legal reason of the refusal")
    explanation: str = Field(min_length=1, max_length=MAX_TEXT, description="the explanation given to the person")


class ExtendIn(RequestModel):
    reason: str = Field(
        min_length=1, max_length=MAX_TEXT, description="why two more months are needed (told to the person)"
    )


class ScopeOut(BaseModel):
    cameras: list[str]
    start: datetime
    end: datetime
    keep_clear: list[BoxOut]
    manual: list[BoxOut]


class CopyFileOut(BaseModel):
    name: str = Field(description="file name of the redacted MP4 (GET .../copy/{name})")
    camera_id: str
    frames: int
    sha256: str
    bytes: int
    start: datetime
    end: datetime


class CopyOut(BaseModel):
    files: list[CopyFileOut]
    frames: int = Field(description="frames of the whole copy: a reviewer reviews them all")
    detector: str
    prepared_by: str | None
    source_manifest_sha256: str


class ProgressOut(BaseModel):
    done: int
    total: int


class ReviewOut(BaseModel):
    reviewer: str
    at: datetime
    approved: bool
    frames_reviewed: int
    comment: str


class RefusalOut(BaseModel):
    reason: ReasonName
    explanation: str
    by: str
    at: datetime


class ReleaseOut(BaseModel):
    at: datetime
    by: str
    package_name: str
    package_sha256: str
    manifest_sha256: str
    key_id: str


class AccessRequestOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: int
    commune_id: str
    state: StateName
    requester_name: str = Field(description="empty once erased, access_request_keep_days after the request ended")
    requester_contact: str
    identity_document: DocumentName
    identity_checked_by: str
    received_on: date
    deadline: date = Field(description="the last day to answer: one month after receipt, three when extended")
    days_left: int = Field(description="days to the deadline (Paris): 0 on its last day, negative once passed")
    due_soon: bool = Field(description="the deadline is within 7 days, or passed")
    extended_because: str | None
    description: str
    created_at: datetime
    created_by: str
    handled_by: str | None
    scope: ScopeOut | None
    copy_: CopyOut | None = Field(alias="copy", serialization_alias="copy")
    copy_error: str | None = Field(description="why the last copy failed (prepare it again)")
    progress: ProgressOut | None = Field(description="while preparing: frames done of total, as the maker reports")
    review: ReviewOut | None
    refusal: RefusalOut | None
    release: ReleaseOut | None
