"""Response schemas: what the API promises to clients (separate from domain types on purpose)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class RegionOut(BaseModel):
    x: float = Field(description="left edge, normalised 0..1")
    y: float = Field(description="top edge, normalised 0..1")
    w: float = Field(description="width, normalised 0..1")
    h: float = Field(description="height, normalised 0..1")


class EventOut(BaseModel):
    id: int
    camera_id: str
    module: str = Field(description="analysis module that produced the event")
    kind: str
    started_at: datetime
    ended_at: datetime
    region: RegionOut
    score: float
    model_version: str
    observations: int


class EventPageOut(BaseModel):
    items: list[EventOut]
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page, null on the last page")


class CameraOut(BaseModel):
    id: str
    name: str
    commune_id: str
    site_id: str
    kind: str
    simulated: bool
    state: str = Field(description="starting, online, degraded or offline")
    reason: str = Field(description="why the camera is degraded or offline (credentials never shown)")
    since: datetime | None
    fps_in: float


class HealthOut(BaseModel):
    status: str
    version: str
