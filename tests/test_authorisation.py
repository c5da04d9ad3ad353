"""L1: a camera runs only under a valid prefectoral authorisation; expiry is announced four months ahead."""

from __future__ import annotations

from datetime import date

from vigie.config.camera import Authorisation
from vigie.domain.camera import Purpose
from vigie.governance.authorisation import check_authorisation

AUTH = Authorisation(
    reference="2024-DS-0142",
    valid_from=date(2024, 3, 1),
    valid_until=date(2029, 2, 28),
    purposes=(Purpose.CRIME_PREVENTION,),
    retention_days=15,
)


def test_valid_authorisation_far_from_expiry_is_silent() -> None:
    assert check_authorisation("cam-001", AUTH, date(2026, 11, 28)).usable
    assert check_authorisation("cam-001", AUTH, date(2026, 11, 28)).message == ""


def test_expiry_is_announced_four_months_ahead() -> None:
    early = check_authorisation("cam-001", AUTH, date(2028, 10, 1))
    assert early.usable and early.message == ""
    warned = check_authorisation("cam-001", AUTH, date(2028, 11, 1))
    assert warned.usable and "expires on 2029-02-28" in warned.message and "119 days" in warned.message


def test_outside_its_validity_a_camera_may_not_run() -> None:
    before = check_authorisation("cam-001", AUTH, date(2024, 2, 29))
    after = check_authorisation("cam-001", AUTH, date(2029, 3, 1))
    assert not before.usable and "starts on 2024-03-01" in before.message
    assert not after.usable and "expired on 2029-02-28" in after.message and "renew" in after.message
    assert check_authorisation("cam-001", AUTH, date(2029, 2, 28)).usable  # the last day still counts
