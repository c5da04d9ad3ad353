"""The ``sensors`` section (issue 21): off by default; sensors of a commune of the file, links naming that commune's
cameras with a closed vocabulary of actions (nothing acting on people); every error names what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError
from tests.support.configs import camera_data

from vigie.config.models import VigieConfig
from vigie.config.sensors import (
    Bookmark,
    GotoPreset,
    OccupancyAbove,
    Position,
    PresenceDetected,
    Sensor,
    SensorLink,
    SensorsSettings,
    ShowOnWall,
    SpeedAbove,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
MQTT = {"enabled": True, "host": "127.0.0.1"}
RADAR = {"id": "radar-1", "commune": "testville", "kind": "radar"}
FAST = {"kind": "speed_above", "kmh": 70}


def traffic(camera: dict[str, Any]) -> dict[str, Any]:
    """``camera`` authorised for traffic regulation too: a radar's speeds may be tied to its pictures."""
    purposes = ["crime_prevention", "traffic_regulation"]
    return {**camera, "authorisation": {**camera["authorisation"], "purposes": purposes}}


def dome() -> dict[str, Any]:
    return traffic(camera_data(id="dome-1", kind="ptz", onvif={"host": "127.0.0.1"}, credentials="dome-account"))


def load(sensors: dict[str, Any], *, mqtt: dict[str, Any] = MQTT) -> VigieConfig:
    communes = [
        {
            "id": "testville",
            "name": "Testville",
            "kind": "municipal",
            "sites": [
                {
                    "id": "centre",
                    "name": "Centre",
                    "cameras": [traffic(camera_data(id="cam-1")), camera_data(id="cam-2"), dome()],
                }
            ],
        },
        {
            "id": "autreville",
            "name": "Autreville",
            "kind": "municipal",
            "sites": [{"id": "gare", "name": "Gare", "cameras": [camera_data(id="cam-9")]}],
        },
    ]
    return VigieConfig.model_validate({"version": 1, "mqtt": mqtt, "sensors": sensors, "communes": communes})


def test_off_by_default() -> None:
    config = VigieConfig.model_validate({"version": 1})
    assert config.sensors == SensorsSettings() and not config.sensors.enabled
    assert config.sensors.sensors == () and config.sensors.links == ()


def test_sensors_and_their_links_are_read() -> None:
    config = load(
        {
            "enabled": True,
            "sensors": [RADAR, {"id": "pir-1", "commune": "testville", "kind": "presence"}],
            "links": [
                {
                    "id": "fast",
                    "sensor": "radar-1",
                    "when": FAST,
                    "then": {"kind": "bookmark", "cameras": ["cam-1"], "label": "vitesse > 70"},
                },
                {
                    "id": "someone",
                    "sensor": "pir-1",
                    "when": {"kind": "presence"},
                    "then": {"kind": "goto_preset", "camera": "dome-1", "preset": "entrée"},
                },
            ],
        }
    )
    fast, someone = config.sensors.links
    assert fast.then == Bookmark(kind="bookmark", cameras=("cam-1",), label="vitesse > 70")
    assert someone.then == GotoPreset(kind="goto_preset", camera="dome-1", preset="entrée")
    assert fast.min_interval_s == 60.0


@pytest.mark.parametrize(
    ("sensors", "mqtt", "message"),
    [
        ({"enabled": True}, {}, "sensors.enabled needs mqtt.enabled"),
        ({"enabled": True, "sensors": [{**RADAR, "commune": "nowhere"}]}, MQTT, "no commune 'nowhere'"),
        ({"enabled": True, "sensors": [RADAR, RADAR]}, MQTT, "sensor ids must be unique"),
        (
            {
                "enabled": True,
                "sensors": [RADAR],
                "links": [
                    {
                        "id": "l",
                        "sensor": "radar-2",
                        "when": FAST,
                        "then": {"kind": "show_on_wall", "cameras": ["cam-1"]},
                    }
                ],
            },
            MQTT,
            "no sensor 'radar-2'",
        ),
        (
            {
                "enabled": True,
                "sensors": [RADAR],
                "links": [
                    {
                        "id": "l",
                        "sensor": "radar-1",
                        "when": {"kind": "presence"},
                        "then": {"kind": "show_on_wall", "cameras": ["cam-1"]},
                    }
                ],
            },
            MQTT,
            "condition presence reads a presence sensor, and radar-1 is a radar",
        ),
        (
            {
                "enabled": True,
                "sensors": [RADAR],
                "links": [
                    {
                        "id": "l",
                        "sensor": "radar-1",
                        "when": FAST,
                        "then": {"kind": "show_on_wall", "cameras": ["cam-7"]},
                    }
                ],
            },
            MQTT,
            "no camera 'cam-7'",
        ),
        (
            {
                "enabled": True,
                "sensors": [RADAR],
                "links": [
                    {
                        "id": "l",
                        "sensor": "radar-1",
                        "when": FAST,
                        "then": {"kind": "show_on_wall", "cameras": ["cam-9"]},
                    }
                ],
            },
            MQTT,
            "camera cam-9 is of commune autreville",
        ),
        (
            {
                "enabled": True,
                "sensors": [RADAR],
                "links": [
                    {
                        "id": "l",
                        "sensor": "radar-1",
                        "when": FAST,
                        "then": {"kind": "goto_preset", "camera": "cam-1", "preset": "p"},
                    }
                ],
            },
            MQTT,
            "goto_preset needs a dome",
        ),
        (
            {
                "enabled": True,
                "sensors": [RADAR],
                "links": [
                    {
                        "id": "l",
                        "sensor": "radar-1",
                        "when": FAST,
                        "then": {"kind": "bookmark", "cameras": ["cam-2"], "label": "vite"},
                    }
                ],
            },
            MQTT,
            "camera cam-2, whose authorisation has no traffic purpose",
        ),
    ],
)
def test_what_is_refused_names_it(sensors: dict[str, Any], mqtt: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        load(sensors, mqtt=mqtt)


@pytest.mark.parametrize("action", ["play_message", "loudspeaker", "raise_alert", "webhook"])
def test_a_sensor_cannot_act_on_people(action: str) -> None:
    """The actions are a closed list acting on cameras only: a loudspeaker, an alert or a call out is refused."""
    with pytest.raises(ValidationError, match="then"):
        load(
            {
                "enabled": True,
                "sensors": [RADAR],
                "links": [
                    {"id": "l", "sensor": "radar-1", "when": FAST, "then": {"kind": action, "cameras": ["cam-1"]}}
                ],
            }
        )


MODELS = [
    SensorsSettings,
    Sensor,
    Position,
    SensorLink,
    SpeedAbove,
    PresenceDetected,
    OccupancyAbove,
    ShowOnWall,
    GotoPreset,
    Bookmark,
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_field_is_in_the_configuration_guide(model: type[BaseModel]) -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [name for name in model.model_fields if f"`{name}`" not in text]
    assert not missing, f"docs/configuration.md does not describe {model.__name__} fields {missing}"


def test_the_example_links_fit_its_cameras_once_switched_on() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "metropole.yaml"
    data = yaml.safe_load(example.read_text(encoding="utf-8"))
    assert data["sensors"]["enabled"] is False, "off in the example, as by default"
    data["mqtt"]["enabled"] = data["sensors"]["enabled"] = True
    links = VigieConfig.model_validate(data).sensors.links
    assert {link.then.kind for link in links} == {"bookmark", "goto_preset"}
