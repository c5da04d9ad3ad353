"""Single sign-on against a real OpenID Provider (panva's oidc-provider under node): the whole browser round trip
(Vigie → provider's login and consent pages → Vigie's callback → session), who is refused (unknown identity,
disabled account, DPO without a second factor, a replayed or forged answer, a provider that refuses), and ID
tokens the provider's published keys would accept but whose claims are wrong. Vigie runs on a real HTTP server:
the provider sends the client back to it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from sqlalchemy import Engine

from tests.api.world import World, build_world
from tests.oidc.provider import signing_key
from tests.support.servers import free_port, serving
from tests.support.sign_on import LABEL, SECRET, Stack, oidc_client, sign_on_factory
from vigie.domain.actor import Actor
from vigie.domain.audit import AuditAction
from vigie.services.oidc import SignOnError


@pytest.fixture
def world(db: Engine, stack: Stack) -> World:
    return build_world(db, oidc=sign_on_factory(stack.provider.issuer))


@pytest.fixture
def server(world: World, stack: Stack) -> Iterator[str]:
    with serving(world.client().app, stack.vigie_port):
        yield stack.base


def browser() -> httpx.Client:
    """One cookie jar for both servers, following redirects: what a browser does."""
    return httpx.Client(timeout=10, follow_redirects=True)


def sign_on(base: str, issuer: str, login: str, *, mfa: bool = False, consent: bool = True) -> tuple[httpx.Client, str]:
    """Click "log in with the provider", type ``login`` there, allow; the browser and where Vigie sent it last."""
    client = browser()
    page = client.get(f"{base}/api/auth/oidc/login")
    assert page.status_code == 200 and page.url.path.startswith("/interaction/"), page.text
    assert str(page.url).startswith(issuer)
    page = client.post(f"{issuer}{page.url.path}/login", data={"login": login} | ({"mfa": "1"} if mfa else {}))
    assert page.status_code == 200 and "confirm" in page.text, page.text
    final = client.post(f"{issuer}{page.url.path}/{'confirm' if consent else 'abort'}")
    return client, callback_answer(final)


def callback_answer(final: httpx.Response) -> str:
    """Where Vigie's callback sent the browser (its Location header)."""
    answers = [r for r in final.history if r.url.path == "/api/auth/oidc/callback"]
    assert len(answers) == 1, [str(r.url) for r in final.history]
    assert answers[0].status_code == 302
    return answers[0].headers["location"]


def audited(world: World, action: AuditAction) -> list[tuple[str, str, dict[str, Any]]]:
    return [(e.actor, e.target, dict(e.details)) for e in world.audit.events if e.action is action]


def failures(world: World) -> list[dict[str, Any]]:
    return [details for _, _, details in audited(world, AuditAction.LOGIN_FAILED)]


# --- the round trip ---------------------------------------------------------------------------------------------


def test_an_operator_signs_on_through_the_provider_and_lands_in_the_console(
    world: World, server: str, stack: Stack
) -> None:
    client = browser()
    start = client.get(f"{server}/api/auth/oidc/login", follow_redirects=False)
    assert start.status_code == 302
    to_provider = urlsplit(start.headers["location"])
    query = {k: v[0] for k, v in parse_qs(to_provider.query).items()}
    assert f"{to_provider.scheme}://{to_provider.netloc}" == stack.provider.issuer
    assert query["client_id"] == "vigie" and query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["redirect_uri"] == f"{server}/api/auth/oidc/callback"
    assert query["scope"] == "openid profile email" and query["state"] and query["nonce"]
    cookie = start.headers["set-cookie"].lower()
    assert cookie.startswith("vigie_oidc=") and "httponly" in cookie and "samesite=lax" in cookie
    assert "path=/api/auth/oidc" in cookie and "max-age=600" in cookie

    client, location = sign_on(server, stack.provider.issuer, "op.vil")
    assert location == "/"
    me = client.get(f"{server}/api/auth/me")
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "op.vil" and me.json()["csrf_token"]
    assert "vigie_oidc" not in client.cookies, "the sign-on cookie is dropped once used"
    (succeeded,) = audited(world, AuditAction.LOGIN_SUCCEEDED)
    assert succeeded == ("op.vil", "user:op.vil", {"client": "127.0.0.1", "method": "oidc", "second_factor": False})
    # the session is a normal one: CSRF-protected actions work, logout ends it
    logout = client.post(f"{server}/api/auth/logout", headers={"X-CSRF-Token": me.json()["csrf_token"]})
    assert logout.status_code == 204
    assert client.get(f"{server}/api/auth/me").status_code == 401


def test_the_session_cookie_is_the_password_logins_one(world: World, server: str, stack: Stack) -> None:
    client = browser()
    page = client.get(f"{server}/api/auth/oidc/login")
    page = client.post(f"{stack.provider.issuer}{page.url.path}/login", data={"login": "sup.vil"})
    final = client.post(f"{stack.provider.issuer}{page.url.path}/confirm")
    (answer,) = [r for r in final.history if r.url.path == "/api/auth/oidc/callback"]
    cookies = [c.lower() for c in answer.headers.get_list("set-cookie")]
    session = next(c for c in cookies if c.startswith("vigie_session="))
    assert "httponly" in session and "samesite=strict" in session and "path=/" in session
    assert any(c.startswith("vigie_oidc=") and "max-age=0" in c for c in cookies)
    assert answer.headers["cache-control"] == "no-store"
    trace = json.dumps([dict(e.details) for e in world.audit.events])
    code = parse_qs(urlsplit(str(answer.url)).query)["code"][0]
    assert code not in trace and SECRET not in trace, "no code nor secret in the audit log"


def test_a_dpo_needs_the_providers_second_factor(world: World, server: str, stack: Stack) -> None:
    client, location = sign_on(server, stack.provider.issuer, "dpo.vil")
    assert location == "/#/login?error=second_factor_required"
    assert "vigie_session" not in client.cookies
    assert failures(world)[-1] == {"reason": "second_factor_missing", "client": "127.0.0.1", "method": "oidc"}

    client, location = sign_on(server, stack.provider.issuer, "dpo.vil", mfa=True)
    assert location == "/"
    assert client.get(f"{server}/api/auth/me").json()["username"] == "dpo.vil"
    assert audited(world, AuditAction.LOGIN_SUCCEEDED)[-1][2]["second_factor"] is True


def test_an_identity_without_a_vigie_account_is_refused_never_created(world: World, server: str, stack: Stack) -> None:
    client, location = sign_on(server, stack.provider.issuer, "jean.inconnu")
    assert location == "/#/login?error=unknown_user"
    assert "vigie_session" not in client.cookies
    assert not world.auth.principal_exists("jean.inconnu")
    assert audited(world, AuditAction.LOGIN_FAILED) == [
        (
            "anonymous",
            "user:unknown",
            {"reason": "unknown_user", "client": "127.0.0.1", "method": "oidc", "identity": "jean.inconnu"},
        )
    ]


def test_a_disabled_account_is_refused(world: World, server: str, stack: Stack) -> None:
    world.auth.update_user(Actor.command_line("setup"), "op.bron", disabled=True)
    client, location = sign_on(server, stack.provider.issuer, "op.bron")
    assert location == "/#/login?error=disabled"
    assert "vigie_session" not in client.cookies
    assert failures(world)[-1]["reason"] == "disabled"


def test_a_refusal_at_the_provider_is_refused_and_audited(world: World, server: str, stack: Stack) -> None:
    client, location = sign_on(server, stack.provider.issuer, "op.vil", consent=False)
    assert location == "/#/login?error=provider_refused"
    assert "vigie_session" not in client.cookies
    assert failures(world)[-1]["problem"] == "provider error access_denied"


# --- replayed, forged, late answers -----------------------------------------------------------------------------


def test_a_replayed_callback_is_refused(world: World, server: str, stack: Stack) -> None:
    client = browser()
    page = client.get(f"{server}/api/auth/oidc/login")
    page = client.post(f"{stack.provider.issuer}{page.url.path}/login", data={"login": "op.vil"})
    final = client.post(f"{stack.provider.issuer}{page.url.path}/confirm")
    (answer,) = [r for r in final.history if r.url.path == "/api/auth/oidc/callback"]
    assert answer.headers["location"] == "/"
    # the same answer again, from the same browser with the sign-on cookie put back, and from another browser
    other = httpx.Client(timeout=10)
    for replay in (client, other):
        replay.cookies.set("vigie_oidc", answer.request.headers["cookie"].split("vigie_oidc=")[1].split(";")[0])
        again = replay.get(str(answer.url), follow_redirects=False)
        assert again.status_code == 302 and again.headers["location"] == "/#/login?error=expired"
    assert [f["reason"] for f in failures(world)] == ["expired", "expired"]
    assert len(audited(world, AuditAction.LOGIN_SUCCEEDED)) == 1


def test_a_forged_state_or_a_missing_cookie_is_refused(world: World, server: str, stack: Stack) -> None:
    client = browser()
    start = client.get(f"{server}/api/auth/oidc/login", follow_redirects=False)
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    forged = client.get(f"{server}/api/auth/oidc/callback", params={"code": "x", "state": state + "x"})
    assert forged.history[0].headers["location"] == "/#/login?error=state"
    # the flow is spent: even the right state no longer works
    late = client.get(f"{server}/api/auth/oidc/callback", params={"code": "x", "state": state})
    assert late.history[0].headers["location"] == "/#/login?error=expired"
    # a callback link sent to someone else (login CSRF): no sign-on cookie, refused
    stranger = httpx.Client(timeout=10)
    attempt = stranger.get(f"{server}/api/auth/oidc/callback", params={"code": "x", "state": state})
    assert attempt.headers["location"] == "/#/login?error=expired"
    assert [f["reason"] for f in failures(world)] == ["state", "expired", "expired"]
    assert not audited(world, AuditAction.LOGIN_SUCCEEDED)


def test_an_answer_naming_another_issuer_is_refused(world: World, server: str, stack: Stack) -> None:
    """RFC 9207: the provider names itself in its answer; an answer from another one (mix-up attack) is refused
    even with the right state."""
    client = browser()
    start = client.get(f"{server}/api/auth/oidc/login", follow_redirects=False)
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    params = {"code": "x", "state": state, "iss": "https://autre-fournisseur.example"}
    answer = client.get(f"{server}/api/auth/oidc/callback", params=params, follow_redirects=False)
    assert answer.headers["location"] == "/#/login?error=state"
    assert failures(world)[-1]["problem"] == "iss mismatch"


def test_a_sign_on_left_too_long_expires(world: World, server: str, stack: Stack) -> None:
    client = browser()
    page = client.get(f"{server}/api/auth/oidc/login")
    world.clock.advance(minutes=11)
    page = client.post(f"{stack.provider.issuer}{page.url.path}/login", data={"login": "op.vil"})
    final = client.post(f"{stack.provider.issuer}{page.url.path}/confirm")
    assert callback_answer(final) == "/#/login?error=expired"
    assert "vigie_session" not in client.cookies


# --- ID tokens the provider's keys accept, with wrong claims ------------------------------------------------------


def forge(stack: Stack, **claims: Any) -> str:
    now = int(time.time())
    base = {"iss": stack.provider.issuer, "aud": "vigie", "sub": "op.vil", "iat": now, "exp": now + 300, "nonce": "n1"}
    payload = {k: v for k, v in (base | claims).items() if v is not None}
    return jwt.encode({"alg": "RS256", "kid": stack.provider.key.kid}, payload, stack.provider.key)


@pytest.mark.parametrize(
    ("claims", "problem"),
    [
        ({"iss": "https://autre-fournisseur.example"}, "InvalidClaimError: iss"),
        ({"aud": "another-app"}, "InvalidClaimError: aud"),
        ({"aud": ["vigie", "another-app"], "azp": "another-app"}, "azp"),
        ({"nonce": "replayed-nonce"}, "InvalidClaimError: nonce"),
        ({"nonce": None}, "MissingClaimError: nonce"),
        ({"exp": int(time.time()) - 3600}, "ExpiredTokenError: exp"),
    ],
)
def test_id_tokens_with_wrong_claims_are_refused(stack: Stack, claims: dict[str, Any], problem: str) -> None:
    client = oidc_client(stack.provider.issuer)
    assert client.verify_id_token(forge(stack), nonce="n1")["sub"] == "op.vil"  # the forge itself is sound
    with pytest.raises(SignOnError) as refused:
        client.verify_id_token(forge(stack, **claims), nonce="n1")
    assert refused.value.code == "invalid_token" and refused.value.problem == problem


def test_an_id_token_signed_by_another_key_is_refused(stack: Stack) -> None:
    intruder = signing_key(stack.provider.key.kid or "")
    token = jwt.encode(
        {"alg": "RS256", "kid": intruder.kid},
        {"iss": stack.provider.issuer, "aud": "vigie", "sub": "op.vil", "iat": 1, "exp": 2**40, "nonce": "n1"},
        intruder,
    )
    with pytest.raises(SignOnError) as refused:
        oidc_client(stack.provider.issuer).verify_id_token(token, nonce="n1")
    assert refused.value.problem == "BadSignatureError"
    unsigned = token.rsplit(".", 1)[0] + "."
    with pytest.raises(SignOnError):
        oidc_client(stack.provider.issuer).verify_id_token(unsigned, nonce="n1")


# --- without a provider -------------------------------------------------------------------------------------------


def test_methods_say_whether_single_sign_on_is_offered(db: Engine) -> None:
    without = build_world(db).client()
    assert without.get("/api/auth/methods").json() == {"password": True, "oidc": None}
    refused = without.get("/api/auth/oidc/login", follow_redirects=False)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
    assert without.get("/api/auth/oidc/callback?code=x&state=y").status_code == 404


def test_an_unreachable_provider_sends_back_to_the_login_page(db: Engine) -> None:
    world = build_world(db, oidc=sign_on_factory(f"http://127.0.0.1:{free_port()}"))
    client = world.client()
    assert client.get("/api/auth/methods").json()["oidc"] == {"label": LABEL, "url": "/api/auth/oidc/login"}
    start = client.get("/api/auth/oidc/login", follow_redirects=False)
    assert start.status_code == 302 and start.headers["location"] == "/#/login?error=provider_unreachable"
    assert failures(world) == [
        {
            "reason": "provider_unreachable",
            "client": "testclient",
            "method": "oidc",
            "problem": "discovery document: ConnectError",
        }
    ]
