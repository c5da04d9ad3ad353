"""The domes ``vigie serve`` drives: every camera with ``onvif:`` settings, over ONVIF with its account
(:class:`vigie.devices.onvif.OnvifPtz`), handed to :class:`vigie.services.ptz.PtzService`.

A dome is opened at its first command, not at start: 650 street domes must not delay the start, and a dome that is
unreachable at start may answer later. A dome that cannot be reached answers :class:`DomeUnreachableError` (503),
and is tried again at the next command, at most every :data:`RETRY_AFTER_S` seconds."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Final, TypeVar

from vigie.config.camera import Camera, OnvifSettings
from vigie.config.models import CameraPlacement
from vigie.devices.dome_masking import DomeMaskSpec
from vigie.devices.masks import PtzMask, masking_refusal
from vigie.devices.onvif import OnvifError, OnvifPtz
from vigie.domain.camera import CameraKind
from vigie.domain.clock import Clock
from vigie.domain.ports import AuditSink
from vigie.domain.ptz import PtzDevice, PtzPreset, PtzStatus, PtzVector
from vigie.governance.camera_credentials import CameraAccount
from vigie.services.ptz import DomeUnreachableError, PtzService

log = logging.getLogger(__name__)

RETRY_AFTER_S: Final = 10.0
_T = TypeVar("_T")

Opener = Callable[[OnvifSettings, CameraAccount], PtzDevice]


def _open_onvif(settings: OnvifSettings, account: CameraAccount) -> PtzDevice:
    return OnvifPtz(
        settings.host, settings.port, account.username, account.password, profile_token=settings.ptz_profile
    )


class LazyDome:
    """A :class:`PtzDevice` that opens its ONVIF session at the first call and says plainly when it cannot."""

    def __init__(
        self, camera_id: str, settings: OnvifSettings, account: CameraAccount, opener: Opener = _open_onvif
    ) -> None:
        self.camera_id = camera_id
        self._settings, self._account, self._opener = settings, account, opener
        self._device: PtzDevice | None = None
        self._failed_at: float | None = None
        self._why = ""
        self._lock = threading.Lock()

    def _open(self) -> PtzDevice:
        with self._lock:
            if self._device is not None:
                return self._device
            if self._failed_at is not None and time.monotonic() - self._failed_at < RETRY_AFTER_S:
                raise DomeUnreachableError(f"camera {self.camera_id}: {self._why} (tried again in a few seconds)")
            try:
                self._device = self._opener(self._settings, self._account)
            except OnvifError as err:
                self._failed_at, self._why = time.monotonic(), str(err)
                log.warning("ptz: camera %s: %s", self.camera_id, err)
                raise DomeUnreachableError(f"camera {self.camera_id}: {err}") from None
            self._failed_at = None
            return self._device

    def _call(self, action: Callable[[PtzDevice], _T]) -> _T:
        """``action`` on the open session; a failing session is dropped (the next command opens a new one) and the
        failure said as :class:`DomeUnreachableError`."""
        try:
            return action(self._open())
        except OnvifError as err:
            with self._lock:
                self._device, self._failed_at, self._why = None, time.monotonic(), str(err)
            raise DomeUnreachableError(f"camera {self.camera_id}: {err}") from None

    def continuous_move(self, velocity: PtzVector, timeout_s: float | None = None) -> None:
        self._call(lambda d: d.continuous_move(velocity, timeout_s))

    def absolute_move(self, position: PtzVector, speed: PtzVector | None = None) -> None:
        self._call(lambda d: d.absolute_move(position, speed))

    def relative_move(self, translation: PtzVector, speed: PtzVector | None = None) -> None:
        self._call(lambda d: d.relative_move(translation, speed))

    def stop(self) -> None:
        self._call(lambda d: d.stop())

    def status(self) -> PtzStatus:
        return self._call(lambda d: d.status())

    def presets(self) -> list[PtzPreset]:
        return self._call(lambda d: d.presets())

    def set_preset(self, name: str, token: str | None = None) -> str:
        return self._call(lambda d: d.set_preset(name, token))

    def goto_preset(self, token: str, speed: PtzVector | None = None) -> None:
        self._call(lambda d: d.goto_preset(token, speed))

    def remove_preset(self, token: str) -> None:
        self._call(lambda d: d.remove_preset(token))

    def goto_home(self, speed: PtzVector | None = None) -> None:
        self._call(lambda d: d.goto_home(speed))

    def set_home(self) -> None:
        self._call(lambda d: d.set_home())

    def close(self) -> None:
        with self._lock:
            device, self._device = self._device, None
        close = getattr(device, "close", None)
        if callable(close):
            close()


def dome_mask_spec(camera: Camera, accounts: Mapping[str, CameraAccount]) -> DomeMaskSpec | None:
    """What the recorder and the analysis of a dome with pan/tilt privacy masks need to mask each frame from the
    dome's position (its ONVIF services, account, optics), or None for a camera without such masks or without an
    ONVIF device to read the position from (:func:`dome_mask_refusals` refuses those)."""
    onvif = camera.onvif
    if not camera.ptz_privacy_masks or onvif is None or not camera.credentials:
        return None
    account = accounts[camera.credentials]
    return DomeMaskSpec(
        camera.id,
        tuple(PtzMask(m.id, tuple(m.points)) for m in camera.ptz_privacy_masks),
        onvif.optics.to_domain(),
        onvif.host,
        onvif.port,
        account.username,
        account.password,
        profile=onvif.ptz_profile,
        poll_s=onvif.position_poll_s,
        video_delay_s=onvif.video_delay_s,
    )


def dome_mask_refusals(placements: Sequence[CameraPlacement]) -> dict[str, str]:
    """Camera id → why it may not record, stream nor be analysed: a dome with pan/tilt privacy masks and no ONVIF
    device to read its position from — refused rather than recorded unmasked (L6)."""
    refusals: dict[str, str] = {}
    for p in placements:
        camera = p.camera
        masks = [PtzMask(m.id, tuple(m.points)) for m in camera.ptz_privacy_masks]
        feedback = camera.onvif is not None and bool(camera.credentials)
        reason = masking_refusal(camera.id, camera.kind, masks, position_feedback=feedback)
        if reason is not None:
            refusals[camera.id] = reason
    return refusals


def open_ptz_service(
    placements: Sequence[CameraPlacement],
    accounts: Mapping[str, CameraAccount],
    audit: AuditSink,
    clock: Clock,
    opener: Opener = _open_onvif,
) -> tuple[PtzService, list[LazyDome]]:
    """The PTZ service over every PTZ camera with ONVIF settings (none: a service that knows no dome); a fixed
    camera's ONVIF settings serve its events, not PTZ."""
    domes = [
        LazyDome(p.camera.id, p.camera.onvif, accounts[p.camera.credentials], opener)
        for p in placements
        if p.camera.kind is CameraKind.PTZ and p.camera.onvif is not None and p.camera.credentials
    ]
    homes = {p.camera.id: p.camera.onvif.home_after_s for p in placements if p.camera.onvif is not None}
    return PtzService({d.camera_id: d for d in domes}, audit, clock, home_after_s=homes), domes
