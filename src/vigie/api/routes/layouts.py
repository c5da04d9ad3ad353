"""The console's saved layouts and video-wall outputs (issue 24): ``/api/layouts`` (the person's own and those
shared with one of their roles; create, change, share, remove) and ``/api/wall-outputs`` (what a named video wall
shows; set from the console, read by the wall's browser every few seconds). Bodies are bounded and a field the
schema does not know is refused; the service checks the cameras (only those one may see) and audits each change."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from vigie.api.deps import configured
from vigie.api.schemas import RequestModel
from vigie.api.security import CurrentPrincipal
from vigie.domain.layouts import GRIDS, MAX_PACE_S, MAX_TOUR, MIN_PACE_S, NAME_MAX, Layout, Tile, WallOutput
from vigie.domain.users import Role
from vigie.services.layouts import LayoutService

router = APIRouter(tags=["layouts"])
CameraId = Annotated[str, Field(min_length=1, max_length=128)]
LayoutId = Annotated[int, Path(ge=1, le=2**53, description="the layout's id, answered when it was saved")]
OutputName = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$",
        description="lower-case letters, digits, dashes",
    ),
]
MAX_TILES = max(GRIDS.values())


class TileIn(RequestModel):
    camera: CameraId | None = Field(default=None, description="the camera shown; none: an empty tile")
    tour: list[CameraId] = Field(
        default_factory=list, max_length=MAX_TOUR, description="cameras shown in turn (two or more), or none"
    )
    pace_s: int = Field(default=10, ge=MIN_PACE_S, le=MAX_PACE_S, description="seconds each camera of the tour shows")


class LayoutIn(RequestModel):
    name: str = Field(min_length=1, max_length=NAME_MAX, description="what the person calls it")
    grid: str = Field(max_length=8, description=f"one of {', '.join(GRIDS)}")
    tiles: list[TileIn] = Field(max_length=MAX_TILES, description="one per tile of the grid, in order")
    alarm_tile: int | None = Field(default=None, ge=0, lt=MAX_TILES, description="the tile alarms are shown in")


class ShareIn(RequestModel):
    roles: list[Role] = Field(
        max_length=len(Role), description="roles of your commune it is shared with (none: yours only)"
    )


class OutputIn(RequestModel):
    grid: str = Field(max_length=8, description=f"one of {', '.join(GRIDS)}")
    tiles: list[TileIn] = Field(max_length=MAX_TILES, description="one per tile of the grid, in order")


class TileOut(BaseModel):
    camera: str | None
    tour: list[str]
    pace_s: int


class LayoutOut(BaseModel):
    id: int
    name: str
    grid: str
    tiles: list[TileOut]
    alarm_tile: int | None
    owner: str
    shared_roles: list[str]
    mine: bool
    editable: bool
    updated_at: datetime | None
    updated_by: str


class LayoutListOut(BaseModel):
    items: list[LayoutOut]
    grids: dict[str, int] = Field(description="the grids a layout may use, and their tiles")


class OutputOut(BaseModel):
    name: str
    grid: str
    tiles: list[TileOut]
    version: int
    updated_by: str
    updated_at: datetime | None


class OutputListOut(BaseModel):
    items: list[OutputOut]


def _service(request: Request) -> LayoutService:
    return configured(request, "layouts", LayoutService, "saved layouts are")


def _tiles(tiles: list[TileIn]) -> list[Tile]:
    return [Tile(t.camera, tuple(t.tour), t.pace_s) for t in tiles]


def _tiles_out(tiles: tuple[Tile, ...]) -> list[TileOut]:
    return [TileOut(camera=t.camera, tour=list(t.tour), pace_s=t.pace_s) for t in tiles]


def _layout_out(layout: Layout, principal: CurrentPrincipal) -> LayoutOut:
    mine = layout.owner == principal.actor
    return LayoutOut(
        id=layout.id or 0,
        name=layout.name,
        grid=layout.grid,
        tiles=_tiles_out(layout.tiles),
        alarm_tile=layout.alarm_tile,
        owner=layout.owner,
        shared_roles=sorted(layout.shared_roles),
        mine=mine,
        editable=mine or (layout.shared and principal.has_role(Role.SUPERVISOR)),
        updated_at=layout.updated_at,
        updated_by=layout.updated_by,
    )


def _output_out(output: WallOutput) -> OutputOut:
    return OutputOut(
        name=output.name,
        grid=output.grid,
        tiles=_tiles_out(output.tiles),
        version=output.version,
        updated_by=output.updated_by,
        updated_at=output.updated_at,
    )


@router.get("/api/layouts", response_model=LayoutListOut, summary="Your layouts and those shared with your roles")
def list_layouts(*, request: Request, principal: CurrentPrincipal) -> LayoutListOut:
    items = [_layout_out(layout, principal) for layout in _service(request).list(principal)]
    return LayoutListOut(items=items, grids=GRIDS)


@router.post("/api/layouts", status_code=201, response_model=LayoutOut, summary="Save a new layout (audited)")
def create_layout(*, request: Request, principal: CurrentPrincipal, body: LayoutIn) -> LayoutOut:
    layout = _service(request).create(principal, body.name, body.grid, _tiles(body.tiles), body.alarm_tile)
    return _layout_out(layout, principal)


@router.put(
    "/api/layouts/{layout_id}",
    response_model=LayoutOut,
    summary="Change a layout (its owner, or a supervisor for a shared one; audited)",
)
def update_layout(*, request: Request, principal: CurrentPrincipal, layout_id: LayoutId, body: LayoutIn) -> LayoutOut:
    layout = _service(request).update(
        principal, layout_id, name=body.name, grid=body.grid, tiles=_tiles(body.tiles), alarm_tile=body.alarm_tile
    )
    return _layout_out(layout, principal)


@router.put(
    "/api/layouts/{layout_id}/share",
    response_model=LayoutOut,
    summary="Share a layout with roles of your commune (audited)",
)
def share_layout(*, request: Request, principal: CurrentPrincipal, layout_id: LayoutId, body: ShareIn) -> LayoutOut:
    layout = _service(request).share(principal, layout_id, [r.value for r in body.roles])
    return _layout_out(layout, principal)


@router.delete(
    "/api/layouts/{layout_id}", status_code=204, response_class=Response, summary="Remove a layout (audited)"
)
def delete_layout(*, request: Request, principal: CurrentPrincipal, layout_id: LayoutId) -> Response:
    _service(request).delete(principal, layout_id)
    return Response(status_code=204)


@router.get("/api/wall-outputs", response_model=OutputListOut, summary="Your commune's video-wall outputs")
def list_outputs(*, request: Request, principal: CurrentPrincipal) -> OutputListOut:
    return OutputListOut(items=[_output_out(o) for o in _service(request).outputs(principal)])


@router.get("/api/wall-outputs/{name}", response_model=OutputOut, summary="What a video-wall output shows now")
def get_output(*, request: Request, principal: CurrentPrincipal, name: OutputName) -> OutputOut:
    return _output_out(_service(request).output(principal, name))


@router.put(
    "/api/wall-outputs/{name}", response_model=OutputOut, summary="Set what a video-wall output shows (audited)"
)
def set_output(*, request: Request, principal: CurrentPrincipal, name: OutputName, body: OutputIn) -> OutputOut:
    return _output_out(_service(request).set_output(principal, name, body.grid, _tiles(body.tiles)))
