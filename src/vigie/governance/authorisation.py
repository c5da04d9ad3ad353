"""Prefectoral authorisations (CSI L252-1, L1): a camera without a valid one may not stream or record, and the
deployer is warned four months before one expires.

:class:`CameraAuthorisations` answers for every camera on the service's clock (the Paris day,
:func:`vigie.domain.clock.legal_day`, never the host's date): the supervisor asks it before starting a camera's
recorder and analysis worker and on every round (so both stop when the authorisation ends), the live view and
alert images ask it before showing a picture, and the public page shows each camera's state. It is also the one
place that says why a camera does not run: besides L1 it carries the standing refusals (a dome whose masks cannot
follow it, L6) and, given the cameras' panels, commissioning by signage (L7, :mod:`vigie.governance.signage`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from vigie.config.camera import Authorisation, Camera
from vigie.domain.clock import Clock, legal_day
from vigie.governance.signage import CameraSignage

EXPIRY_WARNING = timedelta(days=122)
"""About four months: the time a prefecture needs to renew an authorisation."""


class AuthorisationState(enum.StrEnum):
    """Where a camera stands with its prefectoral authorisation today."""

    VALID = "valid"
    EXPIRING = "expiring"
    """Valid, but ends within :data:`EXPIRY_WARNING`: the renewal must be asked for now."""
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    MISSING = "missing"
    """No authorisation is known for this camera."""


@dataclass(frozen=True, slots=True)
class AuthorisationCheck:
    usable: bool
    message: str = ""
    state: AuthorisationState = AuthorisationState.VALID
    reference: str = ""
    valid_until: date | None = None


def check_authorisation(camera_id: str, auth: Authorisation, today: date) -> AuthorisationCheck:
    """Whether camera ``camera_id`` may run today under ``auth``, and what the deployer must be told."""
    if today < auth.valid_from:
        return AuthorisationCheck(
            False,
            f"camera {camera_id}: prefectoral authorisation {auth.reference} starts on {auth.valid_from}; "
            "the camera stays off until then",
            AuthorisationState.NOT_YET_VALID,
            auth.reference,
            auth.valid_until,
        )
    if today > auth.valid_until:
        return AuthorisationCheck(
            False,
            f"camera {camera_id}: prefectoral authorisation {auth.reference} expired on {auth.valid_until}; "
            "renew it with the prefecture and update `authorisation` in the configuration",
            AuthorisationState.EXPIRED,
            auth.reference,
            auth.valid_until,
        )
    if auth.valid_until - today <= EXPIRY_WARNING:
        days = (auth.valid_until - today).days
        return AuthorisationCheck(
            True,
            f"camera {camera_id}: prefectoral authorisation {auth.reference} expires on {auth.valid_until} "
            f"(in {days} days); ask the prefecture for its renewal now",
            AuthorisationState.EXPIRING,
            auth.reference,
            auth.valid_until,
        )
    return AuthorisationCheck(True, "", AuthorisationState.VALID, auth.reference, auth.valid_until)


class CameraAuthorisations:
    """The prefectoral authorisation of every camera, judged on the Paris day of one clock (the service's)."""

    def __init__(
        self,
        authorisations: Mapping[str, Authorisation],
        clock: Clock,
        standing: Mapping[str, str] | None = None,
        signage: Mapping[str, CameraSignage] | None = None,
    ) -> None:
        """``standing``: camera id → a refusal that holds whatever the day (a dome whose privacy masks cannot
        follow it, L6). ``signage``: camera id → the panel covering it (L7; the runtime always gives it, and a
        camera missing from it is refused); None: signage is not judged here."""
        self._authorisations = dict(authorisations)
        self._clock = clock
        self._standing = dict(standing or {})
        self._signage = None if signage is None else dict(signage)

    @classmethod
    def of(
        cls,
        cameras: Iterable[Camera],
        clock: Clock,
        standing: Mapping[str, str] | None = None,
        signage: Mapping[str, CameraSignage] | None = None,
    ) -> CameraAuthorisations:
        return cls({camera.id: camera.authorisation for camera in cameras}, clock, standing, signage)

    def check(self, camera_id: str) -> AuthorisationCheck:
        auth = self._authorisations.get(camera_id)
        if auth is None:
            return AuthorisationCheck(
                False,
                f"camera {camera_id}: no prefectoral authorisation is recorded for it",
                AuthorisationState.MISSING,
            )
        return check_authorisation(camera_id, auth, legal_day(self._clock))

    def refusal(self, camera_id: str) -> str | None:
        """Why ``camera_id`` may not stream, record or be analysed today (L1, a standing refusal, or not
        commissioned for want of signage, L7), or None."""
        verdict = self.check(camera_id)
        if not verdict.usable:
            return verdict.message
        if camera_id in self._standing:
            return self._standing[camera_id]
        return self.signage_refusal(camera_id)

    def signage_refusal(self, camera_id: str) -> str | None:
        """Why ``camera_id`` is not commissioned today for want of a panel (L7), or None (or signage not judged)."""
        if self._signage is None:
            return None
        panel = self._signage.get(camera_id, CameraSignage(camera_id, "?", None))
        return panel.refusal(legal_day(self._clock))
