"""Login throttling (issue 15, D12 and D6): a real name and a name that is none get the same answers, in the same
order, at the same cost; failures delay a name instead of locking the account; the rightful person passes the
delay with their second factor; the address limit is counted before the body is read."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine

from tests.api.world import PASSWORD, World, build_world
from tests.support.clocks import T0
from vigie.domain.audit import AuditAction
from vigie.services.auth import LoginRefusedError
from vigie.services.credentials import totp_code
from vigie.services.login_throttle import THROTTLE_AFTER, FailureRecord, LoginAttempts, delay_after
from vigie.storage import SqlUserRepo

UNKNOWN = "nobody.here"


@pytest.fixture
def world(db: Engine) -> World:
    return build_world(db)


def answer(response: httpx.Response) -> tuple[int, dict[str, Any], str | None]:
    """What a client sees of a login answer: status, error body, Retry-After."""
    return response.status_code, response.json(), response.headers.get("retry-after")


def attempt(world: World, username: str, password: str, totp: str = "") -> tuple[int, dict[str, Any], str | None]:
    body = {"username": username, "password": password} | ({"totp": totp} if totp else {})
    return answer(world.client().post("/api/auth/login", json=body))


def test_a_real_name_and_a_name_that_is_none_get_the_same_answers_through_the_delay(world: World) -> None:
    """D12: after 5 wrong passwords a real account answered `locked`, a name that is none `invalid_credentials`."""
    answers: dict[str, list[tuple[int, dict[str, Any], str | None]]] = {}
    start = world.clock()
    for name in ("op.vil", UNKNOWN):
        world.clock.now = start
        seen = [attempt(world, name, "guess guess guess") for _ in range(THROTTLE_AFTER)]
        seen.append(attempt(world, name, PASSWORD))  # the right password too is refused during the delay
        world.clock.advance(seconds=31)
        seen.append(attempt(world, name, "guess guess guess"))  # one more failure: a longer delay
        seen.append(attempt(world, name, PASSWORD))
        answers[name] = seen
    assert answers["op.vil"] == answers[UNKNOWN]
    statuses = [(status, body["error"]["code"], retry) for status, body, retry in answers["op.vil"]]
    assert statuses == [(401, "invalid_credentials", None)] * THROTTLE_AFTER + [
        (429, "too_many_attempts", "30"),
        (401, "invalid_credentials", None),
        (429, "too_many_attempts", "60"),
    ]


def test_the_delay_doubles_is_bounded_and_is_forgotten() -> None:
    delays = [int(delay_after(n).total_seconds()) for n in range(1, 13)]
    assert delays == [0, 0, 0, 0, 30, 60, 120, 240, 480, 900, 900, 900]
    first = FailureRecord().after_failure(T0)
    assert first == FailureRecord(1, T0) and first.wait_s(T0) == 0, "no delay before the fifth failure"
    record = FailureRecord(THROTTLE_AFTER, T0 + timedelta(seconds=30))
    assert record.wait_s(T0) == 30 and record.wait_s(T0 + timedelta(seconds=30)) == 0
    assert record.current(T0 + timedelta(hours=24, seconds=29)).failures == THROTTLE_AFTER
    assert record.current(T0 + timedelta(hours=24, seconds=30)) == FailureRecord(), "forgotten a day after"
    assert record.after_failure(T0 + timedelta(hours=25)) == FailureRecord(1, T0 + timedelta(hours=25))


def test_attempts_refused_during_the_delay_do_not_lengthen_it(world: World) -> None:
    for _ in range(THROTTLE_AFTER):
        attempt(world, "op.vil", "guess guess guess")
    waits = []
    for _ in range(10):
        waits.append(int(attempt(world, "op.vil", "guess guess guess")[2] or 0))
        world.clock.advance(seconds=2)
    assert waits == list(range(30, 10, -2)), "someone else's guesses during the delay do not make it longer"
    world.clock.advance(seconds=11)
    assert attempt(world, "op.vil", PASSWORD)[0] == 200


def test_the_rightful_person_passes_the_delay_with_password_and_second_factor(world: World) -> None:
    for _ in range(THROTTLE_AFTER):
        attempt(world, "dpo.vil", "guess guess guess")
    code = totp_code(world.totp["dpo.vil"], world.clock())
    refused = [
        attempt(world, "dpo.vil", PASSWORD),
        attempt(world, "dpo.vil", PASSWORD, "000000" if code != "000000" else "111111"),
        attempt(world, "dpo.vil", "guess guess guess", code),
    ]
    assert {(status, body["error"]["code"], retry) for status, body, retry in refused} == {
        (429, "too_many_attempts", "30")
    }, "a right password with a wrong code says nothing more than a wrong one"
    assert attempt(world, "dpo.vil", PASSWORD, code)[0] == 200
    succeeded = [e for e in world.audit.events if e.action is AuditAction.LOGIN_SUCCEEDED]
    assert succeeded[-1].details["throttle_lifted"] is True and succeeded[-1].details["second_factor"] is True
    stored = SqlUserRepo(world.engine).by_username("dpo.vil")
    assert stored is not None and stored.failed_logins == 0 and stored.locked_until is None
    assert PASSWORD not in str([e.details for e in world.audit.events]) and code not in str(world.audit.events)


def test_an_operator_without_second_factor_waits_or_an_administrator_clears_it(world: World) -> None:
    for _ in range(THROTTLE_AFTER):
        attempt(world, "op.vil", "guess guess guess")
    assert attempt(world, "op.vil", PASSWORD)[0] == 429
    admin = world.login("admin.vil")
    assert admin.patch("/api/users/op.vil", json={"unlock": True}).json()["locked"] is False
    assert attempt(world, "op.vil", PASSWORD)[0] == 200


def test_every_refusal_costs_one_password_check_whatever_the_name(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answers' cost (argon2 dominates it) does not tell an account, or one with a second factor, from a name
    that is none, before and during the delay."""
    checks: list[str] = []
    verify = PasswordHasher.verify

    def counted(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        checks.append("verify")
        return verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counted)
    for name in ("op.vil", "dpo.vil", UNKNOWN):
        for n in range(THROTTLE_AFTER + 3):
            checks.clear()
            status = attempt(world, name, "guess guess guess")[0]
            assert (status, len(checks)) == (401 if n < THROTTLE_AFTER else 429, 1), (name, n)


def test_the_address_limit_is_counted_before_the_body_is_read(db: Engine) -> None:
    """D6: the limit ran after the body was parsed and validated, so malformed bodies were never refused by it
    and never counted."""
    world = build_world(db, login_attempts=3)
    client = world.client()
    malformed = [
        client.post("/api/auth/login", content=b"{not json", headers={"Content-Type": "application/json"}),
        client.post("/api/auth/login", json={"username": "", "password": ""}),
        client.post("/api/auth/login", json={"username": "x" * 65, "password": "y"}),
    ]
    assert [r.status_code for r in malformed] == [422, 422, 422]
    limited = client.post("/api/auth/login", json={"username": "op.vil", "password": PASSWORD})
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "too_many_attempts"
    flood = client.post("/api/auth/login", content=b"[" * 500, headers={"Content-Type": "application/json"})
    assert flood.status_code == 429, "refused before its body is parsed"
    assert int(flood.headers["retry-after"]) >= 1


def test_a_name_has_no_more_checks_in_flight_than_failures_it_may_still_make() -> None:
    attempts = LoginAttempts()

    def three() -> FailureRecord:
        return FailureRecord(THROTTLE_AFTER - 2, T0)

    with (
        attempts.checking("op.vil", three, T0) as first,
        attempts.checking("OP.vil ", three, T0) as second,
        attempts.checking("op.vil", three, T0) as third,
        attempts.checking("someone.else", FailureRecord, T0) as other,
    ):
        assert [c.held for c in (first, second, third, other)] == [True, True, False, True]
    with attempts.checking("op.vil", three, T0) as again:
        assert again.held, "a check ends with its block"

    def delayed() -> FailureRecord:
        return FailureRecord(THROTTLE_AFTER, T0 + timedelta(seconds=30))

    with attempts.checking("op.vil", delayed, T0) as first, attempts.checking("op.vil", delayed, T0) as second:
        assert (first.wait, first.held, second.held) == (30, True, False), "one check at a time during the delay"


@pytest.mark.parametrize("name", ["op.vil", UNKNOWN])
def test_parallel_guesses_cannot_outrun_the_count(world: World, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    verify = PasswordHasher.verify

    def slow(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        time.sleep(0.05)
        return verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", slow)

    def guess(_: int) -> str:
        try:
            world.auth.login(name, "guess guess guess", client="10.0.0.9")
        except LoginRefusedError as err:
            return err.code
        return "logged in"

    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(pool.map(guess, range(32)))
    assert set(codes) == {"invalid_credentials", "too_many_attempts"}
    assert codes.count("invalid_credentials") == THROTTLE_AFTER, "no more password checks than the count allows"
    if name == "op.vil":
        stored = SqlUserRepo(world.engine).by_username(name)
        assert stored is not None and stored.failed_logins == THROTTLE_AFTER, "no failure lost"
