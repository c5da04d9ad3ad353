"""Reading the sensors' statistics (issue 21): per period, for those who read statistics (``read_alerts``), of their
own commune's sensors only, the values of a bucket below ``sensors.min_count`` withheld as the writer withholds
them (L33), each read audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from tests.api.world import SENSOR_MIN_COUNT, T0, World, build_world
from vigie.domain.audit import AuditAction, format_time
from vigie.domain.sensors import SensorStatistic
from vigie.storage.sensors import SqlSensorStatistics

BUCKET = timedelta(minutes=5)


@pytest.fixture
def world(db: Engine) -> World:
    world = build_world(db)
    SqlSensorStatistics(db).add_many(
        [
            # 10:00–10:05 and 10:05–10:10 UTC: enough vehicles, their speeds kept
            SensorStatistic("radar-vil", "vehicles.approaching", T0, T0 + BUCKET, 10, 500.0, 72.0),
            SensorStatistic("radar-vil", "vehicles.approaching", T0 + BUCKET, T0 + 2 * BUCKET, 6, 360.0, 66.0),
            # a bucket written under a lower minimum: its values exist, but a read withholds them today
            SensorStatistic("radar-vil", "vehicles.approaching", T0 + 2 * BUCKET, T0 + 3 * BUCKET, 2, 190.0, 98.0),
            # the writer withheld this one's values
            SensorStatistic("radar-vil", "vehicles.receding", T0, T0 + BUCKET, 1, None, None),
            SensorStatistic(
                "radar-vil",
                "vehicles.receding",
                T0 + timedelta(hours=1),
                T0 + timedelta(hours=1) + BUCKET,
                7,
                350.0,
                55.0,
            ),
            SensorStatistic("presence-vil", "presence", T0, T0 + BUCKET, 3),
            SensorStatistic("radar-bron", "vehicles.approaching", T0, T0 + BUCKET, 40, 2000.0, 90.0),
        ]
    )
    return world


def span(hours: int = 3) -> dict[str, str]:
    return {"start": T0.isoformat(), "end": (T0 + timedelta(hours=hours)).isoformat()}


def test_a_sensors_totals_per_hour_withhold_the_values_of_small_buckets(world: World) -> None:
    got = world.login("op.vil").get("/api/sensors/statistics", params={**span(), "sensor": "radar-vil"})
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["min_count"] == SENSOR_MIN_COUNT
    rows = {(p["measure"], p["start"][11:16]): p for p in body["periods"]}
    approaching = rows[("vehicles.approaching", "12:00")]
    # 18 vehicles; the mean and top from the 16 of the buckets of at least 5 (98 km/h of a bucket of 2 never shows)
    assert (approaching["count"], approaching["mean"], approaching["maximum"]) == (18, 53.75, 72.0)
    assert approaching["withheld_buckets"] == 1
    receding = rows[("vehicles.receding", "12:00")]
    assert (receding["count"], receding["mean"], receding["maximum"], receding["withheld_buckets"]) == (
        1,
        None,
        None,
        1,
    )
    assert (rows[("vehicles.receding", "13:00")]["mean"], rows[("vehicles.receding", "13:00")]["count"]) == (50.0, 7)
    assert set(rows) == {
        ("vehicles.approaching", "12:00"),
        ("vehicles.receding", "12:00"),
        ("vehicles.receding", "13:00"),
    }
    [read] = [e for e in world.audit.events if e.action is AuditAction.SEARCH and e.actor == "op.vil"]
    assert read.target == "sensor:radar-vil" and read.details["resource"] == "sensor_statistics"
    assert read.details["start"] == format_time(T0) and read.details["rows"] == 3


def test_the_buckets_as_stored_and_a_communes_sensors(world: World) -> None:
    mayor = world.login("maire.vil")
    buckets = mayor.get("/api/sensors/statistics", params={**span(), "period": "bucket"}).json()["periods"]
    assert {p["sensor"] for p in buckets} == {"radar-vil", "presence-vil"}, "Villeurbanne's sensors only"
    small = next(p for p in buckets if p["count"] == 2)
    assert (small["mean"], small["maximum"], small["withheld_buckets"]) == (None, None, 1), "withheld again at read"
    presence = next(p for p in buckets if p["sensor"] == "presence-vil")
    assert (presence["count"], presence["mean"]) == (3, None)
    assert [s["id"] for s in mayor.get("/api/sensors").json()] == ["radar-vil", "presence-vil"]
    day = mayor.get("/api/sensors/statistics", params={**span(24), "sensor": "radar-vil", "period": "day"}).json()
    # a Paris day starts at 23:00 UTC in winter: cut at the range's start
    assert {(p["measure"], p["count"], p["start"], p["end"]) for p in day["periods"]} == {
        ("vehicles.approaching", 18, T0.isoformat().replace("+00:00", "Z"), "2026-11-28T23:00:00Z"),
        ("vehicles.receding", 8, T0.isoformat().replace("+00:00", "Z"), "2026-11-28T23:00:00Z"),
    }


def test_another_communes_sensor_is_not_found_and_the_refusal_audited(world: World) -> None:
    got = world.login("op.vil").get("/api/sensors/statistics", params={**span(), "sensor": "radar-bron"})
    assert got.status_code == 404
    [denied] = [e for e in world.audit.events if e.action is AuditAction.ACCESS_DENIED and e.actor == "op.vil"]
    assert denied.target == "sensor:radar-bron" and denied.details["resource"] == "sensor_statistics"
    assert world.login("op.vil").get("/api/sensors/statistics", params={**span(), "sensor": "nope"}).status_code == 404
    bron = world.login("op.bron").get("/api/sensors/statistics", params={**span(), "period": "bucket"}).json()
    assert [(p["sensor"], p["count"], p["mean"]) for p in bron["periods"]] == [("radar-bron", 40, 50.0)]


def test_who_may_read_and_what_range(world: World) -> None:
    assert world.login("inv.vil").get("/api/sensors/statistics", params=span()).status_code == 403, "no read_alerts"
    assert world.login("admin.vil").get("/api/sensors").status_code == 403
    operator = world.login("op.vil")
    month = {"start": T0.isoformat(), "end": (T0 + timedelta(days=32)).isoformat()}
    assert operator.get("/api/sensors/statistics", params=month).status_code == 422
    backwards = {"start": T0.isoformat(), "end": T0.isoformat()}
    assert operator.get("/api/sensors/statistics", params=backwards).status_code == 422
    assert operator.get("/api/sensors/statistics", params={**span(), "period": "week"}).status_code == 422
