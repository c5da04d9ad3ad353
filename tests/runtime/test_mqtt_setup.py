"""The ``mqtt`` section as the service reads it (issue 21), no broker needed: off by default (nothing built, no
outbox row), and what cannot be used stops the start with the field named and no secret shown."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.clocks import FakeClock
from tests.support.configs import camera_yaml, config_yaml
from vigie.config import load_config_text
from vigie.domain.actor import Actor
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.runtime.assembly.service import ServiceError, VigieService

MQTT = """mqtt:
  enabled: true
  host: 127.0.0.1
  port: 9
  username: vigie
  password_env: VIGIE_TEST_MQTT_SETUP_PASSWORD
"""


def build(tmp_path: Path, extra: str = "") -> VigieService:
    text = config_yaml(tmp_path, camera_yaml("cam-1", "rtsp://127.0.0.1:9/cam-1"))
    return VigieService(load_config_text(extra + text))


def test_off_by_default(tmp_path: Path) -> None:
    service = build(tmp_path)
    assert service.mqtt is None, "nothing is built, nothing connects, no outbox row is written"


def test_a_missing_password_variable_names_the_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIGIE_TEST_MQTT_SETUP_PASSWORD", raising=False)
    with pytest.raises(ServiceError, match=r"mqtt\.password_env.*VIGIE_TEST_MQTT_SETUP_PASSWORD"):
        build(tmp_path, MQTT)


def test_an_unreadable_ca_file_names_the_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIE_TEST_MQTT_SETUP_PASSWORD", "secret-never-shown")
    missing = tmp_path / "no-such-ca.pem"
    with pytest.raises(ServiceError, match=r"mqtt\.tls\.ca_file") as caught:
        build(tmp_path, MQTT + f"  tls: {{ca_file: {missing}}}\n")
    assert "secret-never-shown" not in str(caught.value)


def test_the_alert_store_writes_the_outbox_only_when_enabled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The broker is away (port 9): a confirmation is recorded at once, its message waits in the outbox."""
    monkeypatch.setenv("VIGIE_TEST_MQTT_SETUP_PASSWORD", "secret-never-shown")
    clock = FakeClock()
    service = VigieService(
        load_config_text(MQTT + config_yaml(tmp_path, camera_yaml("cam-1", "rtsp://127.0.0.1:9/cam-1"))), clock=clock
    )
    assert service.mqtt is not None
    alert = service.alerts.raise_alert(Observation("cam-1", "intrusion", "intrusion", clock(), (Box(0, 0, 1, 1),), 0.8))
    assert alert.id is not None
    assert service.mqtt.outbox.count_unsent() == 0, "a pending alert writes nothing (L28)"
    service.alerts.confirm(alert.id, by=Actor("agent", "operator", "testville"))
    assert service.mqtt.outbox.count_unsent() == 1


def test_a_recording_gap_alarm_goes_to_the_outbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The monitor's gap ledger is the one wrapped: an alarm written for the health views is a health message."""
    monkeypatch.setenv("VIGIE_TEST_MQTT_SETUP_PASSWORD", "secret-never-shown")
    clock = FakeClock(datetime.now(UTC))  # the camera's authorisation runs around today: it should record
    service = VigieService(
        load_config_text(MQTT + config_yaml(tmp_path, camera_yaml("cam-1", "rtsp://127.0.0.1:9/cam-1"))), clock=clock
    )
    assert service.mqtt is not None
    service.monitor.tick(clock())
    clock.advance(minutes=5)  # no segment of cam-1 for five minutes: the alarm
    service.monitor.tick(clock())
    events = [json.loads(m.payload) for m in service.mqtt.outbox.unsent(10)]
    assert [(e["event"], e["camera"]["id"], e["commune"]) for e in events] == [
        ("recording_gap_opened", "cam-1", "testville")
    ]


def test_the_metrics_say_what_waits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIE_TEST_MQTT_SETUP_PASSWORD", "secret-never-shown")
    token = "t" * 40
    (tmp_path / "metrics.token").write_text(token)
    text = config_yaml(tmp_path, camera_yaml("cam-1", "rtsp://127.0.0.1:9/cam-1"))
    text = text.replace("port: 8080}", f"port: 8080, metrics_token_file: {tmp_path / 'metrics.token'}}}")
    clock = FakeClock()
    service = VigieService(load_config_text(MQTT + text), clock=clock)
    alert = service.alerts.raise_alert(Observation("cam-1", "intrusion", "intrusion", clock(), (Box(0, 0, 1, 1),), 0.8))
    assert alert.id is not None and service.api_services.metrics is not None
    service.alerts.confirm(alert.id, by=Actor("agent", "operator", "testville"))
    exposition = service.api_services.metrics.render_for(f"Bearer {token}").decode()
    assert "vigie_mqtt_connected 0.0" in exposition
    assert "vigie_mqtt_outbox_waiting 1.0" in exposition
    assert "vigie_mqtt_messages_refused_total 0.0" in exposition
