"""Cameras as operators see them: identity from the configuration, health from the workers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vigie.domain.camera import CameraHealth, CameraInfo, HealthState
from vigie.domain.ports import CameraStatusRepo
from vigie.domain.users import Permission
from vigie.services.access import Principal


@dataclass(frozen=True, slots=True)
class CameraView:
    info: CameraInfo
    health: CameraHealth | None

    @property
    def state(self) -> HealthState:
        return self.health.state if self.health else HealthState.STARTING


class CameraService:
    def __init__(self, cameras: Sequence[CameraInfo], status: CameraStatusRepo) -> None:
        self._cameras = tuple(cameras)
        self._status = status

    def list_cameras(self, viewer: Principal) -> list[CameraView]:
        """The cameras ``viewer`` may see (their tenant's and those shared with it), with their health."""
        viewer.require(Permission.VIEW_CAMERAS)
        latest = {h.camera_id: h for h in self._status.latest()}
        return [CameraView(info=c, health=latest.get(c.id)) for c in self._cameras if viewer.sees_camera(c.id)]

    def public_list(self) -> list[CameraInfo]:
        """Every camera, for the public page (R252-10, L36): identity and place only, no health, no video."""
        return list(self._cameras)
