"""MQTT payloads and topics (issue 21), without a broker: the committed JSON Schemas are the generated ones, what the
bridge writes validates against them, only a confirmed alert makes a message (L28) and it names no person."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.support.clocks import FakeClock
from tests.support.configs import camera_data
from vigie.config.models import VigieConfig
from vigie.devices.mqtt.bridge import MqttBridge
from vigie.devices.mqtt.payloads import CameraRef, encoded, schema_documents, schema_text
from vigie.devices.mqtt.publisher import MqttPublisher
from vigie.devices.notices import HealthChange, NoticePlace, health_notice, health_notice_json
from vigie.domain.alerts import Alert, AlertState, Verdict
from vigie.domain.camera import StreamAlarm, StreamAlarmKind
from vigie.domain.geometry import Box
from vigie.domain.outbox import OutboxMessage
from vigie.domain.recording import RecordingGap

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
T0 = datetime(2026, 11, 28, 12, tzinfo=UTC)
REGENERATE = (
    "python -c 'import pathlib; from vigie.devices.mqtt.payloads import write_schemas; "
    'write_schemas(pathlib.Path("docs/schemas"))\''
)


class ListOutbox:
    def __init__(self) -> None:
        self.messages: list[OutboxMessage] = []

    def add(self, messages: Sequence[OutboxMessage]) -> None:
        self.messages.extend(messages)

    def unsent(self, limit: int, *, after_seq: int = 0) -> Sequence[OutboxMessage]:
        return self.messages[:limit]

    def mark_sent(self, seqs: Sequence[int], at: datetime) -> int:
        return 0

    def sent_since(self, since: datetime, limit: int) -> Sequence[OutboxMessage]:
        return []

    def count_unsent(self) -> int:
        return len(self.messages)

    def purge(self, sent_before: datetime) -> int:
        return 0


def config() -> VigieConfig:
    camera = camera_data()
    return VigieConfig.model_validate(
        {
            "version": 1,
            "mqtt": {"enabled": True, "host": "127.0.0.1", "topic_prefix": "metropole"},
            "communes": [
                {
                    "id": "villeurbanne",
                    "name": "Villeurbanne",
                    "kind": "municipal",
                    "sites": [{"id": "gratte-ciel", "name": "Gratte-Ciel", "cameras": [camera]}],
                }
            ],
        }
    )


def bridge() -> tuple[MqttBridge, ListOutbox]:
    settings, clock, outbox = config(), FakeClock(T0), ListOutbox()
    publisher = MqttPublisher(settings.mqtt, outbox, clock)  # never started: no broker here
    return MqttBridge(settings.mqtt, settings.placements(), outbox, publisher, clock), outbox


def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def decided(verdict: Verdict | None) -> Alert:
    state = {None: AlertState.PENDING, Verdict.CONFIRMED: AlertState.CONFIRMED}.get(verdict, AlertState.DISMISSED)
    return Alert(
        "cam-001",
        "abandoned_object",
        "abandoned_object",
        T0 - timedelta(minutes=1),
        Box(0.2, 0.3, 0.1, 0.1),
        0.91,
        "yolox@sha256:ab",
        state=state,
        verdict=verdict,
        decided_by=None if verdict is None else "Léa Martin",
        decided_role=None if verdict is None else "supervisor",
        decided_at=None if verdict is None else T0,
        note="" if verdict is None else "patrouille envoyée",
        id=7,
    )


def test_the_committed_schemas_are_the_generated_ones() -> None:
    documents = schema_documents()
    assert sorted(p.name for p in SCHEMAS.glob("mqtt-*.json")) == sorted(documents)
    for name, document in documents.items():
        committed = (SCHEMAS / name).read_text(encoding="utf-8")
        assert committed == schema_text(document), f"docs/schemas/{name} is out of date: run {REGENERATE}"
        jsonschema.Draft202012Validator.check_schema(document)


def test_a_confirmed_alert_makes_one_message_on_its_communes_topic() -> None:
    made, _outbox = bridge()
    (message,) = made.confirmed(decided(Verdict.CONFIRMED))
    assert message.topic == "metropole/villeurbanne/alerts" and not message.retain
    payload = json.loads(message.payload)
    jsonschema.validate(payload, schema("mqtt-alert-confirmed.json"))
    assert payload["id"] == message.id
    assert payload["camera"] == {"id": "cam-001", "name": "Parvis", "site": "gratte-ciel"}
    assert payload["alert"]["region"] == {"x": 0.2, "y": 0.3, "w": 0.1, "h": 0.1}
    assert payload["decision"]["role"] == "supervisor"
    text = message.payload.decode()
    assert "Léa" not in text and "patrouille" not in text and "yolox" not in text, "no name, no note, no model"


@pytest.mark.parametrize("verdict", [None, Verdict.FALSE_POSITIVE, Verdict.NOT_ACTIONABLE, Verdict.DUPLICATE])
def test_pending_and_dismissed_alerts_make_nothing(verdict: Verdict | None) -> None:
    made, _outbox = bridge()
    assert made.confirmed(decided(verdict)) == []


def test_recording_gaps_become_health_notices() -> None:
    made, outbox = bridge()
    opened = RecordingGap("cam-001", T0, None, T0 + timedelta(seconds=30))
    made.gaps_written([opened], [])
    made.gaps_written([opened], [])  # written again (a retried round): one notice
    made.gaps_written([RecordingGap("cam-001", T0, T0 + timedelta(seconds=90), T0 + timedelta(seconds=30))], [])
    made.gaps_written([RecordingGap("cam-001", T0 + timedelta(hours=1), T0 + timedelta(hours=1, seconds=20), T0)], [])
    made.gaps_written([RecordingGap("cam-404", T0, None, T0)], [])  # not a camera of this file
    payloads = [json.loads(m.payload) for m in outbox.messages]
    assert [p["event"] for p in payloads] == ["recording_gap_opened", "recording_gap_closed", "recording_gap_found"]
    assert {m.topic for m in outbox.messages} == {"metropole/villeurbanne/health"}
    for payload in payloads:
        jsonschema.validate(payload, schema("mqtt-health.json"))


def test_a_cleared_stream_alarm_says_when_it_began() -> None:
    made, outbox = bridge()
    raised = StreamAlarm(StreamAlarmKind.NO_PACKETS, "cam-001", T0, "no packet for 10 s")
    made.observe(raised)
    made.observe(StreamAlarm(StreamAlarmKind.NO_PACKETS, "cam-001", T0 + timedelta(minutes=3), "back", cleared=True))
    first, second = (json.loads(m.payload) for m in outbox.messages)
    assert (first["event"], first["ended_at"]) == ("stream_alarm_raised", None)
    assert second["event"] == "stream_alarm_cleared" and second["alarm"] == "no_packets"
    assert second["started_at"] == first["started_at"] and second["ended_at"] is not None
    for payload in (first, second):
        jsonschema.validate(payload, schema("mqtt-health.json"))


@pytest.mark.parametrize(
    "change",
    [
        HealthChange(
            "cam-1", "recording_gap_opened", datetime(2030, 1, 2, 3, 4, 5, 600, tzinfo=UTC), None, "no footage"
        ),
        HealthChange(
            "cam-1",
            "recording_gap_closed",
            datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
            datetime(2030, 1, 2, 3, 4, 17, 250_000, tzinfo=UTC),
            "12.2 s without footage",
        ),
        HealthChange(
            "cam-1",
            "stream_alarm_raised",
            datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
            None,
            'image gelée « caméra » "x" \\ \n' + "é" * 600,
            "frozen_picture",
        ),
    ],
)
def test_the_health_payload_written_without_the_model_is_the_models_json_byte_for_byte(change: HealthChange) -> None:
    place = NoticePlace("commune-1", CameraRef(id="cam-1", name="Entrée « nord »", site="site-1"))
    now = datetime(2030, 1, 2, 3, 4, 18, 999_999, tzinfo=UTC)
    direct = health_notice_json(change, place, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", now)
    assert direct == encoded(health_notice(change, place, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", now))
    jsonschema.validate(json.loads(direct), schema_documents()["mqtt-health.json"])
