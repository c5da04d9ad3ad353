"""Cameras as operators see them: identity from the configuration, health from the workers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vigie.domain.camera import CameraHealth, CameraInfo, HealthState
from vigie.domain.ports import CameraStatusRepo


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

    def list_cameras(self) -> list[CameraView]:
        latest = {h.camera_id: h for h in self._status.latest()}
        return [CameraView(info=c, health=latest.get(c.id)) for c in self._cameras]
