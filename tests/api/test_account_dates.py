"""Training and authorisation dates that hold (issue 14 D15, L8, L9): a training dated in the future never needs its
three-year refresh, an authorisation ending in 9999 never ends. The service refuses both, so the API (422) and the
command line (same service) do; "today" is the service clock's Paris day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine

from tests.api.world import PASSWORD, TODAY, World, build_world
from vigie.domain.actor import Actor
from vigie.domain.users import Role
from vigie.services.auth import MAX_AUTHORISATION, AccountError


@pytest.fixture
def world(db: Engine) -> World:
    return build_world(db)


def test_a_training_date_and_an_authorisation_end_far_in_the_future_are_refused(world: World) -> None:
    admin = world.login("admin.vil")
    answer = admin.patch("/api/users/op.vil", json={"trained_on": "9999-12-31", "authorised_until": "9999-12-31"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_request"
    assert "training date 9999-12-31 is in the future" in answer.json()["error"]["message"]
    listed = {u["username"]: u for u in admin.get("/api/users").json()}
    assert listed["op.vil"]["trained_on"] == (TODAY - timedelta(days=30)).isoformat(), "nothing was changed"

    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    assert admin.patch("/api/users/op.vil", json={"trained_on": tomorrow}).status_code == 422
    assert admin.patch("/api/users/op.vil", json={"trained_on": TODAY.isoformat()}).status_code == 200

    too_far = admin.patch("/api/users/op.vil", json={"authorised_until": "9999-12-31"})
    assert too_far.status_code == 422
    assert "authorisation end 9999-12-31 is too far" in too_far.json()["error"]["message"]
    latest = TODAY + MAX_AUTHORISATION
    assert admin.patch("/api/users/op.vil", json={"authorised_until": latest.isoformat()}).status_code == 200
    beyond = (latest + timedelta(days=1)).isoformat()
    assert admin.patch("/api/users/op.vil", json={"authorised_until": beyond}).status_code == 422


def test_a_new_account_with_a_future_training_is_refused(world: World) -> None:
    body = {
        "username": "op.new",
        "display_name": "Nouvel Opérateur",
        "roles": ["operator"],
        "password": PASSWORD,
        "authorised_until": (TODAY + timedelta(days=365)).isoformat(),
        "trained_on": (TODAY + timedelta(days=1)).isoformat(),
    }
    admin = world.login("admin.vil")
    answer = admin.post("/api/users", json=body)
    assert answer.status_code == 422 and "in the future" in answer.json()["error"]["message"]
    far = admin.post("/api/users", json={**body, "trained_on": TODAY.isoformat(), "authorised_until": "9999-12-31"})
    assert far.status_code == 422 and "too far" in far.json()["error"]["message"]
    assert "op.new" not in {u["username"] for u in admin.get("/api/users").json()}


def test_the_command_line_gets_the_same_refusal(world: World) -> None:
    """``vigie users add/update`` call the same service with an actor instead of a logged-in person."""
    with pytest.raises(AccountError, match="in the future"):
        world.auth.update_user(Actor.command_line("setup"), "op.vil", trained_on=TODAY + timedelta(days=400))
    with pytest.raises(AccountError, match="too far"):
        world.auth.add_user(
            Actor.command_line("setup"),
            username="op.cli",
            display_name="Opérateur Ligne",
            commune_id="villeurbanne",
            roles=[Role.OPERATOR],
            password=PASSWORD,
            authorised_until=TODAY + MAX_AUTHORISATION + timedelta(days=1),
        )


def test_today_is_the_paris_day_of_the_service_clock(world: World) -> None:
    """At 23:30 UTC on 31 December it is already 1 January in Paris: a training that day is not in the future."""
    world.clock.now = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    new_year = date(2027, 1, 1)
    assert world.auth.today() == new_year
    world.auth.update_user(Actor.command_line("setup"), "op.vil", trained_on=new_year)
    with pytest.raises(AccountError, match="in the future"):
        world.auth.update_user(Actor.command_line("setup"), "op.vil", trained_on=new_year + timedelta(days=1))
