"""Which link rules a reading triggers (issue 21): pure functions of the rules, the reading and the time.

A rule triggers when the reading comes from its sensor and meets its condition, and not within its
``min_interval_s`` of its last triggering (a dome is not sent back and forth by every car of a queue). What a
triggered rule does is carried out, and audited, by :class:`vigie.services.sensor_links.SensorLinkService`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from vigie.config.sensors import OccupancyAbove, PresenceDetected, SensorLink, SpeedAbove
from vigie.devices.sensors.payloads import OccupancyReading, PresenceReading, RadarReading

Reading = RadarReading | PresenceReading | OccupancyReading


def meets(link: SensorLink, reading: Reading) -> bool:
    """Whether ``reading`` is of ``link``'s sensor and meets its condition."""
    if reading.sensor != link.sensor:
        return False
    when = link.when
    if isinstance(when, SpeedAbove):
        return (
            isinstance(reading, RadarReading)
            and reading.speed_kmh > when.kmh
            and (when.direction is None or reading.direction == when.direction)
        )
    if isinstance(when, PresenceDetected):
        return isinstance(reading, PresenceReading) and reading.present
    if isinstance(when, OccupancyAbove):
        return isinstance(reading, OccupancyReading) and reading.ratio > when.ratio
    return False


def measured(reading: Reading) -> float | bool:
    """The value a condition reads, for the audit (speed, presence, ratio)."""
    if isinstance(reading, RadarReading):
        return reading.speed_kmh
    if isinstance(reading, PresenceReading):
        return reading.present
    return reading.ratio


class LinkRules:
    """The configured rules and when each last triggered (bounded by the rules of the configuration)."""

    def __init__(self, links: Sequence[SensorLink]) -> None:
        self._by_sensor: dict[str, list[SensorLink]] = {}
        for link in links:
            self._by_sensor.setdefault(link.sensor, []).append(link)
        self._last: dict[str, datetime] = {}

    def triggered(self, reading: Reading, now: datetime) -> list[SensorLink]:
        """The rules ``reading`` triggers at ``now`` (each then waits its ``min_interval_s``)."""
        fired = []
        for link in self._by_sensor.get(reading.sensor, ()):
            if not meets(link, reading):
                continue
            last = self._last.get(link.id)
            if last is not None and now - last < timedelta(seconds=link.min_interval_s):
                continue
            self._last[link.id] = now
            fired.append(link)
        return fired
