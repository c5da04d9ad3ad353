"""An operator of a service built by the production composition, logged in through its API (the console's way)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from vigie.domain.actor import Actor
from vigie.domain.clock import Clock, legal_day
from vigie.domain.users import Role
from vigie.runtime.assembly.service import VigieService


def operator_client(
    service: VigieService, clock: Clock, password: str, *, username: str = "op", commune: str = "testville"
) -> TestClient:
    """A client of ``service``'s API logged in as a new operator of ``commune`` (authorised for a year from the
    clock's day), its CSRF header set."""
    day = legal_day(clock)
    service.accounts.add_user(
        Actor.command_line("setup"),
        username=username,
        display_name=username.title(),
        commune_id=commune,
        roles=[Role.OPERATOR],
        password=password,
        authorised_until=day + timedelta(days=365),
        trained_on=day,
    )
    api = TestClient(service.app)
    login = api.post("/api/auth/login", json={"username": username, "password": password})
    assert login.status_code == 200, login.text
    api.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    return api
