"""Sensor readings through a real Mosquitto into ``vigie serve``'s subscriber (issue 21): how many readings a second
one process checks, counts into statistics and evaluates link rules for, and what a flood of bad messages costs.

Builds the service from a configuration with `mqtt` and `sensors` sections (the production composition) against a
Mosquitto started here (``tests/support/mosquitto.py``), N radars, one link rule per radar that never triggers
(a speed above 300 km/h: every reading is evaluated, none acts); publishes the simulated radar's readings at QoS 1
as fast as paho sends them, and times until the subscriber has handed them all over. Then the same count of
malformed messages, and the time until they are all counted as dropped.

    .venv/bin/python bench/sensor_readings.py [--readings 20000] [--radars 20]

Last lines ``name: value``.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from tests.support.configs import camera_yaml
from tests.support.mosquitto import SERVICE_USER, mosquitto

from vigie.config import load_config_text
from vigie.devices.sensors.payloads import encoded
from vigie.devices.sensors.simulated import SimulatedRadar
from vigie.runtime.assembly.service import VigieService

PASSWORD = "bench-password"


def config(folder: Path, port: int, radars: int) -> str:
    sensors = "".join(f"    - {{id: radar-{i}, commune: bench, kind: radar}}\n" for i in range(radars))
    links = "".join(
        f"    - {{id: never-{i}, sensor: radar-{i}, when: {{kind: speed_above, kmh: 300}}, "
        f"then: {{kind: bookmark, cameras: [cam-1], label: never}}}}\n"
        for i in range(radars)
    )
    camera = camera_yaml("cam-1", "rtsp://127.0.0.1:9/cam-1", enabled=False)
    return f"""version: 1
storage: {{database_url: "sqlite:///{folder / "vigie.db"}", data_dir: {folder / "data"}}}
api: {{host: 127.0.0.1, port: 8080}}
mqtt: {{enabled: true, host: 127.0.0.1, port: {port}, username: {SERVICE_USER}, password_env: BENCH_MQTT_PASSWORD}}
sensors:
  enabled: true
  sensors:
{sensors}  links:
{links}communes:
  - id: bench
    name: Bench
    kind: municipal
    sites:
      - id: centre
        name: Centre
        cameras:
{camera}"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--readings", type=int, default=20_000)
    parser.add_argument("--radars", type=int, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    os.environ["BENCH_MQTT_PASSWORD"] = PASSWORD
    with tempfile.TemporaryDirectory() as tmp, mosquitto(Path(tmp) / "broker", {SERVICE_USER: PASSWORD}) as broker:
        service = VigieService(load_config_text(config(Path(tmp), broker.port, args.radars)))
        subscriber = service.sensors
        assert subscriber is not None
        start = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
        radars = [SimulatedRadar(f"radar-{i}", seed=i) for i in range(args.radars)]
        batches = [(r, r.readings(start, start + timedelta(hours=2))) for r in radars]
        messages = [
            (f"vigie/bench/sensors/{radar.sensor_id}", encoded(reading)) for radar, rs in batches for reading in rs
        ][: args.readings]
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-sensors", protocol=mqtt.MQTTv5)
        client.username_pw_set(SERVICE_USER, PASSWORD)
        client.max_inflight_messages_set(1000)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        subscriber.start()
        while not subscriber.connected.is_set():
            time.sleep(0.05)
        began = time.perf_counter()
        for topic, payload in messages:
            client.publish(topic, payload, qos=1)
        while subscriber.handled < len(messages):
            time.sleep(0.01)
            if time.perf_counter() - began > 120:
                break
        valid_s = time.perf_counter() - began
        began = time.perf_counter()
        for topic, _ in messages:
            client.publish(topic, b'{"type": "sensor.reading", "speed_kmh": "fast"}', qos=1)
        while subscriber.dropped["malformed"] < len(messages):
            time.sleep(0.01)
            if time.perf_counter() - began > 120:
                break
        bad_s = time.perf_counter() - began
        subscriber.stop()
        client.disconnect()
        client.loop_stop()
        print(f"readings: {len(messages)} from {args.radars} radars")
        print(f"handled: {subscriber.handled}")
        print(f"valid_readings_per_s: {len(messages) / valid_s:.0f}")
        print(f"malformed_dropped: {subscriber.dropped['malformed']}")
        print(f"malformed_per_s: {len(messages) / bad_s:.0f}")


if __name__ == "__main__":
    main()
