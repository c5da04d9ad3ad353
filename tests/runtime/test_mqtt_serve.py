"""MQTT (issue 21) as ``vigie serve`` runs it, against a real Mosquitto: the service is built from a configuration
with an ``mqtt`` section (the production composition), the broker has per-commune accounts and an ACL.

Confirmed alerts reach their commune's topic and nothing else does (L28); a commune cannot read another's topics;
camera states are retained; messages written while the broker is away (stopped with SIGTERM) arrive after it is
back, none lost, none left in the outbox; TLS works."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.support.configs import camera_yaml
from tests.support.mosquitto import SERVICE_USER, MosquittoBroker, Subscriber, mosquitto, settle
from tests.support.waiting import wait_for
from vigie.config import load_config_text
from vigie.domain.actor import Actor
from vigie.domain.alerts import Verdict
from vigie.domain.camera import CameraHealth, HealthState, StreamAlarm, StreamAlarmKind
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.domain.recording import RecordingGap
from vigie.runtime.assembly.service import VigieService

pytestmark = pytest.mark.mqtt

ROOT = Path(__file__).resolve().parents[2]
SERVICE_PASSWORD = "service-password-for-tests-only"
COMMUNES = {"testville": "testville-password", "autreville": "autreville-password"}
OPERATOR = Actor("agent.dupont", "operator", "testville")


def schema(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "docs" / "schemas" / name).read_text())


def camera(camera_id: str) -> str:
    """A camera that is not enabled: nothing is recorded, the service starts at once."""
    return camera_yaml(camera_id, f"rtsp://127.0.0.1:9/{camera_id}", enabled=False)


def config_text(tmp_path: Path, mqtt: str) -> str:
    """Two communes, a camera each (not enabled: nothing is recorded, the service starts at once)."""
    return f"""version: 1
storage:
  database_url: sqlite:///{tmp_path / "vigie.db"}
  data_dir: {tmp_path / "data"}
api: {{host: 127.0.0.1, port: 8080}}
mqtt:
{mqtt}communes:
  - id: testville
    name: Testville
    kind: municipal
    sites:
      - id: centre
        name: Centre
        signage:
          pictogram: true
          controller: Ville de Testville
          contact: dpo@testville.example
          panel: PAN-TEST-001
          posted_on: 2000-01-01
        cameras:
{camera("cam-t1")}  - id: autreville
    name: Autreville
    kind: municipal
    sites:
      - id: gare
        name: Gare
        signage:
          pictogram: true
          controller: Ville de Testville
          contact: dpo@testville.example
          panel: PAN-TEST-001
          posted_on: 2000-01-01
        cameras:
{camera("cam-a1")}"""


def mqtt_section(broker: MosquittoBroker, *, tls: bool = False) -> str:
    port = broker.tls_port if tls else broker.port
    lines = [
        "enabled: true",
        "host: 127.0.0.1",
        f"port: {port}",
        f"username: {SERVICE_USER}",
        "password_env: VIGIE_TEST_MQTT_PASSWORD",
        f"client_id: vigie-test-{port}",
    ]
    if tls:
        lines.append(f"tls: {{ca_file: {broker.certificate.certificate_file}}}")
    return "".join(f"  {line}\n" for line in lines)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    with mosquitto(tmp_path / "broker", {SERVICE_USER: SERVICE_PASSWORD, **COMMUNES}) as running:
        yield running


def build(
    tmp_path: Path, broker: MosquittoBroker, monkeypatch: pytest.MonkeyPatch, *, tls: bool = False
) -> VigieService:
    monkeypatch.setenv("VIGIE_TEST_MQTT_PASSWORD", SERVICE_PASSWORD)
    service = VigieService(load_config_text(config_text(tmp_path, mqtt_section(broker, tls=tls))))
    assert service.mqtt is not None, "mqtt.enabled builds the bridge"
    return service


def raise_alert(service: VigieService, camera_id: str) -> int:
    at = datetime.now(UTC) - timedelta(seconds=5)
    alert = service.alerts.raise_alert(
        Observation(camera_id, "abandoned_object", "abandoned_object", at, (Box(0.2, 0.3, 0.1, 0.1),), 0.9, "m1")
    )
    assert alert.id is not None
    return alert.id


def unsent(service: VigieService) -> int:
    assert service.mqtt is not None
    return service.mqtt.outbox.count_unsent()


def test_confirmed_alerts_reach_their_commune_only(
    tmp_path: Path, broker: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = build(tmp_path, broker, monkeypatch)
    testville = Subscriber(broker, "testville", COMMUNES["testville"], ["vigie/testville/#"])
    # autreville's account asks for testville's topics too: the ACL must give it nothing of them
    autreville = Subscriber(
        broker, "autreville", COMMUNES["autreville"], ["vigie/autreville/#", "vigie/testville/#", "vigie/#"]
    )
    service.start()
    try:
        assert service.mqtt is not None
        wait_for(service.mqtt.publisher.connected.is_set, 10, "vigie connected to the broker")
        pending = raise_alert(service, "cam-t1")
        dismissed = raise_alert(service, "cam-t1")
        confirmed = raise_alert(service, "cam-t1")
        service.alerts.dismiss(dismissed, by=OPERATOR, verdict=Verdict.FALSE_POSITIVE)
        service.alerts.confirm(confirmed, by=OPERATOR, note="patrouille envoyée, M. Martin")
        got = wait_for(lambda: testville.messages("vigie/testville/alerts"), 10, "the confirmed alert on its topic")
        settle(1.0)
        alerts = testville.messages("vigie/testville/alerts")
        assert [m.payload["alert"]["id"] for m in alerts] == [confirmed], "only the confirmed alert leaves (L28)"
        payload = got[0].payload
        jsonschema.validate(payload, schema("mqtt-alert-confirmed.json"))
        assert payload["commune"] == "testville" and payload["camera"]["id"] == "cam-t1"
        assert payload["decision"] == {
            "verdict": "confirmed",
            "role": "operator",
            "decided_at": payload["decision"]["decided_at"],
        }
        text = json.dumps(payload)
        assert "agent.dupont" not in text and "Martin" not in text, "no person's name, no note leaves Vigie"
        assert pending not in [m.payload["alert"]["id"] for m in testville.messages()]
        assert autreville.messages() == [], "a commune reads nothing of another commune's topics"
        wait_for(lambda: unsent(service) == 0, 10, "the outbox emptied by the acknowledgements")
    finally:
        service.stop()
        testville.close()
        autreville.close()


def test_camera_states_are_retained_and_stream_alarms_are_health(
    tmp_path: Path, broker: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = build(tmp_path, broker, monkeypatch)
    assert service.mqtt is not None
    service.mqtt.start()
    try:
        wait_for(service.mqtt.publisher.connected.is_set, 10, "vigie connected to the broker")
        now = datetime.now(UTC)
        service.sink(CameraHealth("cam-t1", HealthState.ONLINE, now, fps_in=5.0))
        service.sink(StreamAlarm(StreamAlarmKind.FROZEN_PICTURE, "cam-t1", now, "the picture no longer changes"))
        service.sink.flush()
        outbox = service.mqtt.outbox
        wait_for(lambda: outbox.count_unsent() == 0 and outbox.sent_since(now - timedelta(minutes=1), 10), 10, "acks")
        # a commune's system that connects later gets the camera's state at once (retained)
        late = Subscriber(broker, "testville", COMMUNES["testville"], ["vigie/testville/#"], client_id="late")
        try:
            state = wait_for(
                lambda: late.messages("vigie/testville/cameras/cam-t1/state"), 10, "the retained camera state"
            )
            assert state[-1].retain
            jsonschema.validate(state[-1].payload, schema("mqtt-camera-state.json"))
            assert state[-1].payload["state"] in ("online", "degraded")
        finally:
            late.close()
        health = outbox.sent_since(now - timedelta(minutes=1), 10)
        notices = [json.loads(m.payload) for m in health if m.topic == "vigie/testville/health"]
        assert [n["event"] for n in notices] == ["stream_alarm_raised"]
        assert notices[0]["alarm"] == "frozen_picture"
        jsonschema.validate(notices[0], schema("mqtt-health.json"))
    finally:
        service.mqtt.stop()


def test_messages_written_while_the_broker_is_down_arrive_after_its_restart(
    tmp_path: Path, broker: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = build(tmp_path, broker, monkeypatch)
    assert service.mqtt is not None
    consumer = Subscriber(broker, "testville", COMMUNES["testville"], ["vigie/testville/alerts"])
    service.mqtt.start()
    try:
        wait_for(service.mqtt.publisher.connected.is_set, 10, "vigie connected to the broker")
        broker.stop()  # SIGTERM: the broker saves its sessions (the consumer's) and exits
        connected = service.mqtt.publisher.connected
        wait_for(lambda: not connected.is_set(), 10, "vigie sees the broker gone")
        ids = [raise_alert(service, "cam-t1") for _ in range(30)]
        for alert_id in ids:
            service.alerts.confirm(alert_id, by=OPERATOR)
        assert unsent(service) == 30, "the confirmations wait in the outbox"
        broker.start()
        delivered = wait_for(
            lambda: (got := {m.payload["alert"]["id"] for m in consumer.messages()}) >= set(ids) and got,
            30,
            "every alert confirmed while the broker was down",
            context=lambda: (len(consumer.messages()), unsent(service), broker.log_tail()),
        )
        assert delivered == set(ids), "none lost, none invented"
        wait_for(lambda: unsent(service) == 0, 10, "none left pending in the outbox")
        message_ids = [m.payload["id"] for m in consumer.messages()]
        assert len(set(message_ids)) == len(ids), "duplicates (QoS 1) carry the same id, for consumers to drop"
    finally:
        service.mqtt.stop()
        consumer.close()


def test_messages_in_flight_when_the_broker_stops_all_arrive(
    tmp_path: Path, broker: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst of health events is being published (acknowledgements marked a round at a time) when the broker
    stops: what was in flight is sent again after the restart, the rest is read from the outbox; none is lost."""
    service = build(tmp_path, broker, monkeypatch)
    assert service.mqtt is not None
    publisher = service.mqtt.publisher
    consumer = Subscriber(broker, "testville", COMMUNES["testville"], ["vigie/testville/health"])
    service.mqtt.start()
    try:
        wait_for(publisher.connected.is_set, 10, "vigie connected to the broker")
        now = datetime.now(UTC)
        gaps = [RecordingGap("cam-t1", now - timedelta(seconds=60 + i), None, now) for i in range(2000)]
        service.mqtt.gaps_written(gaps, [])
        wait_for(lambda: publisher.acknowledged > 0, 10, "the first acknowledgements")
        broker.stop()  # SIGTERM while messages are in flight
        wait_for(lambda: not publisher.connected.is_set(), 10, "vigie sees the broker gone")
        assert unsent(service) > 0, "the broker stopped before the burst was through"
        broker.start()
        wait_for(lambda: unsent(service) == 0, 60, "the outbox emptied after the restart")
        written = {json.loads(m.payload)["id"] for m in service.mqtt.outbox.sent_since(now, 5000)}
        assert len(written) == 2000
        wait_for(
            lambda: {m.payload["id"] for m in consumer.messages()} >= written,
            30,
            "every message of the burst at the subscriber",
            context=lambda: len(written - {m.payload["id"] for m in consumer.messages()}),
        )
    finally:
        service.mqtt.stop()
        consumer.close()


def test_tls_to_the_broker(tmp_path: Path, broker: MosquittoBroker, monkeypatch: pytest.MonkeyPatch) -> None:
    service = build(tmp_path, broker, monkeypatch, tls=True)
    assert service.mqtt is not None
    consumer = Subscriber(
        broker,
        "testville",
        COMMUNES["testville"],
        ["vigie/testville/alerts"],
        tls=broker.certificate.client_context(),
    )
    service.mqtt.start()
    try:
        wait_for(service.mqtt.publisher.connected.is_set, 10, "vigie connected over TLS")
        alert_id = raise_alert(service, "cam-t1")
        service.alerts.confirm(alert_id, by=OPERATOR)
        got = wait_for(consumer.messages, 10, "the alert over TLS")
        assert got[0].payload["alert"]["id"] == alert_id
    finally:
        service.mqtt.stop()
        consumer.close()


def test_a_wrong_password_is_refused_without_being_shown(
    tmp_path: Path, broker: MosquittoBroker, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("VIGIE_TEST_MQTT_PASSWORD", "a-wrong-secret-value")
    service = VigieService(load_config_text(config_text(tmp_path, mqtt_section(broker))))
    assert service.mqtt is not None
    service.mqtt.start()
    try:
        publisher = service.mqtt.publisher
        error = wait_for(lambda: publisher.last_error, 10, "the broker's refusal")
        assert "refused" in error
        assert not service.mqtt.publisher.connected.is_set()
        assert "a-wrong-secret-value" not in caplog.text and "a-wrong-secret-value" not in error
    finally:
        service.mqtt.stop()


def test_a_message_the_broker_refuses_stays_unsent(
    tmp_path: Path, broker: MosquittoBroker, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Vigie's account may write under `vigie/` only: with another prefix the broker's ACL refuses the message, and
    MQTT v5 says so in the PUBACK (reason 135) — never taken for a delivery."""
    monkeypatch.setenv("VIGIE_TEST_MQTT_PASSWORD", SERVICE_PASSWORD)
    section = mqtt_section(broker) + "  topic_prefix: elsewhere\n"
    service = VigieService(load_config_text(config_text(tmp_path, section)))
    assert service.mqtt is not None
    service.mqtt.start()
    try:
        wait_for(service.mqtt.publisher.connected.is_set, 10, "vigie connected to the broker")
        alert_id = raise_alert(service, "cam-t1")
        service.alerts.confirm(alert_id, by=OPERATOR)
        wait_for(lambda: "refused message" in caplog.text, 10, "the broker's refusal logged")
        assert unsent(service) == 1, "a refused message is kept, not marked sent"
    finally:
        service.mqtt.stop()
