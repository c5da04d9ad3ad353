"""Roles and tenants on every resource (L8–L10): a person sees their own commune's cameras and what another
commune shares with them by a recorded agreement, never more; roles decide what they may do. Another tenant's
camera, event or alert answers exactly like one that does not exist (404), so its existence does not leak."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from tests.api.world import T0, TODAY, World, build_world
from vigie.domain.alerts import AlertState
from vigie.domain.audit import AuditAction
from vigie.domain.geometry import Box
from vigie.domain.observation import Event, Observation
from vigie.domain.users import Role
from vigie.storage import SqlAlertRepo
from vigie.storage.repositories import SqlEventRepo


@pytest.fixture
def world(db: Engine) -> World:
    world = build_world(db)
    events = SqlEventRepo(db)
    for i, camera in enumerate(["vil-1", "vil-2", "bron-1", "pn-1"]):
        start = T0 + timedelta(minutes=i)
        events.add(Event(camera, "motion", "motion", start, start + timedelta(seconds=5), Box(0.1, 0.1, 0.2, 0.2), 0.5))
        world.alerts.raise_alert(
            Observation(camera, "intrusion", "intrusion", start, (Box(0.1, 0.1, 0.2, 0.2),), 0.9, "m@sha256:ab")
        )
    return world


def alert_id(world: World, camera: str) -> int:
    found = [a for a in SqlAlertRepo(world.engine).list() if a.camera_id == camera]
    assert found and found[0].id is not None
    return found[0].id


def test_cameras_events_alerts_and_communes_are_scoped_to_the_tenant(world: World) -> None:
    vil, bron = world.login("op.vil"), world.login("op.bron")
    assert {c["id"] for c in vil.get("/api/cameras").json()} == {"vil-1", "vil-2"}
    assert {c["id"] for c in bron.get("/api/cameras").json()} == {"bron-1"}
    assert {e["camera_id"] for e in vil.get("/api/events").json()["items"]} == {"vil-1", "vil-2"}
    assert {a["camera_id"] for a in vil.get("/api/alerts").json()["items"]} == {"vil-1", "vil-2"}
    assert {a["camera_id"] for a in bron.get("/api/alerts").json()["items"]} == {"bron-1"}
    assert [c["id"] for c in vil.get("/api/communes").json()] == ["villeurbanne"]
    assert {s["camera_id"] for s in vil.get("/api/alerts/statistics").json()} == {"vil-1", "vil-2"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/events?camera_id=bron-1",
        "/api/alerts?camera_id=bron-1",
        "/api/alerts/{bron_alert}",
    ],
)
def test_another_tenants_things_look_like_nothing(world: World, path: str) -> None:
    client = world.login("op.vil")
    answer = client.get(path.format(bron_alert=alert_id(world, "bron-1")))
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    missing = client.get(path.replace("bron-1", "no-such-camera").format(bron_alert=10_000))
    assert missing.status_code == 404 and missing.json()["error"]["message"].split()[0] == "no"


def test_an_operator_cannot_decide_another_communes_alert(world: World) -> None:
    client = world.login("op.vil")
    target = alert_id(world, "bron-1")
    assert client.post(f"/api/alerts/{target}/confirm", json={}).status_code == 404
    assert client.post(f"/api/alerts/{target}/dismiss", json={"verdict": "false_positive"}).status_code == 404
    assert SqlAlertRepo(world.engine).get(target).state is AlertState.PENDING  # type: ignore[union-attr]


def test_a_sharing_agreement_opens_the_owners_cameras_while_in_force(world: World) -> None:
    operator = world.login("op.vil")
    admin_bron = world.login("admin.bron")
    body = {
        "partner_commune": "villeurbanne",
        "reference": "Convention 2026-14",
        "starts_on": TODAY.isoformat(),
        "ends_on": (TODAY + timedelta(days=30)).isoformat(),
    }
    created = admin_bron.post("/api/sharing-agreements", json=body)
    assert created.status_code == 201 and created.json()["in_force"] is True
    assert {c["id"] for c in operator.get("/api/cameras").json()} == {"vil-1", "vil-2", "bron-1"}
    communes = {c["id"]: c["own"] for c in operator.get("/api/communes").json()}
    assert communes == {"villeurbanne": True, "bron": False}
    assert operator.get(f"/api/alerts/{alert_id(world, 'bron-1')}").status_code == 200
    assert {c["id"] for c in world.login("op.bron").get("/api/cameras").json()} == {"bron-1"}, "one-way"
    assert any(e.action is AuditAction.SHARING_RECORDED for e in world.audit.events)

    revoked = admin_bron.post(f"/api/sharing-agreements/{created.json()['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["in_force"] is False
    assert {c["id"] for c in world.login("op.vil").get("/api/cameras").json()} == {"vil-1", "vil-2"}


def test_an_agreement_past_its_end_shares_nothing(world: World) -> None:
    admin_bron = world.login("admin.bron")
    body = {
        "partner_commune": "villeurbanne",
        "reference": "Convention 2026-15",
        "starts_on": TODAY.isoformat(),
        "ends_on": TODAY.isoformat(),
    }
    assert admin_bron.post("/api/sharing-agreements", json=body).status_code == 201
    assert len(world.login("op.vil").get("/api/cameras").json()) == 3
    world.clock.advance(days=1)
    assert len(world.login("op.vil").get("/api/cameras").json()) == 2


def test_administrators_manage_only_their_own_tenant(world: World) -> None:
    admin = world.login("admin.vil")
    listed = {u["username"] for u in admin.get("/api/users").json()}
    assert "op.vil" in listed and "op.bron" not in listed and "admin.bron" not in listed
    assert admin.patch("/api/users/op.bron", json={"disabled": True}).status_code == 404
    created = admin.post(
        "/api/users",
        json={
            "username": "new.op",
            "display_name": "Nadia Operatrice",
            "roles": ["operator"],
            "password": "a long enough phrase",
            "authorised_until": (TODAY + timedelta(days=90)).isoformat(),
            "trained_on": TODAY.isoformat(),
        },
    )
    assert created.status_code == 201 and created.json()["user"]["commune_id"] == "villeurbanne"
    assert created.json()["totp_uri"] is None
    dpo = admin.post(
        "/api/users",
        json={"username": "new.dpo", "display_name": "Denis Dpo", "roles": ["dpo"], "password": "a long enough phrase"},
    )
    assert dpo.json()["totp_uri"].startswith("otpauth://totp/")
    malformed = admin.post("/api/users", json={"username": "x y", "display_name": "X", "roles": ["king"]})
    assert malformed.status_code == 422
    assert {d["field"] for d in malformed.json()["error"]["details"]} >= {
        "body.username",
        "body.roles.0",
        "body.password",
    }
    duplicate = admin.post(
        "/api/users",
        json={"username": "NEW.op", "display_name": "Other", "roles": ["operator"], "password": "a long enough phrase"},
    )
    assert duplicate.status_code == 422 and "exists already" in duplicate.json()["error"]["message"]


# (method, path, body) for each resource; {vil_alert} is an alert of a Villeurbanne camera.
RESOURCES = {
    "cameras": ("GET", "/api/cameras", None),
    "events": ("GET", "/api/events", None),
    "communes": ("GET", "/api/communes", None),
    "alerts": ("GET", "/api/alerts", None),
    "alert_stats": ("GET", "/api/alerts/statistics", None),
    "confirm": ("POST", "/api/alerts/{vil_alert}/confirm", {"note": "vu"}),
    "users": ("GET", "/api/users", None),
    "agreements": ("GET", "/api/sharing-agreements", None),
    "cases": ("GET", "/api/cases", None),
}
ALLOWED = {
    "op.vil": {"cameras", "events", "communes", "alerts", "alert_stats", "confirm", "agreements"},
    "sup.vil": {"cameras", "events", "communes", "alerts", "alert_stats", "confirm", "agreements"},
    "inv.vil": {"cameras", "events", "communes", "agreements", "cases"},
    "dpo.vil": {"cameras", "events", "communes", "alerts", "alert_stats", "agreements", "cases"},
    "auditor.vil": {"cameras", "events", "communes", "agreements", "cases"},
    "maire.vil": {"cameras", "events", "communes", "alerts", "alert_stats", "agreements"},
    "admin.vil": {"cameras", "events", "communes", "users", "agreements"},
}


@pytest.mark.parametrize("username", sorted(ALLOWED))
def test_every_resource_by_role(world: World, username: str) -> None:
    client = world.login(username)
    for name, (method, path, body) in RESOURCES.items():
        url = path.format(vil_alert=alert_id(world, "vil-1"))
        answer = client.request(method, url, json=body)
        expected = 200 if name in ALLOWED[username] else 403
        assert answer.status_code == expected, f"{username} {method} {url}: {answer.status_code} {answer.text}"
        if expected == 403:
            assert answer.json()["error"]["code"] == "forbidden"
    denied = [e for e in world.audit.events if e.action is AuditAction.ACCESS_DENIED and e.actor == username]
    assert len(denied) == len(RESOURCES) - len(ALLOWED[username]), "every refusal is audited"


@pytest.mark.parametrize("name", sorted(RESOURCES))
def test_every_resource_needs_a_session(world: World, name: str) -> None:
    method, path, body = RESOURCES[name]
    answer = world.client().request(method, path.format(vil_alert=1), json=body)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "not_authenticated"


def test_the_public_page_lists_cameras_without_login_and_without_health(world: World) -> None:
    cameras = world.client().get("/api/public/cameras").json()
    assert {c["id"] for c in cameras} == {"vil-1", "vil-2", "bron-1", "pn-1"}
    public = {"id", "name", "commune_id", "site_id", "kind", "address"}
    authorisation = {"authorisation", "authorisation_reference", "authorised_until"}  # a published decision (L1)
    assert all(set(c) == public | authorisation for c in cameras)


def test_the_roles_and_what_they_allow_are_readable_by_anyone_logged_in(world: World) -> None:
    assert world.client().get("/api/roles").status_code == 401
    roles = {r["role"]: r for r in world.login("op.vil").get("/api/roles").json()}
    assert set(roles) == {r.value for r in Role}
    assert "view_live" in roles["operator"]["permissions"] and roles["operator"]["video"] is True
    assert "export" not in roles["operator"]["permissions"]
    assert roles["dpo"]["second_factor"] is True and roles["dpo"]["video"] is True  # access requests (L19)
    assert roles["administrator"]["permissions"] == [
        "manage_integrations",
        "manage_site_plans",
        "manage_users",
        "read_governance",
        "view_cameras",
    ]


def test_every_tenants_name_is_listed_for_agreements_but_only_ones_own_sites(world: World) -> None:
    client = world.login("admin.vil")
    own = client.get("/api/communes").json()
    assert [c["id"] for c in own] == ["villeurbanne"]
    every = {c["id"]: c for c in client.get("/api/communes", params={"all": "true"}).json()}
    assert set(every) == {"villeurbanne", "bron", "police-nationale"}
    assert every["bron"]["sites"] == [] and every["villeurbanne"]["sites"] == ["centre"]
