"""Builds the sensors' subscriber of the ``sensors`` section (issue 21), or nothing when it is off, its metrics
(``vigie_sensor_*``), the read path of its statistics and the retention of what it left."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from vigie.config.camera import MAX_RETENTION_DAYS
from vigie.config.models import VigieConfig
from vigie.devices.sensors.subscriber import SensorSubscriber
from vigie.domain.ports import AuditSink
from vigie.recording.retention import retention_for, retention_period
from vigie.runtime.assembly.mqtt import mqtt_password
from vigie.services.ptz import PtzService
from vigie.services.sensor_retention import SensorDataRetention
from vigie.services.sensor_statistics import SensorRef, SensorStatisticsService
from vigie.services.sensors import SensorLinkService, SensorReadings
from vigie.storage import SqlHoldRepo
from vigie.storage.sensors import SqlSensorLinkEvents, SqlSensorStatistics


def sensor_links(
    config: VigieConfig, engine: Engine, audit: AuditSink, clock: Callable[[], datetime], ptz: PtzService | None
) -> SensorLinkService:
    """The link rules of the ``sensors`` section (none when it is off), over the ``sensor_link_events`` table that
    every process's live feed reads."""
    links = config.sensors.links if config.sensors.enabled else ()
    return SensorLinkService(links, audit, SqlSensorLinkEvents(engine), clock, ptz=ptz)


def open_sensors(
    config: VigieConfig,
    engine: Engine,
    links: SensorLinkService,
    clock: Callable[[], datetime],
    environ: Mapping[str, str] | None = None,
) -> SensorSubscriber | None:
    """The subscriber when ``sensors.enabled`` (the configuration has checked ``mqtt.enabled`` then), else None;
    nothing connects before :meth:`SensorSubscriber.start`. A password variable not set is an
    :class:`~vigie.devices.mqtt.publisher.MqttSetupError` naming it."""
    settings = config.sensors
    if not settings.enabled:
        return None
    password = mqtt_password(config.mqtt, environ)
    handler = SensorReadings(settings, SqlSensorStatistics(engine), links)
    return SensorSubscriber(config.mqtt, settings.sensors, handler, clock, password=password)


def sensor_statistics(config: VigieConfig, engine: Engine, audit: AuditSink) -> SensorStatisticsService:
    """The statistics of the configured sensors, read per period (``sensors.enabled`` or not: what was kept before
    it was turned off is still read, until its retention)."""
    settings = config.sensors
    sensors = [SensorRef(s.id, s.commune, s.kind, s.name) for s in settings.sensors]
    return SensorStatisticsService(
        sensors, SqlSensorStatistics(engine), audit, bucket_s=settings.bucket_s, min_count=settings.min_count
    )


def sensor_retention(config: VigieConfig, engine: Engine, audit: AuditSink) -> SensorDataRetention:
    """The retention of ``sensor_link_events`` (each camera's recording retention, holds kept) and of
    ``sensor_statistics`` (``sensors.statistics_retention_days``); run by ``vigie serve`` whether the sensors are on
    or not (what they left when they were must still go)."""
    periods = [retention_period(p.camera) for p in config.placements()]
    return SensorDataRetention(
        SqlSensorLinkEvents(engine),
        SqlSensorStatistics(engine),
        retention_for_camera=retention_for(config),
        shortest_retention=min([*periods, timedelta(days=MAX_RETENTION_DAYS)]),
        holds=SqlHoldRepo(engine),
        statistics_retention=timedelta(days=config.sensors.statistics_retention_days),
        audit=audit,
    )


class SensorCollector(Collector):
    """``vigie_sensor_*``: the connection, the messages received per sensor and dropped per reason, the links
    triggered per rule (docs/metrics.md)."""

    def __init__(self, subscriber: SensorSubscriber, links: SensorLinkService) -> None:
        self._subscriber, self._links = subscriber, links

    def collect(self) -> Iterator[Metric]:
        subscriber = self._subscriber
        connected = GaugeMetricFamily("vigie_sensor_connected", "1 while subscribed to the sensors' topics, else 0")
        connected.add_metric([], 1.0 if subscriber.connected.is_set() else 0.0)
        received = CounterMetricFamily(
            "vigie_sensor_messages_received", "Messages received on a sensor's topic", labels=["sensor"]
        )
        for sensor, count in sorted(subscriber.received.items()):
            received.add_metric([sensor], count)
        dropped = CounterMetricFamily(
            "vigie_sensor_messages_dropped",
            "Sensor messages dropped: too_large, malformed, wrong_sensor, duplicate, queue_full",
            labels=["reason"],
        )
        for reason, count in sorted(subscriber.dropped.items()):
            dropped.add_metric([reason], count)
        triggered = CounterMetricFamily(
            "vigie_sensor_links_triggered", "Link rules carried out for a sensor's reading", labels=["rule"]
        )
        for rule, count in sorted(self._links.triggered.items()):
            triggered.add_metric([rule], count)
        yield from (connected, received, dropped, triggered)
