"""The house rule "every config field has a title and a description", enforced on the models and on the
generated JSON Schema; and every model refuses unknown keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from vigie.config import VigieConfig
from vigie.config.explain import _models_in


def all_models(root: type[BaseModel] = VigieConfig) -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()
    pending = [root]
    while pending:
        model = pending.pop()
        if model in found:
            continue
        found.add(model)
        for info in model.model_fields.values():
            pending.extend(_models_in(info.annotation))
    return found


def properties(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            yield f"{path}.{name}", prop
        for key, value in node.items():
            yield from properties(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from properties(value, f"{path}[{index}]")


def test_every_model_is_reached() -> None:
    names = {model.__name__ for model in all_models()}
    assert {"Camera", "Authorisation", "AnalysisZone", "PrivacyMaskZone", "DirectedLineZone", "MotionSettings"} <= names
    assert {"ModelDetectorSettings", "HotBlobDetectorSettings"} <= names
    assert {"TlsSettings", "SecuritySettings"} <= names
    assert {"WorkerSettings", "DetectorSettings", "ClusterSettings", "OnvifSettings", "PtzPrivacyMask"} <= names
    assert {"MqttSettings", "MqttTlsSettings", "WebhooksSettings", "WebhookEndpoint"} <= names
    assert {"SpeakerSettings", "SpeakerMessage", "Speaker", "SimulatedDriver", "HttpDriver", "SipDriver"} <= names
    assert {"SensorsSettings", "Sensor", "Position", "SensorLink", "SpeedAbove", "PresenceDetected"} <= names
    assert {"OccupancyAbove", "ShowOnWall", "GotoPreset", "Bookmark", "PrivacySettings"} <= names
    assert "Signage" in names  # a site's or a camera's signage record (L7)
    # with auth and auth.oidc, api.tls, security, workers, workers.detector, cluster, a camera's onvif and its dome
    # optics, dome masks, one class per detector, mqtt and mqtt.tls, webhooks and its endpoints, speakers (messages,
    # devices, three drivers), sensors (a sensor, its position, a link, three conditions, three actions), signage,
    # privacy, map, alerts (priorities)
    assert "AlertSettings" in names
    assert len(names) == 52


@pytest.mark.parametrize("model", sorted(all_models(), key=lambda m: m.__name__), ids=lambda m: m.__name__)
def test_model_rules(model: type[BaseModel]) -> None:
    assert model.model_config.get("extra") == "forbid"
    assert model.model_config.get("frozen") is True
    assert model.__doc__
    for name, info in model.model_fields.items():
        assert info.title, f"{model.__name__}.{name} has no title"
        assert info.description, f"{model.__name__}.{name} has no description"


def test_json_schema_properties_all_have_title_and_description() -> None:
    schema = VigieConfig.model_json_schema()
    props = list(properties(schema))
    assert len(props) > 40
    for path, prop in props:
        assert prop.get("title"), f"{path} has no title"
        assert prop.get("description"), f"{path} has no description"
    assert schema["additionalProperties"] is False
    assert all(d.get("additionalProperties") is False for d in schema["$defs"].values() if d.get("type") == "object")


def test_schema_in_serialisation_mode_too() -> None:
    props = list(properties(VigieConfig.model_json_schema(mode="serialization")))
    assert len(props) > 40
    for _, prop in props:
        assert prop.get("title") and prop.get("description")


def test_validation_errors_never_show_input_values() -> None:
    data = {"version": 1, "storage": {"database_url": "oracle://u:t0p-secret@h/x"}}
    with pytest.raises(ValidationError) as caught:
        VigieConfig.model_validate(data)
    assert "t0p-secret" not in str(caught.value)


def test_config_is_immutable() -> None:
    config = VigieConfig.model_validate({"version": 1})
    with pytest.raises(ValidationError):
        config.api.port = 9  # type: ignore[misc]
    assert config.storage.database_url == "sqlite:///var/vigie.db"
    assert str(config.storage.data_dir) == "var"
    assert (config.api.host, config.api.port) == ("127.0.0.1", 8080)
    assert config.communes == ()


def test_repr_never_shows_urls_that_may_carry_credentials() -> None:
    from config_samples import BASE

    from vigie.config import load_config_text

    text = BASE.replace("rtsp://cam-001.example.invalid", "rtsp://op:hunter2-x@cam-001.example.invalid")
    text = text.replace("sqlite:///var/vigie.db", "postgresql://vigie:hunter2-x@db.example.invalid/v")
    config = load_config_text(text, "t.yaml")
    assert "hunter2-x" in config.communes[0].sites[0].cameras[0].main_stream
    assert "hunter2-x" not in repr(config)
    assert "hunter2-x" not in str(config)
