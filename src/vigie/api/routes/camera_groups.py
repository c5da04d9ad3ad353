"""A person's own camera groups and favourites, for the console's tree (issue 24): kept by the server, they follow
the operator from workstation to workstation. Only cameras the person may see go in or come out; not audited (a
preference of the console: nothing is seen or changed by it, :mod:`vigie.domain.camera_groups`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from vigie.api.deps import configured
from vigie.api.schemas import RequestModel
from vigie.api.security import CurrentPrincipal
from vigie.domain.camera_groups import MAX_GROUP_CAMERAS, MAX_GROUP_NAME, CameraGroup
from vigie.services.camera_groups import CameraGroupService

router = APIRouter(prefix="/api/me/camera-groups", tags=["camera groups"])
CameraId = Annotated[str, Field(min_length=1, max_length=128)]
GroupId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class CameraGroupOut(BaseModel):
    id: int
    name: str
    cameras: list[str] = Field(description="camera ids, in the person's order (those they may see today)")


class MyCameraGroupsOut(BaseModel):
    favourites: list[str] = Field(description="the cameras the person starred, in the order starred")
    groups: list[CameraGroupOut] = Field(description="the person's groups, by name")


class FavouritesIn(RequestModel):
    cameras: list[CameraId] = Field(max_length=MAX_GROUP_CAMERAS, description="every starred camera, in order")


class CameraGroupIn(RequestModel):
    name: str = Field(min_length=1, max_length=MAX_GROUP_NAME)
    cameras: list[CameraId] = Field(default_factory=list, max_length=MAX_GROUP_CAMERAS)


class CameraGroupChangeIn(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=MAX_GROUP_NAME, description="a new name")
    cameras: list[CameraId] | None = Field(
        default=None, max_length=MAX_GROUP_CAMERAS, description="the group's cameras, replacing them"
    )


def _service(request: Request) -> CameraGroupService:
    return configured(request, "camera_groups", CameraGroupService, "camera groups are")


def _out(group: CameraGroup) -> CameraGroupOut:
    return CameraGroupOut(id=group.id or 0, name=group.name, cameras=list(group.cameras))


@router.get("", response_model=MyCameraGroupsOut, summary="Your camera groups and favourites")
def my_groups(request: Request, principal: CurrentPrincipal) -> MyCameraGroupsOut:
    mine = _service(request).mine(principal)
    return MyCameraGroupsOut(favourites=list(mine.favourites), groups=[_out(g) for g in mine.groups])


@router.put("/favourites", response_model=list[str], summary="Replace your favourite cameras (starred)")
def set_favourites(request: Request, principal: CurrentPrincipal, body: FavouritesIn) -> list[str]:
    return list(_service(request).set_favourites(principal, body.cameras))


@router.post("", status_code=201, response_model=CameraGroupOut, summary="Make a camera group of your own")
def create_group(request: Request, principal: CurrentPrincipal, body: CameraGroupIn) -> CameraGroupOut:
    return _out(_service(request).create(principal, body.name, body.cameras))


@router.patch("/{group_id}", response_model=CameraGroupOut, summary="Rename or refill one of your groups")
def change_group(
    request: Request, principal: CurrentPrincipal, group_id: GroupId, body: CameraGroupChangeIn
) -> CameraGroupOut:
    return _out(_service(request).change(principal, group_id, name=body.name, cameras=body.cameras))


@router.delete("/{group_id}", status_code=204, response_class=Response, summary="Remove one of your groups")
def delete_group(request: Request, principal: CurrentPrincipal, group_id: GroupId) -> Response:
    _service(request).delete(principal, group_id)
    return Response(status_code=204)
