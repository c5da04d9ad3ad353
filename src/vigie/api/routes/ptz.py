"""Driving a dome from the console: where it is, moves, presets, tours (:class:`vigie.services.ptz.PtzService`).

Every move is audited by the service (``ptz.moved``); a dome held by someone of equal or higher priority answers
409 ``locked`` naming who and until when; a camera that is no dome answers 404. ``…/ptz/track`` has the dome
follow a target boxed on its picture (auto-tracking, the analysis module ``ptz_autotracking``): 403
``not_activated`` without an activation covering the camera, 409 ``busy`` when the service follows as many targets
as it may; started and ended are audited (``autotracking.started``/``autotracking.ended``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, model_validator

from vigie.api.deps import configured
from vigie.api.schemas import RequestModel
from vigie.api.security import CurrentPrincipal
from vigie.domain.geometry import Box
from vigie.domain.ptz import PtzStatus, PtzVector
from vigie.domain.users import Permission
from vigie.services.ptz import PtzCommand, PtzCommandKind, PtzService, PtzView
from vigie.services.ptz_tracking import TrackingView

router = APIRouter(prefix="/api/cameras", tags=["ptz"])
CameraId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")]
PresetToken = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Axis = Annotated[float, Field(ge=-2.0, le=2.0, allow_inf_nan=False)]
Speed = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


PTZ_ELSEWHERE = (
    "PTZ control is not available on this server: the domes are driven by `vigie serve` alone (their locks, tours "
    "and auto-tracking live there); route /api/cameras/ptz and /api/cameras/<id>/ptz… to it at the load balancer "
    "(docs/deployment.md, several API processes)"
)


def _service(request: Request) -> PtzService:
    if getattr(request.app.state.services, "ptz", None) is None:
        raise HTTPException(status_code=503, detail=PTZ_ELSEWHERE)
    return configured(request, "ptz", PtzService, "PTZ control is")


class VectorIn(RequestModel):
    pan: Axis = 0.0
    tilt: Axis = 0.0
    zoom: Axis = 0.0

    def vector(self) -> PtzVector:
        return PtzVector(self.pan, self.tilt, self.zoom)


class SpeedIn(RequestModel):
    pan: Speed = 1.0
    tilt: Speed = 1.0
    zoom: Speed = 1.0


class MoveIn(RequestModel):
    """``continuous``: ``vector`` is a velocity in [-1, 1] (``timeout_s`` stops it, default: until ``stop``);
    ``absolute``: a position (pan, tilt in [-1, 1], zoom in [0, 1]); ``relative``: a translation."""

    kind: Literal["continuous", "absolute", "relative"]
    vector: VectorIn
    speed: SpeedIn | None = None
    timeout_s: Annotated[float, Field(gt=0.0, le=60.0)] | None = None


class PresetIn(RequestModel):
    name: Annotated[str, Field(min_length=1, max_length=64)]


class TourIn(RequestModel):
    presets: Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(min_length=2, max_length=32)]
    dwell_s: Annotated[float, Field(ge=2.0, le=3600.0)] = 10.0


class TrackIn(RequestModel):
    """The target's box on the dome's picture, normalised (0..1 from the left and top edges)."""

    x: Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False)]
    y: Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False)]
    w: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)]
    h: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)]

    @model_validator(mode="after")
    def _inside(self) -> TrackIn:
        if self.x + self.w > 1.0 + 1e-6 or self.y + self.h > 1.0 + 1e-6:
            raise ValueError("the box must lie within the picture: x + w and y + h at most 1")
        return self

    def box(self) -> Box:
        return Box(self.x, self.y, self.w, self.h)


class TrackingOut(BaseModel):
    active: bool
    designated_by: str | None
    since: str | None
    activation_id: int | None
    ended_reason: str | None
    ended_by: str | None
    ended_at: str | None


class VectorOut(BaseModel):
    pan: float
    tilt: float
    zoom: float


class StatusOut(BaseModel):
    position: VectorOut
    moving: bool


class PresetOut(BaseModel):
    token: str
    name: str
    position: VectorOut


class LockOut(BaseModel):
    holder: str
    role: str
    until: str


class PtzOut(BaseModel):
    camera_id: str
    status: StatusOut
    presets: list[PresetOut]
    lock: LockOut | None
    tour: list[str] | None
    tour_dwell_s: float | None
    tracking: TrackingOut


def _tracking(t: TrackingView) -> TrackingOut:
    return TrackingOut(
        active=t.active,
        designated_by=t.designated_by,
        since=t.since.isoformat() if t.since else None,
        activation_id=t.activation_id,
        ended_reason=t.ended_reason,
        ended_by=t.ended_by,
        ended_at=t.ended_at.isoformat() if t.ended_at else None,
    )


def _vector(v: PtzVector) -> VectorOut:
    return VectorOut(pan=v.pan, tilt=v.tilt, zoom=v.zoom)


def _status(s: PtzStatus) -> StatusOut:
    return StatusOut(position=_vector(s.position), moving=s.moving)


def _view(v: PtzView) -> PtzOut:
    return PtzOut(
        camera_id=v.camera_id,
        status=_status(v.status),
        presets=[PresetOut(token=p.token, name=p.name, position=_vector(p.position)) for p in v.presets],
        lock=LockOut(holder=v.lock.holder, role=v.lock.role, until=v.lock.until.isoformat()) if v.lock else None,
        tour=list(v.tour) if v.tour else None,
        tour_dwell_s=v.tour_dwell_s,
        tracking=_tracking(v.tracking),
    )


class DomesOut(BaseModel):
    cameras: list[str]


@router.get("/ptz", response_model=DomesOut, summary="The domes Vigie drives that you may control")
async def ptz_domes(request: Request, principal: CurrentPrincipal) -> DomesOut:
    """What the console asks before showing a camera's dome controls, instead of probing each camera (a PTZ camera
    Vigie does not drive would be a 404 in the browser for every look); empty without ``control_ptz``."""
    service = _service(request)
    if not principal.can(Permission.CONTROL_PTZ):
        return DomesOut(cameras=[])
    return DomesOut(cameras=principal.visible_cameras(service.cameras))


class DirectionsOut(BaseModel):
    domes: dict[str, VectorOut] = Field(description="camera id → where the dome looks; domes not answering left out")


MAX_DIRECTIONS = 500
"""Domes asked at once (a map shows a few hundred at the most; the ids travel in the query)."""


@router.get("/ptz/directions", response_model=DirectionsOut, summary="Where domes look, for the map")
async def ptz_directions(
    request: Request,
    principal: CurrentPrincipal,
    ids: Annotated[str, Query(max_length=MAX_DIRECTIONS * 65, description="the domes' camera ids, comma-separated")],
) -> DirectionsOut:
    """The map draws a dome's field of view where it looks now, for anyone who sees the camera (``view_cameras``;
    driving the dome, ``control_ptz``, is not needed). Each dome is read at most once a second, whoever asks."""
    wanted = [i.strip() for i in ids.split(",") if i.strip()]
    if len(wanted) > MAX_DIRECTIONS:
        raise HTTPException(422, f"at most {MAX_DIRECTIONS} domes at once (asked for {len(wanted)})")
    found = await run_in_threadpool(_service(request).directions, principal, wanted)
    return DirectionsOut(domes={camera: _vector(v) for camera, v in found.items()})


@router.get("/{camera_id}/ptz", response_model=PtzOut, summary="A dome: position, presets, who holds it")
async def ptz_view(request: Request, principal: CurrentPrincipal, camera_id: CameraId) -> PtzOut:
    return _view(await run_in_threadpool(_service(request).view, principal, camera_id))


async def _command(request: Request, principal: CurrentPrincipal, camera_id: str, command: PtzCommand) -> StatusOut:
    return _status(await run_in_threadpool(_service(request).command, principal, camera_id, command))


@router.post("/{camera_id}/ptz/move", response_model=StatusOut, summary="Move the dome (audited)")
async def ptz_move(request: Request, principal: CurrentPrincipal, camera_id: CameraId, body: MoveIn) -> StatusOut:
    speed = PtzVector(body.speed.pan, body.speed.tilt, body.speed.zoom) if body.speed else None
    command = PtzCommand(PtzCommandKind(body.kind), body.vector.vector(), speed, timeout_s=body.timeout_s)
    return await _command(request, principal, camera_id, command)


@router.post("/{camera_id}/ptz/stop", response_model=StatusOut, summary="Stop the dome (audited)")
async def ptz_stop(request: Request, principal: CurrentPrincipal, camera_id: CameraId) -> StatusOut:
    return await _command(request, principal, camera_id, PtzCommand(PtzCommandKind.STOP))


@router.post("/{camera_id}/ptz/home", response_model=StatusOut, summary="Send the dome home (audited)")
async def ptz_home(request: Request, principal: CurrentPrincipal, camera_id: CameraId) -> StatusOut:
    return await _command(request, principal, camera_id, PtzCommand(PtzCommandKind.HOME))


@router.post("/{camera_id}/ptz/presets/{token}/goto", response_model=StatusOut, summary="Recall a preset (audited)")
async def ptz_goto(request: Request, principal: CurrentPrincipal, camera_id: CameraId, token: PresetToken) -> StatusOut:
    return await _command(request, principal, camera_id, PtzCommand(PtzCommandKind.PRESET, preset=token))


@router.post("/{camera_id}/ptz/release", status_code=204, summary="Give the dome back before the lock lapses")
async def ptz_release(request: Request, principal: CurrentPrincipal, camera_id: CameraId) -> None:
    await run_in_threadpool(_service(request).release, principal, camera_id)


@router.post("/{camera_id}/ptz/presets", response_model=PresetOut, summary="Store the position as a preset")
async def ptz_store_preset(
    request: Request, principal: CurrentPrincipal, camera_id: CameraId, body: PresetIn
) -> PresetOut:
    service = _service(request)
    token = await run_in_threadpool(service.set_preset, principal, camera_id, body.name)
    view = await run_in_threadpool(service.view, principal, camera_id)
    preset = next(p for p in view.presets if p.token == token)
    return PresetOut(token=preset.token, name=preset.name, position=_vector(preset.position))


@router.delete("/{camera_id}/ptz/presets/{token}", status_code=204, summary="Remove a preset")
async def ptz_remove_preset(
    request: Request, principal: CurrentPrincipal, camera_id: CameraId, token: PresetToken
) -> None:
    await run_in_threadpool(_service(request).remove_preset, principal, camera_id, token)


@router.post("/{camera_id}/ptz/tour", status_code=204, summary="Patrol between presets (audited)")
async def ptz_start_tour(request: Request, principal: CurrentPrincipal, camera_id: CameraId, body: TourIn) -> None:
    await run_in_threadpool(_service(request).start_tour, principal, camera_id, body.presets, body.dwell_s)


@router.delete("/{camera_id}/ptz/tour", status_code=204, summary="Stop the tour (audited)")
async def ptz_stop_tour(request: Request, principal: CurrentPrincipal, camera_id: CameraId) -> None:
    await run_in_threadpool(_service(request).stop_tour, principal, camera_id)


@router.post("/{camera_id}/ptz/track", response_model=TrackingOut, summary="Follow a target with the dome (audited)")
async def ptz_track(request: Request, principal: CurrentPrincipal, camera_id: CameraId, body: TrackIn) -> TrackingOut:
    """The dome follows what the box holds on its picture (``ptz_autotracking``, under an activation covering the
    camera) until it loses it, the session's time is up, the activation ends, someone moves the dome or stops it."""
    return _tracking(await run_in_threadpool(_service(request).track, principal, camera_id, body.box()))


@router.delete("/{camera_id}/ptz/track", status_code=204, summary="Stop following the target (audited)")
async def ptz_untrack(request: Request, principal: CurrentPrincipal, camera_id: CameraId) -> None:
    await run_in_threadpool(_service(request).untrack, principal, camera_id)
