"""Webhook bodies (issue 21): the committed JSON Schemas (docs/schemas/webhook-*.json) are the generated ones, and
they describe the very payloads MQTT publishes (one builder, vigie.devices.notices)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vigie.devices.mqtt.payloads import schema_documents as mqtt_schemas
from vigie.devices.mqtt.payloads import schema_text
from vigie.devices.webhooks.payloads import schema_documents

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
REGENERATE = (
    "python -c 'import pathlib; from vigie.devices.webhooks.payloads import write_schemas; "
    'write_schemas(pathlib.Path("docs/schemas"))\''
)


@pytest.mark.parametrize("name", sorted(schema_documents()))
def test_the_committed_schemas_are_the_generated_ones(name: str) -> None:
    committed = (SCHEMAS / name).read_text(encoding="utf-8")
    assert committed == schema_text(schema_documents()[name]), f"regenerate them: {REGENERATE}"


@pytest.mark.parametrize(
    ("webhook", "mqtt"),
    [("webhook-alert-confirmed.json", "mqtt-alert-confirmed.json"), ("webhook-health.json", "mqtt-health.json")],
)
def test_a_webhook_carries_the_mqtt_payload(webhook: str, mqtt: str) -> None:
    def fields(document: dict[str, object]) -> str:
        return json.dumps({k: v for k, v in document.items() if k not in ("$id", "description")}, sort_keys=True)

    assert fields(schema_documents()[webhook]) == fields(mqtt_schemas()[mqtt])
