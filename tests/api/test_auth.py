"""Logging in (L8, L11, L17): argon2id passwords, TOTP for administrators and DPOs, throttling (more in
test_login_throttling.py), session cookies, CSRF, logout — every success and failure audited, never a password,
code or token in the audit log."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine

from tests.api.world import PASSWORD, World, build_world
from vigie.domain.actor import Actor
from vigie.domain.audit import AuditAction
from vigie.services.auth import AccountError, LoginRefusedError
from vigie.services.credentials import totp_code
from vigie.services.login_throttle import THROTTLE_AFTER
from vigie.storage import SqlUserRepo


@pytest.fixture
def world(db: Engine) -> World:
    return build_world(db)


def audit_text(world: World) -> str:
    return json.dumps([(e.actor, e.action.value, e.target, dict(e.details)) for e in world.audit.events])


def test_login_sets_a_strict_httponly_cookie_and_is_audited(world: World) -> None:
    client = world.client()
    response = client.post("/api/auth/login", json={"username": "OP.vil", "password": PASSWORD})
    assert response.status_code == 200
    me = response.json()
    assert me["username"] == "op.vil" and me["roles"] == ["operator"] and me["video_access"] is True
    assert "decide_alerts" in me["permissions"] and "export" not in me["permissions"]
    cookie = response.headers["set-cookie"]
    assert "vigie_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    token = cookie.split("vigie_session=")[1].split(";")[0]
    assert client.get("/api/auth/me").json()["username"] == "op.vil"
    logins = [e for e in world.audit.events if e.action is AuditAction.LOGIN_SUCCEEDED]
    assert [e.actor for e in logins] == ["op.vil"]
    text = audit_text(world)
    assert PASSWORD not in text and token not in text
    assert SqlUserRepo(world.engine).by_username("op.vil").password_hash.startswith("$argon2id$")  # type: ignore[union-attr]


def test_wrong_password_and_unknown_user_get_the_same_answer(world: World) -> None:
    client = world.client()
    wrong = client.post("/api/auth/login", json={"username": "op.vil", "password": "not the password at all"})
    unknown = client.post("/api/auth/login", json={"username": PASSWORD, "password": "whatever it is"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"] == unknown.json()["error"]
    assert wrong.json()["error"]["code"] == "invalid_credentials"
    failures = [e for e in world.audit.events if e.action is AuditAction.LOGIN_FAILED]
    assert [(e.actor, e.details["reason"]) for e in failures] == [
        ("op.vil", "wrong_password"),
        ("anonymous", "unknown_user"),
    ]
    assert PASSWORD not in audit_text(world), "a password typed as a username must not reach the audit log"
    assert "set-cookie" not in wrong.headers


def test_repeated_failures_delay_the_name_then_it_may_log_in_again(world: World) -> None:
    client = world.client()
    for _ in range(THROTTLE_AFTER):
        assert (
            client.post("/api/auth/login", json={"username": "op.vil", "password": "guess guess guess"}).status_code
            == 401
        )
    delayed = client.post("/api/auth/login", json={"username": "op.vil", "password": PASSWORD})
    assert delayed.status_code == 429 and delayed.json()["error"]["code"] == "too_many_attempts"
    assert int(delayed.headers["retry-after"]) == 30
    assert any(e.details.get("throttled_until") for e in world.audit.events if e.action is AuditAction.LOGIN_FAILED)
    world.clock.advance(seconds=31)
    assert client.post("/api/auth/login", json={"username": "op.vil", "password": PASSWORD}).status_code == 200


def test_an_administrator_can_unlock_an_account(world: World) -> None:
    client = world.client()
    for _ in range(THROTTLE_AFTER):
        client.post("/api/auth/login", json={"username": "op.vil", "password": "guess guess guess"})
    assert client.post("/api/auth/login", json={"username": "op.vil", "password": PASSWORD}).status_code == 429
    admin = world.login("admin.vil")
    users = {u["username"]: u for u in admin.get("/api/users").json()}
    assert users["op.vil"]["locked"] is True
    assert admin.patch("/api/users/op.vil", json={"unlock": True}).json()["locked"] is False
    assert client.post("/api/auth/login", json={"username": "op.vil", "password": PASSWORD}).status_code == 200


def test_administrators_and_dpos_need_a_fresh_totp_code(world: World) -> None:
    client = world.client()
    body = {"username": "dpo.vil", "password": PASSWORD}
    missing = client.post("/api/auth/login", json=body)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "second_factor_required"
    wrong = client.post("/api/auth/login", json={**body, "totp": "000000"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "second_factor_wrong"
    code = totp_code(world.totp["dpo.vil"], world.clock())
    assert client.post("/api/auth/login", json={**body, "totp": code}).status_code == 200
    replay = world.client().post("/api/auth/login", json={**body, "totp": code})
    assert replay.status_code == 401, "a code is accepted once"
    world.clock.advance(seconds=30)
    later = totp_code(world.totp["dpo.vil"], world.clock())
    assert world.client().post("/api/auth/login", json={**body, "totp": later}).status_code == 200
    stored = SqlUserRepo(world.engine).by_username("dpo.vil")
    assert stored is not None and stored.totp_secret is not None
    assert world.totp["dpo.vil"] not in stored.totp_secret, "the TOTP secret is sealed at rest"
    assert code not in audit_text(world)


def test_login_attempts_are_rate_limited_per_address(db: Engine) -> None:
    world = build_world(db, login_attempts=3)
    client = world.client()
    for _ in range(3):
        client.post("/api/auth/login", json={"username": "nobody", "password": "nothing at all"})
    limited = client.post("/api/auth/login", json={"username": "op.vil", "password": PASSWORD})
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "too_many_attempts"
    assert int(limited.headers["retry-after"]) >= 1


def test_sessions_expire_when_idle_and_end_at_logout(world: World) -> None:
    client = world.login("op.vil")
    assert client.get("/api/cameras").status_code == 200
    world.clock.advance(minutes=29)
    assert client.get("/api/cameras").status_code == 200
    world.clock.advance(minutes=29)
    assert client.get("/api/cameras").status_code == 200, "activity keeps the session"
    world.clock.advance(minutes=31)
    expired = client.get("/api/cameras")
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "not_authenticated"

    client = world.login("op.vil")
    assert client.post("/api/auth/logout").status_code == 204
    assert client.get("/api/cameras").status_code == 401
    assert any(e.action is AuditAction.LOGOUT for e in world.audit.events)


def test_sessions_end_after_twelve_hours_even_when_active(world: World) -> None:
    client = world.login("op.vil")
    for _ in range(24):
        world.clock.advance(minutes=29)
        assert client.get("/api/auth/me").status_code == 200
    world.clock.advance(minutes=29)
    assert client.get("/api/auth/me").status_code == 401


def test_state_changing_requests_need_the_csrf_token(world: World) -> None:
    client = world.login("op.vil")
    token = client.headers.pop("X-CSRF-Token")
    refused = client.post("/api/auth/logout")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf"
    assert client.post("/api/auth/logout", headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.post("/api/auth/logout", headers={"X-CSRF-Token": token}).status_code == 204


def test_a_disabled_account_is_logged_out_and_cannot_log_in(world: World) -> None:
    operator = world.login("op.vil")
    admin = world.login("admin.vil")
    assert admin.patch("/api/users/op.vil", json={"disabled": True}).json()["disabled"] is True
    assert operator.get("/api/cameras").status_code == 401
    again = world.client().post("/api/auth/login", json={"username": "op.vil", "password": PASSWORD})
    assert again.status_code == 401 and again.json()["error"]["code"] == "disabled"


def test_password_change_checks_the_current_one_and_the_policy(world: World) -> None:
    client = world.login("op.vil")
    wrong = client.post("/api/auth/password", json={"current": "not mine at all", "new": "a much better phrase"})
    assert wrong.status_code == 422
    weak = client.post("/api/auth/password", json={"current": PASSWORD, "new": "short"})
    assert weak.status_code == 422 and "12 characters" in weak.json()["error"]["message"]
    assert (
        client.post("/api/auth/password", json={"current": PASSWORD, "new": "a much better phrase"}).status_code == 204
    )
    assert client.get("/api/auth/me").status_code == 401, "changing the password ends the sessions"
    assert world.client().post("/api/auth/login", json={"username": "op.vil", "password": PASSWORD}).status_code == 401
    assert world.login("op.vil", "a much better phrase").get("/api/auth/me").status_code == 200


def test_no_default_account_and_one_first_administrator(db: Engine) -> None:
    world = build_world(db)
    for username, password in [("admin", "admin"), ("admin", "password"), ("root", "root"), ("vigie", "vigie")]:
        answer = world.client().post("/api/auth/login", json={"username": username, "password": password})
        assert answer.status_code == 401
    with pytest.raises(AccountError, match="exists already"):
        world.auth.create_first_admin(
            username="boss", display_name="Chef Test", commune_id="villeurbanne", password="another long phrase"
        )


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "12 characters"),
        ("xxxxxxxxxxxxxxxx", "well-known"),
        ("changeme", "12 characters"),
        ("my name is new.user indeed", "username"),
    ],
)
def test_weak_passwords_are_refused_at_creation(world: World, password: str, problem: str) -> None:
    admin = world.login("admin.vil")
    body = {"username": "new.user", "display_name": "New User", "roles": ["operator"], "password": password}
    answer = admin.post("/api/users", json=body)
    assert answer.status_code == 422 and problem in answer.json()["error"]["message"]


def test_first_admin_on_an_empty_database(db: Engine) -> None:
    from cryptography.fernet import Fernet

    from tests.api.world import DIRECTORY, FAST_HASHER, Clock
    from tests.recording.export_samples import ListAuditSink
    from vigie.services.auth import AuthService

    audit = ListAuditSink()
    auth = AuthService(
        SqlUserRepo(db), audit, DIRECTORY, Clock(), sealing_key=Fernet.generate_key(), hasher=FAST_HASHER
    )
    created = auth.create_first_admin(
        username="Chef", display_name="Camille Chef", commune_id="villeurbanne", password="a long enough phrase"
    )
    assert created.user.username == "chef" and created.totp_uri is not None
    assert created.totp_uri.startswith("otpauth://totp/Vigie%3Achef?secret=")
    assert [e.action for e in audit.events] == [AuditAction.USER_CREATED]
    with pytest.raises(AccountError, match="no commune"):
        auth.add_user(
            Actor.command_line("chef"),
            username="x",
            display_name="X Y",
            commune_id="lyon",
            roles=[],
            password="a long enough one",
        )


def test_a_login_proven_elsewhere_follows_the_same_account_rules(world: World) -> None:
    """``login_identified`` (single sign-on): the session and its audit are the password login's, the method
    recorded; failed password logins do not delay it (the provider proved the person); refusals there never count
    towards the delay."""
    client = world.client()
    assert client.post("/api/auth/login", json={"username": "op.vil", "password": PASSWORD}).status_code == 200
    done = world.auth.login_identified(" OP.Vil ", method="oidc", second_factor=False, client="10.0.0.7")
    assert done.principal.user.username == "op.vil" and world.auth.resolve(done.token) is not None
    succeeded = [dict(e.details) for e in world.audit.events if e.action is AuditAction.LOGIN_SUCCEEDED]
    assert [(d["method"], d["second_factor"]) for d in succeeded] == [("password", False), ("oidc", False)]

    for _ in range(THROTTLE_AFTER):
        client.post("/api/auth/login", json={"username": "sup.vil", "password": "guess guess guess"})
    assert client.post("/api/auth/login", json={"username": "sup.vil", "password": PASSWORD}).status_code == 429
    assert world.auth.login_identified("sup.vil", method="oidc", second_factor=True).principal.actor == "sup.vil"
    for _ in range(THROTTLE_AFTER + 1):
        with pytest.raises(LoginRefusedError):
            world.auth.login_identified("admin.vil", method="oidc", second_factor=False)
    assert SqlUserRepo(world.engine).by_username("admin.vil").failed_logins == 0  # type: ignore[union-attr]
    last = [dict(e.details) for e in world.audit.events if e.action is AuditAction.LOGIN_FAILED][-1]
    assert last == {"reason": "second_factor_missing", "client": "", "method": "oidc"}
