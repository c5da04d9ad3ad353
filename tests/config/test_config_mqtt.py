"""The ``mqtt`` section (issue 21): off by default, what it accepts and refuses (the field named), every field
documented."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from vigie.config import ConfigError, load_config, load_config_text
from vigie.config.models import MqttSettings, MqttTlsSettings, VigieConfig

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"


def load(**sections: object) -> VigieConfig:
    return VigieConfig.model_validate({"version": 1, **sections})


def test_off_by_default() -> None:
    config = load()
    assert config.mqtt == MqttSettings()
    assert not config.mqtt.enabled and config.mqtt.host is None
    assert config.mqtt.topic_prefix == "vigie" and config.mqtt.qos == 1


def test_a_tls_broker_with_a_password_variable_is_read() -> None:
    config = load(
        mqtt={
            "enabled": True,
            "host": "mqtt.metropole.example",
            "tls": {"ca_file": "/etc/vigie/mqtt-ca.pem"},
            "username": "vigie",
            "password_env": "VIGIE_MQTT_PASSWORD",
            "topic_prefix": "metropole/vigie",
            "client_id": "vigie-serve",
            "session_expiry_s": 3600,
        }
    )
    assert config.mqtt.tls == MqttTlsSettings(ca_file=Path("/etc/vigie/mqtt-ca.pem"))
    assert config.mqtt.broker_port == 8883
    assert load(mqtt={"enabled": True, "host": "127.0.0.1"}).mqtt.broker_port == 1883


@pytest.mark.parametrize(
    ("mqtt", "message"),
    [
        ({"enabled": True}, "mqtt.host is required"),
        ({"enabled": True, "host": "mqtt.metropole.example"}, "mqtt.tls is required"),
        ({"enabled": True, "host": "127.0.0.1", "password": "in-the-file"}, "password"),
        ({"enabled": True, "host": "127.0.0.1", "password_env": "not a name"}, "password_env"),
        ({"enabled": True, "host": "127.0.0.1", "topic_prefix": "vigie/#"}, "topic_prefix"),
        ({"enabled": True, "host": "127.0.0.1", "topic_prefix": "$SYS"}, "topic_prefix"),
        ({"enabled": True, "host": "127.0.0.1", "qos": 0}, "qos"),
        ({"enabled": True, "host": "127.0.0.1", "tls": {"client_certificate_file": "/c.pem"}}, "client_key_file"),
    ],
)
def test_what_is_refused(mqtt: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        load(mqtt=mqtt)
    assert "in-the-file" not in str(caught.value), "inputs are kept out of the errors"


def test_the_loader_names_the_field_and_its_line() -> None:
    text = "version: 1\nmqtt:\n  enabled: true\n  host: 127.0.0.1\n  port: 70000\n  usernme: vigie\n"
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, "vigie.yaml")
    message = str(caught.value)
    assert "mqtt.port" in message and "vigie.yaml:5" in message
    assert "mqtt.usernme" in message, "an unknown key is refused, not ignored"


@pytest.mark.parametrize("model", [MqttSettings, MqttTlsSettings], ids=lambda m: m.__name__)
def test_every_field_is_in_the_configuration_guide(model: type[BaseModel]) -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [name for name in model.model_fields if f"`{name}`" not in text]
    assert not missing, f"docs/configuration.md does not describe {model.__name__} fields {missing}"


def test_the_example_shows_a_tls_broker_switched_off() -> None:
    mqtt = load_config(ROOT / "examples" / "metropole.yaml").mqtt
    assert not mqtt.enabled and mqtt.tls is not None and mqtt.password_env == "VIGIE_MQTT_PASSWORD"
    assert mqtt.model_copy(update={"enabled": True}).broker_port == 8883
