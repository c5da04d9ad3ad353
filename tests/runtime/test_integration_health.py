"""The integrations in the health view (issue 21), as the production composition serves them: ``VigieService`` built
from a configuration with MQTT (a real Mosquitto) and webhooks, read through ``GET /api/system/health``.

Two services on one database stand for ``vigie serve`` (which runs the publisher) and a ``vigie api`` process beside
it (which never does): both tell the truth — what the database holds (the outbox, the webhook deliveries, a 410) in
both, the connection's live state in ``vigie serve`` only, ``null`` ("known only to vigie serve") in the other,
never a false "connected"."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.configs import camera_yaml
from tests.support.mosquitto import SERVICE_USER, MosquittoBroker, mosquitto
from tests.support.operators import operator_client
from tests.support.waiting import wait_for
from vigie.config import load_config_text
from vigie.devices.mqtt.paho_loop import PahoLoop
from vigie.devices.webhooks.sender import url_digest
from vigie.domain.actor import Actor
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.domain.webhooks import DisabledEndpoint, WebhookDelivery
from vigie.runtime.assembly.service import VigieService
from vigie.runtime.clock import system_clock

MQTT_PASSWORD = "service-password-for-tests-only"
SECRET = "whsec_" + base64.b64encode(bytes(range(7, 39))).decode()
PASSWORD = "a-long-password-for-tests-only"
DISPATCH_URL = "http://127.0.0.1:9/hooks/vigie?token=query-secret-token"
METRO_URL = "http://127.0.0.1:9/metro"


def config_text(tmp_path: Path, broker: MosquittoBroker | None, *, sensors: bool = False) -> str:
    mqtt = ""
    if broker is not None:
        mqtt = f"""mqtt:
  enabled: true
  host: 127.0.0.1
  port: {broker.port}
  username: {SERVICE_USER}
  password_env: VIGIE_TEST_MQTT_PASSWORD
  client_id: vigie-health-{broker.port}
"""
    if sensors:
        mqtt += """sensors:
  enabled: true
  sensors:
    - {id: radar-t, commune: testville, kind: radar}
    - {id: radar-a, commune: autreville, kind: radar}
"""
    return f"""version: 1
storage:
  database_url: sqlite:///{tmp_path / "vigie.db"}
  data_dir: {tmp_path / "data"}
api: {{host: 127.0.0.1, port: 8080}}
{mqtt}webhooks:
  enabled: true
  endpoints:
    - name: dispatch
      url: {DISPATCH_URL}
      communes: [testville]
      secret_env: VIGIE_TEST_WEBHOOK_SECRET
    - name: metro
      url: {METRO_URL}
      communes: [autreville]
      secret_env: VIGIE_TEST_WEBHOOK_SECRET
communes:
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
{camera_yaml("cam-t1", "rtsp://127.0.0.1:9/cam-t1", enabled=False)}  - id: autreville
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
{camera_yaml("cam-a1", "rtsp://127.0.0.1:9/cam-a1", enabled=False)}"""


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    with mosquitto(tmp_path / "broker", {SERVICE_USER: MQTT_PASSWORD}) as running:
        yield running


def service_of(
    tmp_path: Path, broker: MosquittoBroker | None, monkeypatch: pytest.MonkeyPatch, *, sensors: bool = False
) -> VigieService:
    monkeypatch.setenv("VIGIE_TEST_MQTT_PASSWORD", MQTT_PASSWORD)
    monkeypatch.setenv("VIGIE_TEST_WEBHOOK_SECRET", SECRET)
    return VigieService(load_config_text(config_text(tmp_path, broker, sensors=sensors)))


def logged_in(service: VigieService, username: str) -> TestClient:
    client = TestClient(service.app)
    answer = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client


def integrations(client: TestClient) -> dict[str, Any]:
    answer = client.get("/api/system/health")
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["integrations"])


def confirm_an_alert(service: VigieService) -> None:
    at = datetime.now(UTC) - timedelta(seconds=5)
    alert = service.alerts.raise_alert(
        Observation("cam-t1", "abandoned_object", "abandoned_object", at, (Box(0.2, 0.3, 0.1, 0.1),), 0.9, "m1")
    )
    service.alerts.confirm(alert.id or 0, by=Actor("op", "operator", "testville"))


@pytest.mark.mqtt
def test_serve_and_api_processes_tell_the_truth_about_mqtt_and_webhooks(
    tmp_path: Path, broker: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve = service_of(tmp_path, broker, monkeypatch)
    api = service_of(tmp_path, broker, monkeypatch)  # a `vigie api` process: built the same, nothing started
    assert serve.mqtt is not None and api.mqtt is not None and serve.webhooks is not None
    serve_op = operator_client(serve, system_clock, PASSWORD, username="op")
    api_op = logged_in(api, "op")

    confirm_an_alert(api)  # an API process's confirmation: its messages wait in the outbox and the deliveries
    for client in (serve_op, api_op):
        view = integrations(client)
        assert view["mqtt"] == {"outbox_waiting": 1, "live": None}, "the publisher runs nowhere yet: unknown"
        [dispatch] = view["webhooks"]  # autreville's endpoint is not testville's operator's to see
        assert dispatch["name"] == "dispatch" and dispatch["communes"] == ["testville"]
        assert dispatch["url"] == "http://127.0.0.1:9/hooks/vigie", "never the query string (it may hold a token)"
        assert dispatch["waiting"] == 1 and dispatch["disabled_at"] is None and dispatch["failed"] is None
        assert view["sensors"] is None and view["speakers"] == {}

    serve.mqtt.start()  # what `vigie serve` does
    try:
        wait_for(lambda: serve.mqtt is not None and serve.mqtt.outbox.count_unsent() == 0, 10, "the outbox sent")
        live = integrations(serve_op)["mqtt"]
        assert live["outbox_waiting"] == 0
        assert live["live"] == {"connected": True, "last_error": None, "acknowledged": 1, "refused": 0}
        assert integrations(api_op)["mqtt"] == {"outbox_waiting": 0, "live": None}, "the API process does not know"

        broker.stop()  # the link breaks: `vigie serve` says so, with why; messages wait
        wait_for(lambda: not integrations(serve_op)["mqtt"]["live"]["connected"], 10, "the lost connection shown")
        confirm_an_alert(api)
        broken = integrations(serve_op)["mqtt"]
        assert broken["outbox_waiting"] == 1 and broken["live"]["connected"] is False
        assert f"127.0.0.1:{broker.port}" in broken["live"]["last_error"]
        assert MQTT_PASSWORD not in str(broken)
    finally:
        serve.mqtt.publisher.stop(flush_s=0.1)


def test_webhook_endpoints_waiting_and_disabled_come_from_the_database_scoped_by_commune(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = service_of(tmp_path, None, monkeypatch)
    assert service.webhooks is not None
    now = datetime.now(UTC)
    deliveries = service.webhooks.deliveries
    deliveries.add(
        [WebhookDelivery(f"m{i}", "metro", "health", b"{}", now, now + timedelta(hours=1)) for i in range(3)]
    )
    deliveries.disable(DisabledEndpoint("dispatch", url_digest(DISPATCH_URL), now, "the receiver answered 410 Gone"))
    testville = operator_client(service, system_clock, PASSWORD, username="op")
    autreville = operator_client(service, system_clock, PASSWORD, username="op.autre", commune="autreville")

    view = integrations(testville)
    assert view["mqtt"] is None, "MQTT off: no MQTT panel, not a broken one"
    assert [(w["name"], w["waiting"], w["disabled_at"] is not None) for w in view["webhooks"]] == [
        ("dispatch", 0, True)
    ]
    other = integrations(autreville)["webhooks"]
    assert [(w["name"], w["url"], w["waiting"], w["disabled_at"]) for w in other] == [("metro", METRO_URL, 3, None)]

    # a 410 recorded for another URL of the same name no longer counts: the endpoint was moved
    deliveries.disable(DisabledEndpoint("metro", url_digest("http://127.0.0.1:9/old"), now, "410"))
    assert integrations(autreville)["webhooks"][0]["disabled_at"] is None


@pytest.mark.mqtt
def test_sensors_subscription_and_drops_in_serve_unknown_in_an_api_process(
    tmp_path: Path, broker: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve = service_of(tmp_path, broker, monkeypatch, sensors=True)
    api = service_of(tmp_path, broker, monkeypatch, sensors=True)
    assert serve.sensors is not None
    serve_op = operator_client(serve, system_clock, PASSWORD, username="op")
    api_op = logged_in(api, "op")
    serve.sensors.start()
    sensor = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-radar", protocol=mqtt.MQTTv5)
    sensor.username_pw_set(SERVICE_USER, MQTT_PASSWORD)
    network = PahoLoop(sensor, "127.0.0.1", broker.port, name="test-radar")
    network.start()
    try:
        wait_for(sensor.is_connected, 10, "the test radar connected")
        wait_for(serve.sensors.connected.is_set, 10, "subscribed to the sensors' topics")
        for topic in ("vigie/testville/sensors/radar-t", "vigie/autreville/sensors/radar-a"):
            sensor.publish(topic, b"not a reading", qos=1).wait_for_publish(10)
        wait_for(lambda: serve.sensors is not None and serve.sensors.dropped["malformed"] == 2, 10, "both dropped")
        live = integrations(serve_op)["sensors"]
        assert live["configured"] == 1, "testville's radar only"
        assert live["live"]["subscribed"] is True and live["live"]["last_error"] is None
        assert live["live"]["received"] == 1, "autreville's radar is not testville's operator's to count"
        assert live["live"]["dropped"]["malformed"] == 2 and live["live"]["dropped"]["duplicate"] == 0
        assert integrations(api_op)["sensors"] == {"configured": 1, "live": None}, "only vigie serve knows"
    finally:
        network.stop()
        serve.sensors.stop()
