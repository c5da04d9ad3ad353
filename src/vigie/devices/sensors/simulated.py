"""A simulated traffic radar for the demo and the tests (issue 21): realistic readings, published to the broker.

Traffic on a two-lane street seen by one radar: lane 1 comes towards it (``approaching``), lane 2 goes away
(``receding``). Vehicles arrive as a Poisson process whose rate follows the day in Paris — a night trough, a
morning and an evening peak — and drive at a normal speed per lane, faster and more spread at night, clipped to
plausible values. Everything is drawn from the seeded generator and the times given (never the wall clock): the same
seed and the same interval give the same readings.
"""

from __future__ import annotations

import logging
import math
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from vigie.devices.mqtt.paho_loop import PahoLoop
from vigie.devices.sensors.payloads import Direction, RadarReading, encoded, sensor_topic

log = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")
MIN_KMH, MAX_KMH = 5.0, 160.0


@dataclass(frozen=True, slots=True)
class Lane:
    number: int
    direction: Direction
    mean_kmh: float
    sd_kmh: float
    share: float
    """Part of the traffic on this lane (the lanes' shares add up to 1)."""


@dataclass(frozen=True, slots=True)
class TrafficProfile:
    """A street: its lanes, its peak and night rates (vehicles an hour, both directions), how much faster at night."""

    lanes: tuple[Lane, ...] = (
        Lane(1, "approaching", 46.0, 7.0, 0.55),
        Lane(2, "receding", 44.0, 7.0, 0.45),
    )
    peak_per_hour: float = 900.0
    night_per_hour: float = 40.0
    night_speed_factor: float = 1.15
    night_sd_factor: float = 1.5


def hourly_rate(profile: TrafficProfile, local_hour: float) -> float:
    """Vehicles an hour at ``local_hour`` (0..24, Paris time): the night rate plus a morning (8 h) and an evening
    (18 h) peak, each a bell two hours wide, and a daytime plateau between."""
    morning = math.exp(-((local_hour - 8.0) ** 2) / (2 * 1.2**2))
    evening = math.exp(-((local_hour - 18.0) ** 2) / (2 * 1.5**2))
    daytime = 0.45 if 7.0 <= local_hour <= 20.0 else 0.0
    shape = min(1.0, max(morning, evening, daytime))
    return profile.night_per_hour + (profile.peak_per_hour - profile.night_per_hour) * shape


def is_night(local_hour: float) -> bool:
    return local_hour < 6.0 or local_hour >= 22.0


class SimulatedRadar:
    """Readings of one radar over an interval (see the module docstring)."""

    def __init__(self, sensor_id: str, seed: int, profile: TrafficProfile | None = None) -> None:
        self.sensor_id = sensor_id
        self.profile = profile or TrafficProfile()
        self._rng = np.random.default_rng(seed)
        self._shares = np.array([lane.share for lane in self.profile.lanes]) / sum(
            lane.share for lane in self.profile.lanes
        )

    def readings(self, start: datetime, end: datetime) -> list[RadarReading]:
        """The vehicles measured in ``(start, end]``, in time order; the rate is taken per minute."""
        found: list[RadarReading] = []
        at = start
        while at < end:
            step_end = min(end, at + timedelta(minutes=1))
            seconds = (step_end - at).total_seconds()
            local = at.astimezone(PARIS)
            hour = local.hour + local.minute / 60.0
            count = int(self._rng.poisson(hourly_rate(self.profile, hour) * seconds / 3600.0))
            offsets = np.sort(self._rng.uniform(0.0, seconds, count))
            for offset in offsets:
                found.append(self._vehicle(at + timedelta(seconds=float(offset)), is_night(hour)))
            at = step_end
        return found

    def _vehicle(self, at: datetime, night: bool) -> RadarReading:
        lanes = self.profile.lanes
        lane = lanes[int(self._rng.choice(len(lanes), p=self._shares))]
        mean = lane.mean_kmh * (self.profile.night_speed_factor if night else 1.0)
        sd = lane.sd_kmh * (self.profile.night_sd_factor if night else 1.0)
        speed = float(np.clip(self._rng.normal(mean, sd), MIN_KMH, MAX_KMH))
        return RadarReading(
            type="sensor.reading",
            version=1,
            id=str(uuid.UUID(int=int(self._rng.integers(0, 2**63)) << 64 | int(self._rng.integers(0, 2**63)))),
            sensor=self.sensor_id,
            kind="radar",
            observed_at=at,
            speed_kmh=round(speed, 1),
            direction=lane.direction,
            lane=lane.number,
        )


class RadarFeed:
    """Publishes a :class:`SimulatedRadar`'s readings to a broker as they fall due on ``clock`` (every
    ``period_s``), QoS 1, as a sensor would (the demo's radar); a broker away is retried
    (:class:`~vigie.devices.mqtt.paho_loop.PahoLoop`)."""

    def __init__(
        self,
        radar: SimulatedRadar,
        clock: Callable[[], datetime],
        *,
        host: str,
        port: int,
        topic_prefix: str,
        commune: str,
        period_s: float = 1.0,
    ) -> None:
        self.radar, self._clock, self._period = radar, clock, period_s
        self.topic = sensor_topic(topic_prefix, commune, radar.sensor_id)
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"sim-radar-{radar.sensor_id}", protocol=mqtt.MQTTv5
        )
        self._network = PahoLoop(self._client, host, port, name="sim-radar-mqtt")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.published = 0

    def __enter__(self) -> RadarFeed:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._network.start()
        self._thread = threading.Thread(target=self._run, name="sim-radar", daemon=True)
        self._thread.start()
        log.info("simulated radar %s publishing on %s", self.radar.sensor_id, self.topic)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        self._network.stop()

    def _run(self) -> None:
        last = self._clock()
        while not self._stop.wait(self._period):
            now = self._clock()
            for reading in self.radar.readings(last, now):
                self._client.publish(self.topic, encoded(reading), qos=1)
                self.published += 1
            last = now
