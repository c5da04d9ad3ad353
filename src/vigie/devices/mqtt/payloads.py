"""What Vigie publishes over MQTT: the topics and the JSON payloads (issue 21).

Three kinds of message, per commune (`<prefix>` is `mqtt.topic_prefix`, `vigie` by default):

* `<prefix>/<commune>/alerts` — an alert a person **confirmed**, and nothing else: never a pending or a
  dismissed alert, never an image, never a person's name (L27, L28). It says what the module saw (event type,
  camera, time, image region) and the decision (the verdict, the deciding role, when).
* `<prefix>/<commune>/cameras/<camera>/state` — retained: `online`, `degraded` or `offline`, as operators see
  it in the console.
* `<prefix>/<commune>/health` — recording gaps (a camera that should record has no footage) and stream alarms
  (frozen, lost or substituted streams, L18).

The pydantic models below are the source of the JSON Schemas published in `docs/schemas/` (a test checks that
the committed files are the generated ones). Every payload has an `id` (a UUID): QoS 1 delivers at least once,
consumers drop an id they have seen.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_BASE = "https://vigie.invalid/schemas/"
"""Base of the schemas' `$id` (a name, not a place to fetch them from: they are in docs/schemas/)."""


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CameraRef(_Payload):
    """The camera a message is about."""

    id: str = Field(title="Camera id", description="The camera's id in Vigie's configuration.")
    name: str = Field(title="Camera name", description="The camera's name, as operators see it.")
    site: str = Field(title="Site id", description="The site of the commune the camera belongs to.")


class Region(_Payload):
    """Where in the picture the event was seen: a box in coordinates normalised to the picture (0..1)."""

    x: float = Field(ge=0.0, le=1.0, title="Left")
    y: float = Field(ge=0.0, le=1.0, title="Top")
    w: float = Field(ge=0.0, le=1.0, title="Width")
    h: float = Field(ge=0.0, le=1.0, title="Height")


class AlertFacts(_Payload):
    """What the event module saw (L28: event type, camera, time and image region, nothing more)."""

    id: int = Field(title="Alert id", description="The alert's id in Vigie (the console's alert page).")
    module: str = Field(title="Module", description="The event module that raised it (e.g. `abandoned_object`).")
    kind: str = Field(title="Event type", description="What was seen (e.g. `abandoned_object`).")
    seen_at: datetime = Field(title="Seen at", description="When the event was seen (the analysed frame's time).")
    region: Region = Field(title="Image region", description="Where in the picture.")


class Decision(_Payload):
    """The person's decision that let the alert out of the console (never their name, kept in Vigie's audit)."""

    verdict: Literal["confirmed"] = Field(title="Verdict", description="Always `confirmed`: nothing else is sent.")
    role: str = Field(title="Role", description="The deciding person's role (`operator` or `supervisor`).")
    decided_at: datetime = Field(title="Decided at", description="When the person confirmed the alert.")


class AlertConfirmed(_Payload):
    """An alert a person confirmed: published on `<prefix>/<commune>/alerts`, QoS 1, not retained."""

    model_config = ConfigDict(
        json_schema_extra={"$id": f"{SCHEMA_BASE}mqtt-alert-confirmed.json"}, extra="forbid", frozen=True
    )

    id: str = Field(title="Message id", description="UUID of this message; drop one whose id you have seen.")
    type: Literal["alert.confirmed"] = Field(title="Message type")
    version: Literal[1] = Field(title="Format version")
    commune: str = Field(title="Commune id")
    camera: CameraRef = Field(title="Camera")
    alert: AlertFacts = Field(title="Alert")
    decision: Decision = Field(title="Decision")
    written_at: datetime = Field(title="Written at", description="When Vigie wrote the message (with the verdict).")


CameraStateValue = Literal["online", "degraded", "offline"]


class CameraState(_Payload):
    """A camera's state: published on `<prefix>/<commune>/cameras/<camera>/state`, QoS 1, **retained** (a new
    subscriber gets the latest at once)."""

    model_config = ConfigDict(
        json_schema_extra={"$id": f"{SCHEMA_BASE}mqtt-camera-state.json"}, extra="forbid", frozen=True
    )

    id: str = Field(title="Message id", description="UUID of this message.")
    type: Literal["camera.state"] = Field(title="Message type")
    version: Literal[1] = Field(title="Format version")
    commune: str = Field(title="Commune id")
    camera: CameraRef = Field(title="Camera")
    state: CameraStateValue = Field(
        title="State",
        description="`online`: the stream is delivered; `degraded`: delivered but not trusted (a stream alarm, a "
        "low rate); `offline`: not delivered.",
    )
    since: datetime = Field(title="Since", description="The health report that gave this state.")
    reason: str = Field(default="", max_length=500, title="Reason", description="Why, for a person (no credential).")
    written_at: datetime = Field(title="Written at", description="When Vigie wrote the message.")


HealthEvent = Literal[
    "recording_gap_opened",
    "recording_gap_closed",
    "recording_gap_found",
    "stream_alarm_raised",
    "stream_alarm_cleared",
]


class HealthNotice(_Payload):
    """A recording gap or a stream alarm (L18): published on `<prefix>/<commune>/health`, QoS 1, not retained."""

    model_config = ConfigDict(json_schema_extra={"$id": f"{SCHEMA_BASE}mqtt-health.json"}, extra="forbid", frozen=True)

    id: str = Field(title="Message id", description="UUID of this message; drop one whose id you have seen.")
    type: Literal["health"] = Field(title="Message type")
    version: Literal[1] = Field(title="Format version")
    commune: str = Field(title="Commune id")
    camera: CameraRef = Field(title="Camera")
    event: HealthEvent = Field(
        title="Event",
        description="`recording_gap_opened`: a camera that should record has had no footage for too long (the "
        "alarm); `recording_gap_closed`: recording resumed (`ended_at` set); `recording_gap_found`: a gap already "
        "over, found between two segments; `stream_alarm_raised`/`_cleared`: a stream alarm (`alarm`).",
    )
    alarm: str | None = Field(
        default=None,
        title="Stream alarm",
        description="For a stream alarm: `no_packets`, `frozen_picture`, `stream_changed`, `scene_changed`, "
        "`image_too_blurry`, `image_too_dark` or `tampered`.",
    )
    started_at: datetime = Field(title="Started at", description="When the gap or the alarm began.")
    ended_at: datetime | None = Field(default=None, title="Ended at", description="When it ended; null: still on.")
    detail: str = Field(default="", max_length=500, title="Detail", description="What was seen, for a person.")
    written_at: datetime = Field(title="Written at", description="When Vigie wrote the message.")


PAYLOADS: dict[str, type[_Payload]] = {
    "mqtt-alert-confirmed.json": AlertConfirmed,
    "mqtt-camera-state.json": CameraState,
    "mqtt-health.json": HealthNotice,
}
"""The schema file of each payload, under docs/schemas/."""


def schema_documents() -> dict[str, dict[str, Any]]:
    """The JSON Schema of each payload, by its file name (draft 2020-12, as pydantic writes it): what Vigie publishes,
    and the sensors' readings it reads."""
    from vigie.devices.sensors.payloads import reading_schema  # what sensors publish to Vigie (it imports this)

    documents = {name: model.model_json_schema() for name, model in PAYLOADS.items()}
    documents["mqtt-sensor-reading.json"] = reading_schema()
    return {name: {"$schema": "https://json-schema.org/draft/2020-12/schema", **doc} for name, doc in documents.items()}


def schema_text(document: dict[str, Any]) -> str:
    """How a schema file is written: two-space indentation, keys in the models' order, a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_schemas(folder: Path, documents: dict[str, dict[str, Any]] | None = None) -> list[Path]:
    """Write the schema files (`python -c 'from vigie.devices.mqtt.payloads import write_schemas as w;
    w(__import__("pathlib").Path("docs/schemas"))'`), ``documents`` (by file name) or these payloads'; the paths
    written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in (schema_documents() if documents is None else documents).items():
        path = folder / name
        path.write_text(schema_text(document), encoding="utf-8")
        written.append(path)
    return written


def alerts_topic(prefix: str, commune: str) -> str:
    return f"{prefix}/{commune}/alerts"


def camera_state_topic(prefix: str, commune: str, camera: str) -> str:
    return f"{prefix}/{commune}/cameras/{camera}/state"


def health_topic(prefix: str, commune: str) -> str:
    return f"{prefix}/{commune}/health"


def encoded(payload: _Payload) -> bytes:
    """The bytes published: compact UTF-8 JSON."""
    return payload.model_dump_json().encode("utf-8")
