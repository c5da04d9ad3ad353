from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.support.activations import NOW, make_request, sample_config
from vigie.domain.activation import Activation, Approval
from vigie.domain.actor import Actor
from vigie.governance.activation import (
    ActivationState,
    activation_state,
    approval_refusals,
    is_approved,
    validate_request,
)
from vigie.governance.catalogue import load_catalogue

CATALOGUE = load_catalogue()
CONFIG = sample_config()


def codes(**changes: object) -> set[str]:
    return {r.code for r in validate_request(make_request(**changes), CATALOGUE, CONFIG, NOW)}


def test_a_complete_request_is_accepted() -> None:
    assert validate_request(make_request(), CATALOGUE, CONFIG, NOW) == []


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"module": "teleportation"}, "unknown_module"),
        ({"module": "facial_recognition"}, "unknown_module"),
        ({"framework": "loi-imaginaire"}, "unknown_framework"),
        ({"framework": "cnil-statistiques-anonymes"}, "framework_does_not_authorise"),
        (
            {"module": "plate_reading", "framework": "lapi-csi-l233-1", "camera_ids": ("cam-street",)},
            "module_not_for_tenant",
        ),
        ({"camera_ids": ("cam-nowhere",)}, "unknown_camera"),
        ({"camera_ids": ("cam-lapi",)}, "camera_of_other_tenant"),
        ({"camera_ids": ()}, "no_camera"),
        ({"module": "loitering", "camera_ids": ("cam-street",)}, "setting_not_covered"),
        ({"module": "stationary_vehicle", "camera_ids": ("cam-street",)}, "setting_not_covered"),
        ({"decision_number": " "}, "missing_decision"),
        ({"decision_date": None}, "missing_decision_date"),
        ({"dpia_reference": ""}, "missing_dpia"),
        ({"starts_at": NOW + timedelta(days=8)}, "start_not_before_end"),
        ({"starts_at": NOW - timedelta(days=9), "ends_at": NOW - timedelta(days=1)}, "end_in_past"),
        ({"zone_ids": ("nowhere",)}, "unknown_zone"),
    ],
)
def test_refusals_say_what_to_fix(changes: dict[str, object], code: str) -> None:
    refusals = validate_request(make_request(**changes), CATALOGUE, CONFIG, NOW)
    assert code in {r.code for r in refusals}
    assert all(r.message for r in refusals)


def test_lapi_for_a_municipal_tenant_cites_l34() -> None:
    refusals = validate_request(
        make_request(module="plate_reading", framework="lapi-csi-l233-1", camera_ids=("cam-street",)),
        CATALOGUE,
        CONFIG,
        NOW,
    )
    assert any("L34" in r.message for r in refusals)
    state = make_request(tenant="police", module="plate_reading", framework="lapi-csi-l233-1", camera_ids=("cam-lapi",))
    assert validate_request(state, CATALOGUE, CONFIG, NOW) == []


def test_street_loitering_says_no_framework_can() -> None:
    refusals = validate_request(make_request(module="loitering", camera_ids=("cam-street",)), CATALOGUE, CONFIG, NOW)
    assert any("no framework authorises 'loitering' on public_street cameras" in r.message for r in refusals)


def test_statistics_are_allowed_on_streets_and_decree_events_in_transit_until_the_framework_ends() -> None:
    assert (
        codes(module="line_count", framework="cnil-statistiques-anonymes", camera_ids=("cam-street",), zone_ids=())
        == set()
    )
    extension = "loi-2023-380-art10-prolongation-2027"
    assert codes(module="intrusion", framework=extension, camera_ids=("cam-transit", "cam-street")) == set()
    late = datetime(2028, 1, 15, tzinfo=UTC)
    assert "end_after_framework" in codes(module="intrusion", framework=extension, ends_at=late)


def test_an_ended_framework_authorises_nothing() -> None:
    assert "framework_ended" in codes(module="intrusion", framework="loi-2023-380-art10", camera_ids=("cam-transit",))


def test_decision_date_in_the_future_and_naive_times() -> None:
    assert "decision_in_future" in codes(decision_date=date(2026, 3, 2))
    assert "naive_time" in codes(starts_at=datetime(2026, 3, 1, 9, 0))


def _activation(**changes: object) -> Activation:
    request = make_request()
    values: dict[str, object] = {
        "id": 1,
        "tenant": request.tenant,
        "module": request.module,
        "camera_ids": request.camera_ids,
        "zone_ids": (),
        "framework": request.framework,
        "decision_number": request.decision_number,
        "decision_date": request.decision_date,
        "dpia_reference": request.dpia_reference,
        "purpose": request.purpose,
        "starts_at": request.starts_at,
        "ends_at": request.ends_at,
        "requested_by": request.requested_by,
        "requested_role": request.requested_role,
        "requested_at": NOW,
    }
    values.update(changes)
    return Activation(**values)  # type: ignore[arg-type]


DPO = Approval(1, "cli:bob", "dpo", NOW)
MAYOR = Approval(1, "cli:carol", "authority", NOW)


def test_two_people_in_two_roles_are_needed() -> None:
    activation = _activation()
    assert not is_approved(activation, [DPO])
    assert is_approved(activation, [DPO, MAYOR])
    assert not is_approved(activation, [DPO, Approval(1, "CLI:Bob ", "authority", NOW)])  # same person twice
    assert not is_approved(activation, [DPO, Approval(1, "cli:dave", "dpo", NOW)])  # same role twice
    assert not is_approved(activation, [DPO, Approval(1, "alice", "authority", NOW)])  # the requester
    assert not is_approved(activation, [DPO, Approval(1, "cli:dave", "operator", NOW)])  # not an approving role
    assert not is_approved(activation, [DPO, Approval(2, "cli:carol", "authority", NOW)])  # another activation


def test_approval_refusals() -> None:
    activation = _activation()
    assert approval_refusals(activation, [], Actor("cli:bob", "dpo"), None, NOW) == []
    assert {r.code for r in approval_refusals(activation, [], Actor("cli:alice", "dpo"), None, NOW)} == {
        "requester_cannot_approve"
    }
    assert {r.code for r in approval_refusals(activation, [DPO], Actor("cli:bob", "authority"), None, NOW)} == {
        "same_person_twice"
    }
    assert {r.code for r in approval_refusals(activation, [DPO], Actor("cli:erin", "dpo"), None, NOW)} == {
        "same_role_twice"
    }
    assert {r.code for r in approval_refusals(activation, [], Actor("cli:erin", "operator"), None, NOW)} == {
        "role_cannot_approve"
    }
    assert {r.code for r in approval_refusals(activation, [DPO, MAYOR], Actor("cli:x", "dpo"), None, NOW)} == {
        "already_approved"
    }
    assert {r.code for r in approval_refusals(activation, [], Actor("cli:bob", "dpo"), NOW, NOW)} == {
        "activation_revoked"
    }


def test_activation_state() -> None:
    activation = _activation(starts_at=NOW + timedelta(hours=1))
    both = [DPO, MAYOR]
    assert activation_state(activation, [], None, NOW) is ActivationState.REQUESTED
    assert activation_state(activation, [DPO], None, NOW + timedelta(hours=2)) is ActivationState.REQUESTED
    assert activation_state(activation, both, None, NOW) is ActivationState.APPROVED_PENDING_START
    assert activation_state(activation, both, None, NOW + timedelta(hours=1)) is ActivationState.ACTIVE
    assert activation_state(activation, both, None, activation.ends_at) is ActivationState.EXPIRED
    assert activation_state(activation, both, NOW, NOW + timedelta(hours=2)) is ActivationState.REVOKED
    assert (
        activation_state(activation, both, NOW + timedelta(hours=3), NOW + timedelta(hours=2)) is ActivationState.ACTIVE
    )
