"""What a webhook carries (issue 21): the same payloads as MQTT's ``alerts`` and ``health`` topics (built by
:mod:`vigie.devices.notices`), as the body of a POST; their JSON Schemas are published in ``docs/schemas/``
(``webhook-*.json``, a test checks the committed files are the generated ones)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vigie.devices.mqtt.payloads import SCHEMA_BASE, AlertConfirmed, HealthNotice
from vigie.devices.mqtt.payloads import write_schemas as write_mqtt_schemas

SCHEMAS: dict[str, tuple[type[AlertConfirmed] | type[HealthNotice], str]] = {
    "webhook-alert-confirmed.json": (
        AlertConfirmed,
        "An alert a person confirmed, POSTed to the webhook endpoints taking `alert.confirmed` for its commune.",
    ),
    "webhook-health.json": (
        HealthNotice,
        "A recording gap or a stream alarm (L18), POSTed to the webhook endpoints taking `health` for its commune.",
    ),
}


def schema_documents() -> dict[str, dict[str, Any]]:
    """The JSON Schema of each webhook body, by file name: the MQTT payload's, with its own ``$id`` and
    description."""
    documents = {}
    for name, (model, description) in SCHEMAS.items():
        document = {"$schema": "https://json-schema.org/draft/2020-12/schema", **model.model_json_schema()}
        document.update({"$id": f"{SCHEMA_BASE}{name}", "description": description})
        documents[name] = document
    return documents


def write_schemas(folder: Path) -> list[Path]:
    """Write the schema files (``python -c 'import pathlib; from vigie.devices.webhooks.payloads import
    write_schemas; write_schemas(pathlib.Path("docs/schemas"))'``); the paths written."""
    return write_mqtt_schemas(folder, schema_documents())
