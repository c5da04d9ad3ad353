"""Cameras as operators see them: identity from the configuration, health from the workers, and whether their
prefectoral authorisation lets them be shown at all (L1)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vigie.domain.camera import CameraHealth, CameraInfo, HealthState
from vigie.domain.ports import CameraStatusRepo
from vigie.domain.users import Permission
from vigie.governance.authorisation import AuthorisationCheck, CameraAuthorisations
from vigie.governance.signage import SitePanels
from vigie.services.access import AccessDeniedError, Principal


class CameraNotAuthorisedError(AccessDeniedError):
    """The camera's prefectoral authorisation is not in force today (expired, not yet valid, L1), or it is not
    commissioned (no signage panel covers it, L7): no live image, no picture of it. Answered 403 and audited like
    every refused access."""


def require_authorised(authorisations: CameraAuthorisations | None, camera_id: str, what: str) -> None:
    """Raise :class:`CameraNotAuthorisedError` when ``camera_id`` may not be shown today; ``what`` is refused."""
    refusal = None if authorisations is None else authorisations.refusal(camera_id)
    if refusal is not None:
        raise CameraNotAuthorisedError(f"{what} refused: {refusal}")


@dataclass(frozen=True, slots=True)
class CameraView:
    info: CameraInfo
    health: CameraHealth | None

    @property
    def state(self) -> HealthState:
        return self.health.state if self.health else HealthState.STARTING


class CameraService:
    def __init__(
        self,
        cameras: Sequence[CameraInfo],
        status: CameraStatusRepo,
        *,
        authorisations: CameraAuthorisations | None = None,
        signage: Sequence[SitePanels] = (),
        status_max_age_s: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``authorisations``: every camera's prefectoral authorisation on the service's clock (the runtime always
        gives it; without it the public page says nothing of them). ``status_max_age_s``: the cameras' health read
        from the database at most this often for every caller of the process (the camera lists, the health view):
        4,891 rows a read at the métropole's size; the sink writes them every few seconds anyway. ``signage``: what
        each site's panels print (L7), for the public page."""
        self._cameras = tuple(cameras)
        self._signage = tuple(signage)
        self._status = status
        self._authorisations = authorisations
        self._max_age_s, self._monotonic = status_max_age_s, monotonic
        self._latest: tuple[float, dict[str, CameraHealth]] | None = None
        self._lock = threading.Lock()

    def list_cameras(self, viewer: Principal) -> list[CameraView]:
        """The cameras ``viewer`` may see (their tenant's and those shared with it), with their health."""
        viewer.require(Permission.VIEW_CAMERAS)
        latest = self._latest_health()
        return [CameraView(info=c, health=latest.get(c.id)) for c in self._cameras if viewer.sees_camera(c.id)]

    def _latest_health(self) -> dict[str, CameraHealth]:
        if self._max_age_s <= 0:
            return {h.camera_id: h for h in self._status.latest()}
        with self._lock:  # one read at a time: callers meanwhile wait and share it
            if self._latest is not None and self._monotonic() - self._latest[0] < self._max_age_s:
                return self._latest[1]
            latest = {h.camera_id: h for h in self._status.latest()}
            self._latest = (self._monotonic(), latest)
            return latest

    def public_list(self) -> list[CameraInfo]:
        """Every camera, for the public page (R252-10, L36): identity and place only, no health, no video."""
        return list(self._cameras)

    def public_signage(self) -> list[SitePanels]:
        """Per site, the controller and contact its panels print (L7): public already, they name an organisation
        and a service, never a person."""
        return list(self._signage)

    def authorisation(self, camera_id: str) -> AuthorisationCheck | None:
        """The camera's prefectoral authorisation today (public: it is a published prefectoral decision), or None
        where this service was given none."""
        return None if self._authorisations is None else self._authorisations.check(camera_id)
