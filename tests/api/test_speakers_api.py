"""Loudspeakers through the API (issue 21): a person plays a message of their commune on their commune's speakers;
each play audited before any speaker is asked and after; refusals (role, message, commune, body) answered in the
one error format, audited, and nothing sounds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from tests.api.world import T0, World, build_world
from vigie.devices.speakers.simulated import SimulatedSpeaker
from vigie.domain.audit import AuditAction
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation


@pytest.fixture
def world(db: Engine) -> World:
    return build_world(db)


def simulated(world: World, speaker_id: str) -> SimulatedSpeaker:
    assert world.speakers is not None
    driver = world.speakers.drivers()[speaker_id]
    assert isinstance(driver, SimulatedSpeaker)
    return driver


def played(world: World) -> dict[str, list[str]]:
    return {
        sid: [p.message_id for p in simulated(world, sid).plays()] for sid in ("vil-spk-1", "vil-spk-2", "bron-spk-1")
    }


def speaker_entries(world: World) -> list[tuple[str, AuditAction, dict[str, object]]]:
    wanted = {AuditAction.SPEAKER_PLAY_ORDERED, AuditAction.SPEAKER_PLAY_RESULT}
    return [(e.actor, e.action, dict(e.details)) for e in world.audit.events if e.action in wanted]


def test_each_person_sees_their_communes_messages_opened_to_their_roles(world: World) -> None:
    def catalogue(username: str) -> tuple[list[str], list[str]]:
        body = world.login(username).get("/api/speakers").json()
        return [m["id"] for m in body["messages"]], [s["id"] for s in body["speakers"]]

    assert catalogue("op.vil") == (["park-closing"], ["vil-spk-1", "vil-spk-2"])
    assert catalogue("sup.vil") == (["park-closing", "evacuate"], ["vil-spk-1", "vil-spk-2"])
    assert catalogue("op.bron") == (["parilly-closing"], ["bron-spk-1"])
    assert catalogue("dpo.vil") == ([], []), "no play_speaker_message: nothing offered"
    message = world.login("op.vil").get("/api/speakers").json()["messages"][0]
    assert message["titles"] == {"fr": "Le parc ferme", "en": "The park closes"} and message["languages"] == [
        "fr",
        "en",
    ]


def test_an_operator_plays_a_message_and_the_play_is_audited_before_and_after(world: World) -> None:
    alert = world.alerts.raise_alert(
        Observation(
            "vil-1",
            "abandoned_object",
            "abandoned_object",
            T0 - timedelta(seconds=5),
            (Box(0.4, 0.5, 0.1, 0.1),),
            0.8,
            "m@1",
        )
    )
    client = world.login("op.vil")
    body = {"message_id": "park-closing", "speaker_ids": ["vil-spk-1", "vil-spk-2"], "alert_id": alert.id}
    response = client.post("/api/speakers/play", json=body)
    assert response.status_code == 200, response.text
    assert [o["played"] for o in response.json()["outcomes"]] == [True, True]
    assert played(world) == {"vil-spk-1": ["park-closing"], "vil-spk-2": ["park-closing"], "bron-spk-1": []}
    (actor1, first, ordered), (actor2, second, result) = speaker_entries(world)
    assert (actor1, actor2, first, second) == (
        "op.vil",
        "op.vil",
        AuditAction.SPEAKER_PLAY_ORDERED,
        AuditAction.SPEAKER_PLAY_RESULT,
    )
    assert ordered == {
        "message": "park-closing",
        "title": "Le parc ferme",
        "speakers": ["vil-spk-1", "vil-spk-2"],
        "role": "operator",
        "linked_alert": alert.id,
    }
    assert result["played"] == ["vil-spk-1", "vil-spk-2"] and result["failed"] == {}


@pytest.mark.parametrize(
    ("username", "body", "status", "code"),
    [
        ("dpo.vil", {"message_id": "park-closing", "speaker_ids": ["vil-spk-1"]}, 403, "forbidden"),
        ("inv.vil", {"message_id": "park-closing", "speaker_ids": ["vil-spk-1"]}, 403, "forbidden"),
        ("op.vil", {"message_id": "evacuate", "speaker_ids": ["vil-spk-1"]}, 403, "forbidden"),
        ("op.vil", {"message_id": "parilly-closing", "speaker_ids": ["vil-spk-1"]}, 404, "not_found"),
        ("op.vil", {"message_id": "park-closing", "speaker_ids": ["bron-spk-1"]}, 404, "not_found"),
        ("op.vil", {"message_id": "park-closing", "speaker_ids": ["vil-spk-1", "bron-spk-1"]}, 404, "not_found"),
        ("op.bron", {"message_id": "parilly-closing", "speaker_ids": ["vil-spk-1"]}, 404, "not_found"),
        ("op.vil", {"message_id": "park-closing", "speaker_ids": ["vil-spk-1"], "alert_id": 999}, 404, "not_found"),
        ("op.vil", {"message_id": "park-closing", "speaker_ids": []}, 422, "invalid_request"),
        ("op.vil", {"message_id": "park-closing", "speaker_ids": ["vil-spk-1", "vil-spk-1"]}, 422, "invalid_request"),
        ("op.vil", {"message_id": "park-closing", "speaker_ids": ["vil-spk-1"], "volume": 11}, 422, "invalid_request"),
    ],
    ids=[
        "dpo-no-permission",
        "investigator-no-permission",
        "message-kept-to-supervisors",
        "message-of-another-commune",
        "speaker-of-another-commune",
        "one-speaker-of-another-commune",
        "bron-on-villeurbanne",
        "unknown-alert",
        "no-speaker",
        "speaker-twice",
        "unknown-field",
    ],
)
def test_refusals_play_nothing_and_write_no_play(
    world: World, username: str, body: dict[str, object], status: int, code: str
) -> None:
    response = world.login(username).post("/api/speakers/play", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert played(world) == {"vil-spk-1": [], "vil-spk-2": [], "bron-spk-1": []}
    assert speaker_entries(world) == [], "a refused request orders nothing"
    if status == 403:
        denied = [e for e in world.audit.events if e.action is AuditAction.ACCESS_DENIED]
        assert denied and denied[-1].actor == username


def test_playing_needs_a_logged_in_session_and_its_csrf_header(world: World) -> None:
    body = {"message_id": "park-closing", "speaker_ids": ["vil-spk-1"]}
    assert world.client().post("/api/speakers/play", json=body).status_code == 401
    client = world.login("op.vil")
    del client.headers["X-CSRF-Token"]
    assert client.post("/api/speakers/play", json=body).status_code == 403
    client = world.login("op.vil")
    assert client.post("/api/auth/logout").status_code in (200, 204)
    assert client.post("/api/speakers/play", json=body).status_code == 401
    assert played(world)["vil-spk-1"] == []


def test_an_alert_raised_and_confirmed_plays_nothing(world: World) -> None:
    """An alert is an attention signal (L28): neither its raising nor a person's confirmation plays a message."""
    alert = world.alerts.raise_alert(
        Observation(
            "vil-1", "intrusion", "intrusion", T0 - timedelta(seconds=5), (Box(0.2, 0.3, 0.3, 0.4),), 0.9, "m@1"
        )
    )
    confirmed = world.login("op.vil").post(f"/api/alerts/{alert.id}/confirm", json={"note": "vu"})
    assert confirmed.status_code == 200, confirmed.text
    assert played(world) == {"vil-spk-1": [], "vil-spk-2": [], "bron-spk-1": []}
    assert speaker_entries(world) == []
