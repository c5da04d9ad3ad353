"""Sensors (issue 21) without a broker: a reading is what its JSON Schema says and nothing more, a link rule
triggers on what its condition says (and not again within its interval), readings become totals per bucket, and
the simulated radar's traffic validates and looks like a street's."""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from tests.support.clocks import T0
from vigie.config.sensors import SensorLink
from vigie.devices.sensors.links import LinkRules, meets
from vigie.devices.sensors.payloads import (
    MAX_READING_BYTES,
    OccupancyReading,
    PresenceReading,
    RadarReading,
    encoded,
    parse_reading,
)
from vigie.devices.sensors.simulated import SimulatedRadar
from vigie.devices.sensors.statistics import SensorTotals

SCHEMA: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "schemas" / "mqtt-sensor-reading.json").read_text()
)


def radar(speed: float, direction: str = "approaching", sensor: str = "radar-1", at: datetime = T0) -> RadarReading:
    return RadarReading.model_validate(
        {
            "type": "sensor.reading",
            "version": 1,
            "sensor": sensor,
            "kind": "radar",
            "observed_at": at,
            "speed_kmh": speed,
            "direction": direction,
        }
    )


def link(data: dict[str, Any]) -> SensorLink:
    return SensorLink.model_validate({"id": "rule-1", "sensor": "radar-1", **data})


BOOKMARK = {"kind": "bookmark", "cameras": ["cam-1"], "label": "rapide"}


def test_a_reading_is_parsed_and_its_json_validates_against_the_published_schema() -> None:
    text = (
        b'{"type":"sensor.reading","version":1,"sensor":"radar-1","kind":"radar",'
        b'"observed_at":"2026-03-02T07:45:00+01:00","speed_kmh":52.5,"direction":"receding","lane":2}'
    )
    reading = parse_reading(text)
    assert isinstance(reading, RadarReading) and reading.speed_kmh == 52.5 and reading.lane == 2
    jsonschema.validate(json.loads(text), SCHEMA)
    presence = {
        "type": "sensor.reading",
        "version": 1,
        "sensor": "pir-1",
        "kind": "presence",
        "observed_at": "2026-03-02T07:45:00Z",
        "present": True,
        "zone": "hall",
    }
    assert isinstance(parse_reading(json.dumps(presence).encode()), PresenceReading)
    jsonschema.validate(presence, SCHEMA)


@pytest.mark.parametrize(
    "change",
    [
        {"speed_kmh": -3},  # out of range
        {"speed_kmh": 1e9},
        {"direction": "north"},
        {"plate": "AB-123-CD"},  # an extra key: refused, nothing identifying gets in
        {"kind": "lidar"},
        {"sensor": "Radar 1"},
    ],
)
def test_a_reading_out_of_the_schema_is_refused_by_both_the_model_and_the_schema(change: dict[str, Any]) -> None:
    data = {
        "type": "sensor.reading",
        "version": 1,
        "sensor": "radar-1",
        "kind": "radar",
        "observed_at": "2026-03-02T07:45:00Z",
        "speed_kmh": 50,
        "direction": "approaching",
        **change,
    }
    with pytest.raises(ValidationError):
        parse_reading(json.dumps(data).encode())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA)


def test_a_time_without_its_zone_is_refused() -> None:
    """The schema says ``date-time`` (RFC 3339, which requires the offset); the model checks it."""
    data = {
        "type": "sensor.reading",
        "version": 1,
        "sensor": "radar-1",
        "kind": "radar",
        "observed_at": "2026-03-02T07:45:00",
        "speed_kmh": 50,
        "direction": "approaching",
    }
    with pytest.raises(ValidationError, match="timezone"):
        parse_reading(json.dumps(data).encode())
    assert SCHEMA["$defs"]["RadarReading"]["properties"]["observed_at"]["format"] == "date-time"


def test_a_reading_is_far_smaller_than_the_size_limit() -> None:
    assert len(encoded(radar(50.0))) < MAX_READING_BYTES / 10


def test_a_condition_triggers_on_what_it_says_only() -> None:
    fast = link({"when": {"kind": "speed_above", "kmh": 70, "direction": "approaching"}, "then": BOOKMARK})
    assert meets(fast, radar(71.0))
    assert not meets(fast, radar(70.0)), "above, not at"
    assert not meets(fast, radar(90.0, "receding")), "only the direction named"
    assert not meets(fast, radar(90.0, sensor="radar-2")), "only its sensor"
    presence = SensorLink.model_validate({"id": "p", "sensor": "pir-1", "when": {"kind": "presence"}, "then": BOOKMARK})
    seen = PresenceReading.model_validate(
        {
            "type": "sensor.reading",
            "version": 1,
            "sensor": "pir-1",
            "kind": "presence",
            "observed_at": T0,
            "present": True,
        }
    )
    assert meets(presence, seen) and not meets(presence, seen.model_copy(update={"present": False}))
    full = SensorLink.model_validate(
        {"id": "o", "sensor": "park-1", "when": {"kind": "occupancy_above", "ratio": 0.9}, "then": BOOKMARK}
    )
    reading = OccupancyReading.model_validate(
        {
            "type": "sensor.reading",
            "version": 1,
            "sensor": "park-1",
            "kind": "occupancy",
            "observed_at": T0,
            "ratio": 0.95,
        }
    )
    assert meets(full, reading) and not meets(full, reading.model_copy(update={"ratio": 0.5}))


def test_a_rule_waits_its_interval_before_triggering_again() -> None:
    rules = LinkRules([link({"when": {"kind": "speed_above", "kmh": 70}, "then": BOOKMARK, "min_interval_s": 60})])
    assert [r.id for r in rules.triggered(radar(80.0), T0)] == ["rule-1"]
    assert rules.triggered(radar(95.0), T0 + timedelta(seconds=59)) == [], "within the interval"
    assert rules.triggered(radar(50.0), T0 + timedelta(seconds=70)) == [], "a slow car triggers nothing"
    assert [r.id for r in rules.triggered(radar(80.0), T0 + timedelta(seconds=61))] == ["rule-1"]


def test_readings_become_totals_per_bucket_and_nothing_else() -> None:
    totals = SensorTotals(bucket_s=300)
    start = datetime(2026, 3, 2, 7, 45, tzinfo=UTC)
    for offset, speed, direction in ((10, 50.0, "approaching"), (20, 70.0, "approaching"), (30, 40.0, "receding")):
        assert totals.add(radar(speed, direction), start + timedelta(seconds=offset)) == []
    assert totals.closed(start + timedelta(seconds=299)) == [], "the bucket is still open"
    closed = {s.measure: s for s in totals.closed(start + timedelta(seconds=300))}
    assert set(closed) == {"vehicles.approaching", "vehicles.receding"}
    approaching = closed["vehicles.approaching"]
    assert (approaching.count, approaching.total, approaching.maximum) == (2, 120.0, 70.0)
    assert approaching.start == start and approaching.end == start + timedelta(seconds=300)
    assert closed["vehicles.receding"].count == 1
    # a reading in a later bucket closes the earlier one of its measure
    totals.add(radar(30.0), start + timedelta(seconds=400))
    (previous,) = totals.add(radar(35.0), start + timedelta(seconds=610))
    assert previous.start == start + timedelta(seconds=300) and previous.count == 1
    assert [s.count for s in totals.all()] == [1]


def test_a_bucket_below_the_minimum_count_keeps_its_count_not_its_speeds() -> None:
    totals = SensorTotals(bucket_s=300, min_count=3)
    start = datetime(2026, 3, 2, 7, 45, tzinfo=UTC)
    totals.add(radar(92.0, "receding"), start + timedelta(seconds=5))  # one car alone, fast: its speed is not kept
    for offset, speed in ((10, 50.0), (20, 70.0), (30, 40.0)):
        totals.add(radar(speed, "approaching"), start + timedelta(seconds=offset))
    closed = {s.measure: s for s in totals.closed(start + timedelta(seconds=300))}
    alone = closed["vehicles.receding"]
    assert (alone.count, alone.total, alone.maximum) == (1, None, None), "L33: values withheld below the minimum"
    three = closed["vehicles.approaching"]
    assert (three.count, three.total, three.maximum) == (3, 160.0, 70.0)


def test_the_simulated_radar_publishes_valid_and_plausible_traffic() -> None:
    # a Monday in March, Paris time: 07:00-09:00 local (the morning peak) and 02:00-04:00 (the night)
    morning = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    night = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    day_readings = SimulatedRadar("radar-1", seed=7).readings(morning, morning + timedelta(hours=2))
    night_readings = SimulatedRadar("radar-1", seed=7).readings(night, night + timedelta(hours=2))
    for reading in (*day_readings[:200], *night_readings):
        jsonschema.validate(json.loads(encoded(reading)), SCHEMA)
    assert 1000 < len(day_readings) < 2000, "a busy street: hundreds of vehicles an hour at the peak"
    assert 40 < len(night_readings) < 140, "a few dozen an hour at night"
    approaching = [r for r in day_readings if r.direction == "approaching"]
    assert 0.5 < len(approaching) / len(day_readings) < 0.6, "both directions, as the lanes' shares say"
    day_speed = statistics.mean(r.speed_kmh for r in day_readings)
    night_speed = statistics.mean(r.speed_kmh for r in night_readings)
    assert 42 < day_speed < 48 and night_speed > day_speed + 3, "town speeds, faster at night"
    assert all(5 <= r.speed_kmh <= 160 for r in (*day_readings, *night_readings))
    times = [r.observed_at for r in day_readings]
    assert times == sorted(times) and morning <= times[0] and times[-1] <= morning + timedelta(hours=2)
    again = SimulatedRadar("radar-1", seed=7).readings(morning, morning + timedelta(hours=2))
    assert again == day_readings, "the same seed, the same traffic"
    assert len({r.id for r in day_readings}) == len(day_readings), "every reading has its own id"


def test_presence_and_occupancy_become_totals_too() -> None:
    totals = SensorTotals(bucket_s=60)
    base = {"type": "sensor.reading", "version": 1, "observed_at": T0}
    for present in (True, False, True):
        totals.add(
            PresenceReading.model_validate({**base, "sensor": "pir-1", "kind": "presence", "present": present}), T0
        )
    for ratio in (0.25, 0.75):
        totals.add(
            OccupancyReading.model_validate({**base, "sensor": "park-1", "kind": "occupancy", "ratio": ratio}), T0
        )
    closed = {s.sensor_id: s for s in totals.closed(T0 + timedelta(seconds=60))}
    presence, occupancy = closed["pir-1"], closed["park-1"]
    assert (presence.measure, presence.count, presence.total) == ("presence", 2, None), "readings saying present"
    assert (occupancy.measure, occupancy.count, occupancy.total, occupancy.maximum) == ("occupancy", 2, 1.0, 0.75)
