"""What a sensor publishes to Vigie over MQTT (issue 21): one JSON reading per message on
``<prefix>/<commune>/sensors/<sensor>``.

There is no standard MQTT format for traffic radars or presence sensors: each maker has its own (and most speak
Modbus, a serial line or their own HTTP push). The nearest standard vocabulary is FIWARE's
``TrafficFlowObserved`` (smart-data-models ``dataModel.Transportation``: ``averageVehicleSpeed``,
``laneDirection`` ``forward``/``backward``, ``occupancy`` as a ratio, ``intensity`` per period); these readings
borrow its units and its words where they fit, per vehicle rather than per period, and a small bridge on the
sensor's side (Node-RED, a gateway's script) turns a maker's format into them.

A reading is bounded (short strings, bounded numbers, extra keys refused) and names the sensor it comes from; it
identifies no one: a speed, a direction, a lane, a ratio, a presence, never a plate, an image or a device id of a
person (docs/integrations.md, *Sensors*).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from vigie.devices.mqtt.payloads import SCHEMA_BASE

MAX_READING_BYTES = 4096
"""A message larger than this is dropped unread (a reading is a few hundred bytes)."""
SENSOR_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
ZONE_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"

Direction = Literal["approaching", "receding"]
"""A radar's two directions: towards the radar (FIWARE ``laneDirection`` ``forward``) or away from it."""


class _Reading(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["sensor.reading"] = Field(title="Message type")
    version: Literal[1] = Field(title="Format version")
    id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        title="Message id",
        description="Optional id of this reading (a UUID or a counter): a reading whose id was seen lately from "
        "the same sensor is dropped (QoS 1 delivers at least once).",
    )
    sensor: str = Field(
        pattern=SENSOR_ID_PATTERN,
        title="Sensor id",
        description="The sensor's id in Vigie's configuration; must be the one of the topic.",
    )
    observed_at: AwareDatetime = Field(
        title="Observed at", description="When the sensor measured it, with its time zone (RFC 3339)."
    )


class RadarReading(_Reading):
    """One vehicle measured by a traffic radar."""

    kind: Literal["radar"] = Field(title="Sensor kind")
    speed_kmh: float = Field(ge=0.0, le=400.0, title="Speed (km/h)", description="The vehicle's speed.")
    direction: Direction = Field(
        title="Direction",
        description="`approaching` (towards the radar) or `receding` (away from it).",
    )
    lane: int | None = Field(default=None, ge=1, le=16, title="Lane", description="The lane, numbered by the radar.")
    heading_deg: float | None = Field(
        default=None, ge=0.0, lt=360.0, title="Heading (°)", description="Compass heading of the vehicle, if known."
    )


class PresenceReading(_Reading):
    """Someone or something is present in a sensor's zone, or no longer (a PIR or a radar presence detector)."""

    kind: Literal["presence"] = Field(title="Sensor kind")
    present: bool = Field(title="Present", description="`true`: presence detected; `false`: the zone is empty.")
    zone: str | None = Field(default=None, pattern=ZONE_PATTERN, title="Zone", description="The sensor's zone.")


class OccupancyReading(_Reading):
    """How full a zone is (a car park, a platform): a ratio, and a count if the sensor has one."""

    kind: Literal["occupancy"] = Field(title="Sensor kind")
    ratio: float = Field(ge=0.0, le=1.0, title="Occupancy ratio", description="0: empty, 1: full.")
    count: int | None = Field(default=None, ge=0, le=100_000, title="Count", description="Objects counted.")
    zone: str | None = Field(default=None, pattern=ZONE_PATTERN, title="Zone", description="The sensor's zone.")


SensorReading = Annotated[RadarReading | PresenceReading | OccupancyReading, Field(discriminator="kind")]
SensorKind = Literal["radar", "presence", "occupancy"]


READING = TypeAdapter[RadarReading | PresenceReading | OccupancyReading](SensorReading)


def parse_reading(data: bytes) -> RadarReading | PresenceReading | OccupancyReading:
    """The reading in ``data`` (UTF-8 JSON); a :class:`pydantic.ValidationError` when it is not one."""
    return READING.validate_json(data)


def reading_schema() -> dict[str, Any]:
    """The JSON Schema of a reading (a ``oneOf`` on ``kind``), with its ``$id``."""
    schema = READING.json_schema()
    return {
        "$id": f"{SCHEMA_BASE}mqtt-sensor-reading.json",
        "title": "Sensor reading",
        "description": "One reading of a radar, a presence or an occupancy sensor, published by the sensor on "
        "`<prefix>/<commune>/sensors/<sensor>` (docs/integrations.md).",
        **schema,
    }


def sensor_topic(prefix: str, commune: str, sensor: str) -> str:
    return f"{prefix}/{commune}/sensors/{sensor}"


def encoded(reading: RadarReading | PresenceReading | OccupancyReading) -> bytes:
    return reading.model_dump_json(exclude_none=True).encode("utf-8")
