"""Sensors (issue 21) as ``vigie serve`` runs them, against a real Mosquitto: the service is built from a
configuration with `mqtt` and `sensors` sections (the production composition), a sensor publishes its readings as a
client of the broker.

Valid radar readings become statistics (totals per bucket) and nothing else; malformed, oversized, foreign and
repeated messages are dropped and counted without stopping the subscriber; a fast vehicle triggers the link rules,
each audited, a slow one nothing; the metrics say it all. The demo's simulated radar reaches the demo's service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import create_engine

from tests.support.clocks import FakeClock
from tests.support.configs import camera_yaml
from tests.support.descriptors import descriptors_above_1024
from tests.support.mosquitto import SERVICE_USER, MosquittoBroker, mosquitto
from tests.support.waiting import wait_for
from vigie.config import load_config_text
from vigie.devices.mqtt.paho_loop import PahoLoop
from vigie.devices.sensors.payloads import MAX_READING_BYTES
from vigie.domain.audit import AuditAction
from vigie.runtime.assembly.demo import demo_config, demo_radar
from vigie.runtime.assembly.service import VigieService
from vigie.storage.audit import SqlAuditStore
from vigie.storage.sensors import SqlSensorStatistics

pytestmark = pytest.mark.mqtt

SERVICE_PASSWORD = "service-password-for-tests-only"
TOPIC = "vigie/testville/sensors/radar-1"
TOKEN = "m" * 40


def config_text(tmp_path: Path, port: int) -> str:
    (tmp_path / "metrics.token").write_text(TOKEN)
    camera = camera_yaml(
        "cam-t1", "rtsp://127.0.0.1:9/cam-t1", enabled=False, purposes=("crime_prevention", "traffic_regulation")
    )
    return f"""version: 1
storage:
  database_url: sqlite:///{tmp_path / "vigie.db"}
  data_dir: {tmp_path / "data"}
api: {{host: 127.0.0.1, port: 8080, metrics_token_file: {tmp_path / "metrics.token"}}}
mqtt:
  enabled: true
  host: 127.0.0.1
  port: {port}
  username: {SERVICE_USER}
  password_env: VIGIE_TEST_MQTT_PASSWORD
  client_id: vigie-sensors-test-{port}
sensors:
  enabled: true
  bucket_s: 60
  min_count: 2
  sensors:
    - {{id: radar-1, commune: testville, kind: radar}}
  links:
    - id: fast-mark
      sensor: radar-1
      when: {{kind: speed_above, kmh: 70}}
      then: {{kind: bookmark, cameras: [cam-t1], label: "vitesse > 70 km/h"}}
      min_interval_s: 0
    - id: fast-wall
      sensor: radar-1
      when: {{kind: speed_above, kmh: 70}}
      then: {{kind: show_on_wall, cameras: [cam-t1]}}
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
{camera}"""


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    with mosquitto(tmp_path / "broker", {SERVICE_USER: SERVICE_PASSWORD}) as running:
        yield running


class Sensor:
    """A sensor on the broker (here with Vigie's account, which the ACL lets write under vigie/)."""

    def __init__(self, broker: MosquittoBroker) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-sensor", protocol=mqtt.MQTTv5)
        self.client.username_pw_set(SERVICE_USER, SERVICE_PASSWORD)
        self._network = PahoLoop(self.client, "127.0.0.1", broker.port, name="test-sensor")
        self._network.start()
        wait_for(self.client.is_connected, 10, "the test sensor connected")

    def send(self, payload: bytes | dict[str, Any], topic: str = TOPIC) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.client.publish(topic, data, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self._network.stop()


def reading(speed: float, at: datetime, **changes: Any) -> dict[str, Any]:
    return {
        "type": "sensor.reading",
        "version": 1,
        "sensor": "radar-1",
        "kind": "radar",
        "observed_at": at.isoformat(),
        "speed_kmh": speed,
        "direction": "approaching",
        **changes,
    }


def test_readings_become_statistics_links_fire_and_bad_messages_are_dropped(
    tmp_path: Path, broker: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIE_TEST_MQTT_PASSWORD", SERVICE_PASSWORD)
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    clock = FakeClock(start + timedelta(seconds=5))
    service = VigieService(load_config_text(config_text(tmp_path, broker.port)), clock=clock)
    subscriber = service.sensors
    assert subscriber is not None and subscriber.topics == [TOPIC]
    sensor = Sensor(broker)
    subscriber.start()  # what service.start() does (test_the_service_starts_and_stops_the_subscriber)
    try:
        wait_for(subscriber.connected.is_set, 10, "subscribed to the sensors' topics")
        sensor.send(reading(48.0, clock(), id="r1"))
        sensor.send(reading(83.5, clock(), id="r2"))  # fast: both links
        sensor.send(b"{not json")
        sensor.send(b'{"pad": "' + b"x" * MAX_READING_BYTES + b'"}')
        sensor.send(reading(-5.0, clock()))  # out of the schema
        sensor.send(reading(50.0, clock(), sensor="radar-9"))  # names another sensor than its topic's
        sensor.send(reading(83.5, clock(), id="r2"))  # a repeat
        sensor.send(reading(52.0, clock(), direction="receding"))  # after all that: still read
        wait_for(lambda: subscriber.handled == 3, 10, "the three valid readings handed over")
        assert dict(subscriber.dropped) == {
            "too_large": 1,
            "malformed": 2,
            "wrong_sensor": 1,
            "duplicate": 1,
            "queue_full": 0,
        }
        assert subscriber.received["radar-1"] == 8
        statistics = SqlSensorStatistics(create_engine(f"sqlite:///{tmp_path / 'vigie.db'}"))
        assert statistics.list() == [], "nothing is stored before the bucket closes; never a reading"
        clock.advance(seconds=60)
        rows = wait_for(statistics.list, 10, "the closed bucket written")
        by_measure = {row.measure: row for row in rows}
        approaching = by_measure["vehicles.approaching"]
        assert (approaching.count, approaching.total, approaching.maximum) == (2, 131.5, 83.5)
        assert approaching.start == start and approaching.end == start + timedelta(seconds=60)
        assert by_measure["vehicles.receding"].count == 1
        audit = SqlAuditStore(create_engine(f"sqlite:///{tmp_path / 'vigie.db'}"))
        fired = [r for r in audit.records() if r.action == AuditAction.SENSOR_LINK_TRIGGERED]
        assert sorted((r.actor, r.details["action"], r.details["measured"]) for r in fired) == [
            ("sensor-link:fast-mark", "bookmark", 83.5),
            ("sensor-link:fast-wall", "show_on_wall", 83.5),
        ], "one fast vehicle, its two links; slow ones and dropped messages trigger nothing"
        assert all(r.target == "sensor:radar-1" and r.details["cameras"] == ["cam-t1"] for r in fired)
        assert [e.action for e in service.sensor_links.recent(camera_id="cam-t1")] == ["bookmark", "show_on_wall"]
        assert service.api_services.metrics is not None
        exposition = service.api_services.metrics.render_for(f"Bearer {TOKEN}").decode()
        assert "vigie_sensor_connected 1.0" in exposition
        assert 'vigie_sensor_messages_received_total{sensor="radar-1"} 8.0' in exposition
        assert 'vigie_sensor_messages_dropped_total{reason="malformed"} 2.0' in exposition
        assert 'vigie_sensor_links_triggered_total{rule="fast-mark"} 1.0' in exposition
    finally:
        subscriber.stop()
        sensor.close()


@pytest.mark.parametrize("high_descriptors", [False, True], ids=["descriptors-as-they-come", "descriptors-above-1024"])
def test_the_service_starts_and_stops_the_subscriber(
    tmp_path: Path, broker: MosquittoBroker, monkeypatch: pytest.MonkeyPatch, high_descriptors: bool
) -> None:
    """``vigie serve``'s start subscribes; its stop writes the bucket still open (a bucket cut short is kept).

    Also where every descriptor is numbered above 1024, as in a serve with hundreds of cameras: paho's own loop
    (``select.select``) lost the connection there at once, forever (CI)."""
    monkeypatch.setenv("VIGIE_TEST_MQTT_PASSWORD", SERVICE_PASSWORD)
    with descriptors_above_1024() if high_descriptors else nullcontext():
        service = VigieService(load_config_text(config_text(tmp_path, broker.port)))
        assert service.sensors is not None
        sensor = Sensor(broker)
        service.start()
        try:
            wait_for(service.sensors.connected.is_set, 10, "the service subscribed")
            sensor.send(reading(40.0, datetime.now(UTC)))
            wait_for(lambda: service.sensors is not None and service.sensors.handled == 1, 10, "the reading handled")
        finally:
            service.stop()
            sensor.close()
    rows = SqlSensorStatistics(create_engine(f"sqlite:///{tmp_path / 'vigie.db'}")).list()
    assert [(r.measure, r.count) for r in rows] == [("vehicles.approaching", 1)]


def test_the_demo_radar_feeds_the_demo_service(tmp_path: Path) -> None:
    """``vigie demo --mqtt``: the demo's configuration reads its simulated radar, which publishes to the broker."""
    with mosquitto(tmp_path / "broker", {}, anonymous=True) as anonymous_broker:
        config = demo_config(
            tmp_path / "demo",
            "127.0.0.1",
            8080,
            {"sim1": "file:///street.mp4"},
            mqtt=f"127.0.0.1:{anonymous_broker.port}",
        )
        assert config.sensors.enabled and [s.id for s in config.sensors.sensors] == ["radar-1"]
        service = VigieService(config, simulated_cameras=frozenset({"sim1"}))
        assert service.sensors is not None
        # the peak hour on the radar's own clock: readings come every second or so
        clock = FakeClock(datetime(2026, 3, 2, 7, 0, tzinfo=UTC))
        radar = demo_radar(config, clock)
        assert radar is not None
        service.sensors.start()
        try:
            wait_for(service.sensors.connected.is_set, 10, "the demo subscribed")
            with radar:
                for _ in range(20):  # the radar's clock runs a minute a step: about 15 vehicles a step
                    clock.advance(minutes=1)
                    if service.sensors.handled >= 20:
                        break
                    wait_for(lambda: radar.published > 0, 10, "the radar published")
                wait_for(lambda: service.sensors is not None and service.sensors.handled >= 20, 10, "readings read")
            assert service.sensors.dropped.total() == 0, "the simulated radar's readings are all valid"
        finally:
            service.sensors.stop()
