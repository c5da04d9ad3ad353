"""Governance through the API (L21–L24, L29, L10, L11): an activation is requested by a person of a commune, takes
effect only after two approvals by two other people in two approving roles of that same commune, can be revoked at
once, and stop switches halt analysis per camera or everywhere. Another commune's activations and cameras answer
404 like nothing at all; every decision and refusal is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.governance_world import world_config
from tests.api.world import T0, TODAY, World, build_world
from tests.recording.export_samples import ListAuditSink
from tests.support.governance_api import FRAMEWORK_2027, activated, activation_body, login, requested
from vigie.domain.activation import ActivationRequest
from vigie.domain.audit import AuditAction
from vigie.domain.users import Role
from vigie.runtime.assembly.governance import open_governance
from vigie.services.access import NotVisibleError


@pytest.fixture
def world(db: Engine) -> World:
    world = build_world(db)
    world.add("maire.bron", [Role.AUTHORITY], "bron", authorised_for=None, trained_ago=None)
    return world


def banner(client: TestClient) -> tuple[int, list[str]]:
    body = client.get("/api/governance").json()
    return body["active_count"], body["active_modules"]


def actions(world: World, actor: str) -> list[str]:
    return [str(e.action) for e in world.audit.events if e.actor == actor]


def test_two_people_in_two_roles_of_the_commune_make_an_activation_active(world: World) -> None:
    created = login(world, "sup.vil").post("/api/activations", json=activation_body())
    assert created.status_code == 201
    body = created.json()
    assert (body["state"], body["tenant"], body["requested_by"], body["requested_role"]) == (
        "requested",
        "villeurbanne",
        "sup.vil",
        "supervisor",
    )
    assert body["runs_until"] is not None and body["approvals"] == [] and body["revocation"] is None
    activation = body["id"]
    operator = login(world, "op.vil")
    assert banner(operator) == (0, [])

    dpo = login(world, "dpo.vil")
    first = dpo.post(f"/api/activations/{activation}/approve")
    assert first.status_code == 200 and first.json()["state"] == "requested"
    assert [(a["by"], a["role"]) for a in first.json()["approvals"]] == [("dpo.vil", "dpo")]
    twice = dpo.post(f"/api/activations/{activation}/approve")
    assert twice.status_code == 422 and twice.json()["error"]["code"] == "refused"
    assert {d["code"] for d in twice.json()["error"]["details"]} == {"same_person_twice", "same_role_twice"}
    assert banner(operator) == (0, []), "one approval is not enough"

    second = login(world, "maire.vil").post(f"/api/activations/{activation}/approve")
    assert second.status_code == 200 and second.json()["state"] == "active"
    assert banner(operator) == (1, ["intrusion"])
    listed = operator.get("/api/governance").json()["activations"]
    assert listed["total"] == 1 and listed["items"][0]["id"] == activation and listed["next_offset"] is None
    assert operator.get(f"/api/activations/{activation}").json()["state"] == "active"

    assert actions(world, "sup.vil") == ["login.succeeded", "activation.requested"]
    assert actions(world, "dpo.vil")[-2:] == ["activation.approved", "activation.refused"]
    assert actions(world, "maire.vil")[-1] == "activation.approved"


def test_the_requester_never_approves_their_own_request(world: World) -> None:
    activation = requested(world, by="dpo.vil")
    refused = login(world, "dpo.vil").post(f"/api/activations/{activation}/approve")
    assert refused.status_code == 422
    assert [d["code"] for d in refused.json()["error"]["details"]] == ["requester_cannot_approve"]


def test_an_operator_cannot_approve_and_the_refusal_is_audited(world: World) -> None:
    activation = requested(world)
    refused = login(world, "op.vil").post(f"/api/activations/{activation}/approve")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert "approve activation" in refused.json()["error"]["message"]
    denied = [e for e in world.audit.events if e.action is AuditAction.ACCESS_DENIED and e.actor == "op.vil"]
    assert [e.target for e in denied] == [f"POST /api/activations/{activation}/approve"]
    assert login(world, "op.vil").get(f"/api/activations/{activation}").json()["approvals"] == []


def test_another_commune_neither_sees_nor_decides_an_activation(world: World) -> None:
    activation = activated(world)
    for username in ("op.bron", "maire.bron"):
        client = login(world, username)
        assert client.get(f"/api/activations/{activation}").status_code == 404
        assert banner(client) == (0, [])
        assert client.get("/api/governance").json()["activations"]["items"] == []
    maire_bron = login(world, "maire.bron")
    approve = maire_bron.post(f"/api/activations/{activation}/approve")
    revoke = maire_bron.post(f"/api/activations/{activation}/revoke", json={"reason": "pas chez nous"})
    missing = maire_bron.post("/api/activations/9999/approve")
    for answer in (approve, revoke, missing):
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    assert approve.json()["error"]["message"] == f"no activation {activation} among the activations you may see"
    refused = [e for e in world.audit.events if e.actor == "maire.bron" and e.action is AuditAction.ACTIVATION_REFUSED]
    assert [(e.target, e.details["stage"]) for e in refused] == [
        (f"activation:{activation}", "approval"),
        (f"activation:{activation}", "revocation"),
        ("activation:9999", "approval"),
    ]
    assert login(world, "op.vil").get(f"/api/activations/{activation}").json()["state"] == "active"


def test_a_shared_commune_sees_the_activation_but_does_not_decide_it(world: World) -> None:
    activation = activated(world)
    agreement = {
        "partner_commune": "bron",
        "reference": "Convention 2026-21",
        "starts_on": TODAY.isoformat(),
        "ends_on": (TODAY + timedelta(days=30)).isoformat(),
    }
    assert login(world, "admin.vil").post("/api/sharing-agreements", json=agreement).status_code == 201
    maire_bron = login(world, "maire.bron")
    assert banner(maire_bron) == (1, ["intrusion"]), "the banner counts what runs on the cameras one watches"
    assert maire_bron.get(f"/api/activations/{activation}").status_code == 200
    refused = maire_bron.post(f"/api/activations/{activation}/revoke", json={"reason": "vu de Bron"})
    assert refused.status_code == 403 and "villeurbanne" in refused.json()["error"]["message"]
    assert actions(world, "maire.bron")[-1] == "access.denied"
    released = maire_bron.post("/api/stops/release", json={"camera_id": "vil-1", "reason": "vu de Bron"})
    assert released.status_code == 403


def test_a_request_names_only_cameras_one_sees_and_follows_the_governance_rules(world: World) -> None:
    supervisor = login(world, "sup.vil")
    for cameras in (["vil-1", "bron-1"], ["no-such-camera"]):
        hidden = supervisor.post("/api/activations", json=activation_body(camera_ids=cameras))
        assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
    refusals = [e for e in world.audit.events if e.action is AuditAction.ACTIVATION_REFUSED]
    assert [e.details["cameras"] for e in refusals] == [["bron-1"], ["no-such-camera"]]

    no_law = supervisor.post("/api/activations", json=activation_body(module="loitering", dpia_reference=""))
    assert no_law.status_code == 422 and no_law.json()["error"]["code"] == "refused"
    codes = {d["code"] for d in no_law.json()["error"]["details"]}
    assert codes == {"framework_does_not_authorise", "missing_dpia"}
    after_law = supervisor.post("/api/activations", json=activation_body(ends_at="2028-01-15T00:00:00+01:00"))
    assert [d["code"] for d in after_law.json()["error"]["details"]] == ["end_after_framework"]
    naive = supervisor.post("/api/activations", json=activation_body(starts_at="2026-11-28T12:00:00"))
    assert naive.status_code == 422 and naive.json()["error"]["code"] == "invalid_request"
    assert [d["field"] for d in naive.json()["error"]["details"]] == ["body.starts_at"]
    assert login(world, "op.vil").post("/api/activations", json=activation_body()).status_code == 403
    no_run = supervisor.post("/api/activations", json=activation_body(calibration_seq=12))  # L32: no such run
    assert [d["code"] for d in no_run.json()["error"]["details"]] == ["unknown_calibration"]
    assert supervisor.get("/api/governance").json()["activations"]["total"] == 0, "nothing refused was stored"


def test_revocation_takes_effect_at_once(world: World) -> None:
    activation = activated(world)
    dpo = login(world, "dpo.vil")
    assert dpo.post(f"/api/activations/{activation}/revoke", json={"reason": ""}).status_code == 422
    assert login(world, "op.vil").post(f"/api/activations/{activation}/revoke", json={"reason": "x"}).status_code == 403
    revoked = dpo.post(f"/api/activations/{activation}/revoke", json={"reason": "fin du marché de Noël"})
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked"
    assert revoked.json()["revocation"]["by"] == "dpo.vil" and revoked.json()["revocation"]["role"] == "dpo"
    assert banner(login(world, "op.vil")) == (0, [])
    again = dpo.post(f"/api/activations/{activation}/revoke", json={"reason": "encore"})
    assert again.status_code == 422 and again.json()["error"]["details"][0]["code"] == "already_revoked"
    late = login(world, "maire.vil").post(f"/api/activations/{activation}/approve")
    assert late.status_code == 422 and late.json()["error"]["details"][0]["code"] == "activation_revoked"
    assert actions(world, "dpo.vil")[-2:] == ["activation.revoked", "activation.refused"]


def test_a_camera_stop_is_engaged_by_an_operator_and_released_only_by_an_approving_role(world: World) -> None:
    operator = login(world, "op.vil")
    engaged = operator.post("/api/stops", json={"camera_id": "vil-1", "reason": "comportement anormal du module"})
    assert engaged.status_code == 200
    assert {k: engaged.json()[k] for k in ("camera_id", "engaged", "by", "role")} == {
        "camera_id": "vil-1",
        "engaged": True,
        "by": "op.vil",
        "role": "operator",
    }
    assert [s["camera_id"] for s in operator.get("/api/governance").json()["camera_stops"]] == ["vil-1"]
    assert login(world, "op.bron").get("/api/governance").json()["camera_stops"] == [], "not Bron's camera"
    foreign = login(world, "op.bron").post("/api/stops", json={"camera_id": "vil-1", "reason": "essai"})
    assert foreign.status_code == 404
    foreign_audit = [e for e in world.audit.events if e.actor == "op.bron" and e.action is AuditAction.STOP_ENGAGED]
    assert [(e.target, e.details["accepted"]) for e in foreign_audit] == [("stop:camera:vil-1", False)]

    refused = operator.post("/api/stops/release", json={"camera_id": "vil-1", "reason": "fini"})
    assert refused.status_code == 403 and actions(world, "op.vil")[-1] == "access.denied"
    released = login(world, "dpo.vil").post("/api/stops/release", json={"camera_id": "vil-1", "reason": "réglé"})
    assert released.status_code == 200 and released.json()["engaged"] is False
    assert operator.get("/api/governance").json()["camera_stops"] == []
    assert [str(e.action) for e in world.audit.events if e.target == "stop:camera:vil-1"] == [
        "stop.engaged",
        "stop.engaged",
        "stop.released",
    ]


def test_the_global_stop_is_for_approving_roles_and_everyone_sees_it(world: World) -> None:
    operator = login(world, "op.vil")
    refused = operator.post("/api/stops", json={"camera_id": None, "reason": "tout arrêter"})
    assert refused.status_code == 403 and "global stop" in refused.json()["error"]["message"]
    assert operator.post("/api/stops", json={"reason": "camera_id omitted"}).status_code == 422, "never implicit"
    engaged = login(world, "maire.vil").post("/api/stops", json={"camera_id": None, "reason": "incident national"})
    assert engaged.status_code == 200 and engaged.json()["camera_id"] is None
    seen = login(world, "op.bron").get("/api/governance").json()["global_stop"]
    assert seen is not None and seen["by"] == "maire.vil" and seen["reason"] == "incident national"
    release = {"camera_id": None, "reason": "levée"}
    assert operator.post("/api/stops/release", json=release).status_code == 403
    assert login(world, "dpo.vil").post("/api/stops/release", json=release).json()["engaged"] is False
    assert operator.get("/api/governance").json()["global_stop"] is None


def test_the_catalogue_says_what_could_be_activated_on_ones_own_cameras(world: World) -> None:
    body = login(world, "sup.vil").get("/api/governance/catalogue").json()
    modules = {m["id"]: m for m in body["modules"]}
    assert (modules["intrusion"]["approvable"], modules["intrusion"]["cameras"]) == (True, ["vil-1", "vil-2"])
    assert modules["motion"]["cameras"] == ["vil-2"], "motion detection: transit, never public streets"
    assert modules["loitering"]["approvable"] is False, "no framework for loitering on public streets (L24)"
    assert modules["plate_reading"]["approvable"] is False, "plate reading is for state tenants (L34)"
    frameworks = {f["id"]: f for f in body["frameworks"]}
    assert frameworks["loi-2023-380-art10"]["in_force"] is False
    assert frameworks[FRAMEWORK_2027]["in_force"] is True and frameworks[FRAMEWORK_2027]["ends_on"] == "2027-12-31"
    assert set(modules["intrusion"]["frameworks"]) >= {FRAMEWORK_2027, "site-prive"}
    bron = {m["id"]: m for m in login(world, "op.bron").get("/api/governance/catalogue").json()["modules"]}
    assert bron["intrusion"]["cameras"] == ["bron-1"], "one's own commune's cameras only"


def test_pages_of_activations_and_state_filter(world: World) -> None:
    ids = [requested(world) for _ in range(3)]
    client = login(world, "auditor.vil")
    first = client.get("/api/governance", params={"limit": 2}).json()["activations"]
    assert [a["id"] for a in first["items"]] == [ids[2], ids[1]] and first["next_offset"] == 2
    second = client.get("/api/governance", params={"limit": 2, "offset": 2}).json()["activations"]
    assert [a["id"] for a in second["items"]] == [ids[0]] and second["next_offset"] is None
    assert client.get("/api/governance", params={"state": "active"}).json()["activations"]["total"] == 0
    assert client.get("/api/governance", params={"state": "maybe"}).status_code == 422
    assert client.get("/api/governance", params={"limit": 0}).status_code == 422


# (method, path, body) of each governance operation; {id} is an activation requested by sup.vil.
OPERATIONS = {
    "status": ("GET", "/api/governance", None),
    "catalogue": ("GET", "/api/governance/catalogue", None),
    "read": ("GET", "/api/activations/{id}", None),
    "request": ("POST", "/api/activations", activation_body()),
    "approve": ("POST", "/api/activations/{id}/approve", None),
    "revoke": ("POST", "/api/activations/{id}/revoke", {"reason": "essai"}),
    "engage": ("POST", "/api/stops", {"camera_id": "vil-2", "reason": "essai"}),
    "release": ("POST", "/api/stops/release", {"camera_id": "vil-2", "reason": "essai"}),
}
READERS = {"status", "catalogue", "read"}
ALLOWED = {
    "op.vil": READERS | {"engage"},
    "sup.vil": READERS | {"request", "engage"},
    "inv.vil": READERS,
    "dpo.vil": READERS | {"request", "approve", "revoke", "engage", "release"},
    "auditor.vil": READERS,
    "maire.vil": READERS | {"approve", "revoke", "engage", "release"},
    "admin.vil": READERS,
}


@pytest.mark.parametrize("username", sorted(ALLOWED))
def test_every_governance_operation_by_role(world: World, username: str) -> None:
    activation = requested(world)
    client = login(world, username)
    for name, (method, path, body) in OPERATIONS.items():
        answer = client.request(method, path.format(id=activation), json=body)
        allowed = name in ALLOWED[username]
        expected = (201 if name == "request" else 200) if allowed else 403
        assert answer.status_code == expected, f"{username} {name}: {answer.status_code} {answer.text}"
    denied = [e for e in world.audit.events if e.action is AuditAction.ACCESS_DENIED and e.actor == username]
    assert len(denied) == len(OPERATIONS) - len(ALLOWED[username]), "every refusal is audited"


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_every_governance_operation_needs_a_session(world: World, name: str) -> None:
    method, path, body = OPERATIONS[name]
    answer = world.client().request(method, path.format(id=1), json=body)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "not_authenticated"


def test_the_service_itself_keeps_communes_apart_without_any_route(world: World) -> None:
    activation = requested(world)
    governance = world.governance
    assert governance is not None
    with pytest.raises(NotVisibleError):
        governance.approve_as(world.auth.principal_for("maire.bron"), activation)
    with pytest.raises(NotVisibleError):
        governance.engage_stop_as(world.auth.principal_for("op.bron"), "vil-1", "essai")
    assert governance.status_for(world.auth.principal_for("op.bron")).total == 0


def test_the_runtime_builds_the_service_with_the_module_readiness_check(db: Engine) -> None:
    """The API and the commands get the same service: an event module without settings on the camera is refused
    before any approval (the test world leaves this check out)."""
    access = open_governance(world_config(), db, ListAuditSink(), lambda: T0)
    request = ActivationRequest(
        tenant="villeurbanne",
        module="intrusion",
        camera_ids=("vil-1",),
        framework=FRAMEWORK_2027,
        decision_number="2026-PREF-0042",
        decision_date=TODAY - timedelta(days=10),
        dpia_reference="AIPD-2026-07",
        purpose="marché de Noël",
        starts_at=T0,
        ends_at=T0 + timedelta(days=7),
        requested_by="sup.vil",
        requested_role="supervisor",
    )
    outcome = access.service.request(request)
    # sup.vil is not an account of this bare database: the wired service checks that too.
    assert not outcome.accepted and [r.code for r in outcome.refusals] == ["unknown_account", "module_not_configured"]


def test_analysis_of_simulated_footage_is_shown_to_those_who_see_the_camera(world: World) -> None:
    """``vigie demo`` analyses its generated footage without an activation: the banner must say so rather than
    "no module is active", to whoever sees those cameras, and not while a stop switch holds them."""
    from tests.support.seals import Seals
    from vigie.runtime.assembly.governance import account_roles, audit_entry
    from vigie.services.governance_access import GovernanceAccess
    from vigie.storage.governance import SqlGovernanceStore

    SEALS = Seals()
    access = GovernanceAccess(
        SqlGovernanceStore(world.engine),
        catalogue=world.governance.catalogue,
        config=world_config(),
        audit=world.audit,
        clock=world.clock,
        sealer=SEALS.sealer,
        verifier=SEALS.verifier,
        accounts=account_roles(world.engine),
        audit_entry=audit_entry(world.engine),
        simulated={"vil-1": ("motion", "fire_start")},
    )
    operator = world.auth.principal_for("op.vil")
    assert access.status_for(operator).simulated == (("vil-1", ("motion", "fire_start")),)
    assert access.status_for(world.auth.principal_for("op.bron")).simulated == ()
    access.engage_stop_as(operator, "vil-1", "incident")
    assert access.status_for(operator).simulated == ()
