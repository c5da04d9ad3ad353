"""Request and response schemas of the governance API: activations, approvals, revocations, stop switches and the
legal catalogue (L21–L24, L29)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from vigie.api.schemas import Day, Instant, RequestModel

CameraId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
ZoneId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ActivationIn(RequestModel):
    """A request to activate a module; the tenant is the requester's own, the requester the person logged in.
    Missing references (decision, DPIA, purpose) are refused by the governance rules, all at once."""

    module: str = Field(min_length=1, max_length=64, description="module id of the catalogue, e.g. intrusion")
    camera_ids: list[CameraId] = Field(min_length=1, max_length=1000, description="the perimeter's cameras")
    zone_ids: list[ZoneId] = Field(default_factory=list, max_length=100, description="analysis zones, optional")
    framework: str = Field(min_length=1, max_length=64, description="legal framework id of the catalogue")
    decision_number: str = Field(default="", max_length=256, description="number of the prefectoral decision (L22)")
    decision_date: Day | None = Field(default=None, description="date of the prefectoral decision")
    dpia_reference: str = Field(default="", max_length=256, description="reference of the impact assessment (L21)")
    purpose: str = Field(default="", max_length=2000)
    starts_at: Instant = Field(description="start (included), with a time zone")
    ends_at: Instant = Field(description="end (excluded), with a time zone; never after the framework's end (L23)")
    calibration_seq: int | None = Field(
        default=None,
        ge=1,
        le=2**62,
        description="audit entry of the on-site calibration run of this module the request is based on (L32), as "
        "`vigie calibrate --config …` prints it",
    )


class RevokeIn(RequestModel):
    reason: str = Field(min_length=1, max_length=2000, description="why the activation is revoked")


class StopIn(RequestModel):
    camera_id: CameraId | None = Field(
        description="the camera whose switch this is, or null for the global switch (to be given explicitly)"
    )
    reason: str = Field(min_length=1, max_length=2000)


class ApprovalOut(BaseModel):
    by: str
    role: str
    at: datetime


class RevocationOut(BaseModel):
    by: str
    role: str
    reason: str
    at: datetime


class ActivationOut(BaseModel):
    id: int
    tenant: str
    module: str
    camera_ids: list[str]
    zone_ids: list[str]
    framework: str
    decision_number: str
    decision_date: date | None
    dpia_reference: str
    purpose: str
    starts_at: datetime
    ends_at: datetime
    requested_by: str
    requested_role: str
    requested_at: datetime
    calibration_seq: int | None = Field(description="audit entry of the calibration run it is based on (L32)")
    state: str = Field(
        description="requested, approved_pending_start, active, expired, revoked, or unverified (its records do "
        "not carry the governance service's valid seals: it never runs)"
    )
    approvals: list[ApprovalOut]
    revocation: RevocationOut | None
    runs_until: datetime | None = Field(
        description="the end cut at the framework's statutory end (L23); null: unknown framework, never runs"
    )


class ActivationPageOut(BaseModel):
    items: list[ActivationOut]
    total: int = Field(description="activations you see with this filter, over every page")
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page, null on the last page")


class StopOut(BaseModel):
    camera_id: str | None = Field(description="null: the global switch")
    engaged: bool
    by: str
    role: str
    reason: str
    at: datetime


class SimulatedOut(BaseModel):
    camera_id: str
    modules: list[str] = Field(description="modules analysing this camera's generated footage (no activation)")


class GovernanceOut(BaseModel):
    at: datetime
    active_count: int = Field(description="activations in force on cameras you see: the console's banner")
    active_modules: list[str]
    global_stop: StopOut | None = Field(description="the global switch when engaged")
    camera_stops: list[StopOut] = Field(description="engaged switches of the cameras you see")
    simulated_footage: list[SimulatedOut] = Field(
        default_factory=list, description="analysis of generated footage (vigie demo) on cameras you see"
    )
    activations: ActivationPageOut


class FrameworkOut(BaseModel):
    id: str
    title: str
    description: str
    reference: str
    ends_on: date | None = Field(description="last day it applies (Paris time); null: no statutory end")
    in_force: bool
    settings: list[str] = Field(description="camera settings it covers")
    tenant_kinds: list[str]
    note: str | None


class ModuleOut(BaseModel):
    id: str
    title: str
    description: str
    frameworks: list[str] = Field(description="ids of the frameworks that can authorise it")
    tenant_kinds: list[str]
    approvable: bool = Field(description="a framework in force can authorise it on at least one of your cameras")
    cameras: list[str] = Field(description="your commune's cameras on which it could be activated today")


class CatalogueOut(BaseModel):
    version: int
    updated: date
    frameworks: list[FrameworkOut]
    modules: list[ModuleOut]
