"""Prefectoral authorisations (CSI L252-1, L1): a camera without a valid one may not stream or record, and the
deployer is warned four months before one expires."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from vigie.config.camera import Authorisation

EXPIRY_WARNING = timedelta(days=122)
"""About four months: the time a prefecture needs to renew an authorisation."""


@dataclass(frozen=True, slots=True)
class AuthorisationCheck:
    usable: bool
    message: str = ""


def check_authorisation(camera_id: str, auth: Authorisation, today: date) -> AuthorisationCheck:
    """Whether camera ``camera_id`` may run today under ``auth``, and what the deployer must be told."""
    if today < auth.valid_from:
        return AuthorisationCheck(
            False,
            f"camera {camera_id}: prefectoral authorisation {auth.reference} starts on {auth.valid_from}; "
            "the camera stays off until then",
        )
    if today > auth.valid_until:
        return AuthorisationCheck(
            False,
            f"camera {camera_id}: prefectoral authorisation {auth.reference} expired on {auth.valid_until}; "
            "renew it with the prefecture and update `authorisation` in the configuration",
        )
    if auth.valid_until - today <= EXPIRY_WARNING:
        days = (auth.valid_until - today).days
        return AuthorisationCheck(
            True,
            f"camera {camera_id}: prefectoral authorisation {auth.reference} expires on {auth.valid_until} "
            f"(in {days} days); ask the prefecture for its renewal now",
        )
    return AuthorisationCheck(True)
