"""``vigie demo`` as a new user runs it: motion events from simulated cameras in ``GET /api/events`` within 30 s
of start (scene rendering included), through the real RTSP server or from files; with Debian's Mosquitto its own
broker, where the camera states arrive and the simulated radar publishes, and without it no MQTT, said once."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from tests.support.mosquitto import Subscriber, mosquitto_binary
from tests.support.rtsp import rtsp_stack_missing
from tests.support.servers import free_port
from tests.support.vigie_cli import ApiSession, start_vigie, stop_vigie
from tests.support.waiting import wait_for

DEADLINE_S = 30.0
DEMO_BROKER_CLIENTS = ("sim-radar-radar-1", "vigie-demo-sensors")
"""Client ids of the demo's simulated radar and of its sensor subscriber on its broker."""


class DemoRun(NamedTuple):
    elapsed: float
    events: list[dict[str, Any]]
    cameras: list[dict[str, Any]]
    output: str


def run_demo_until_events(tmp_path: Path, *extra: str, while_running: Callable[[Path], None] | None = None) -> DemoRun:
    """Start the demo, wait for its first events, call ``while_running`` with its data folder, stop it (Ctrl-C)."""
    port = free_port()
    started = time.monotonic()
    proc = start_vigie("demo", "--data-dir", str(tmp_path / "demo"), "--port", str(port), *extra)
    cameras: list[dict[str, Any]] = []
    api: ApiSession | None = None
    login = tmp_path / "demo" / "demo-login.txt"

    def first_events() -> list[dict[str, Any]]:
        nonlocal api, cameras
        assert proc.poll() is None, "the demo stopped by itself"
        try:
            if api is None:
                if not login.is_file():
                    return []
                fields = dict(line.split(": ", 1) for line in login.read_text(encoding="utf-8").splitlines())
                api = ApiSession(f"http://127.0.0.1:{port}").login(fields["username"], fields["password"], 0)
            events: list[dict[str, Any]] = api.get("/api/events")["items"]
            cameras = api.get("/api/cameras")
        except OSError:
            return []
        # the camera list is shared by the process and a few seconds old at most (vigie.api.camera_lists)
        return events if any(c["state"] == "online" for c in cameras) else []

    try:
        events = wait_for(first_events, DEADLINE_S + 30, "a motion event and a camera online", every=0.5)
        elapsed = time.monotonic() - started
        if while_running is not None:
            while_running(tmp_path / "demo")
        assert proc.poll() is None, "the demo stopped by itself"
    finally:
        output = stop_vigie(proc, signal.SIGINT)
    assert proc.returncode == 0, output[-3000:]
    password = login.read_text(encoding="utf-8").split("password: ")[1].strip()
    assert "demo-login.txt" in output and password not in output, "the demo password is in its file, never in logs"
    assert login.stat().st_mode & 0o077 == 0, "the password file is readable by its owner only"
    return DemoRun(elapsed, events, cameras, output)


def check(run: DemoRun, dome: frozenset[str] = frozenset()) -> None:
    """``dome``: the PTZ dome the demo adds over RTSP (no analysis on it: it is not in the simulated-footage
    exemption, its picture being rendered live)."""
    elapsed, events, cameras = run.elapsed, run.events, run.cameras
    assert events, "no motion event reached the API"
    print(f"first event after {elapsed:.1f} s")
    assert elapsed <= DEADLINE_S, f"first event after {elapsed:.1f} s (promised within {DEADLINE_S:.0f} s)"
    assert {e["camera_id"] for e in events} <= {"sim1", "sim2"}
    assert all(e["kind"] == "motion" and e["module"] == "motion" for e in events)
    assert all(0 <= e["region"]["x"] <= 1 and 0 < e["region"]["w"] <= 1 for e in events)
    assert {c["id"] for c in cameras} == {"sim1", "sim2"} | dome
    assert any(c["state"] == "online" for c in cameras)


@pytest.mark.rtsp
@pytest.mark.slow
def test_demo_over_rtsp_shows_motion_events_within_30_s(tmp_path: Path) -> None:
    missing = rtsp_stack_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must have the RTSP stack: {missing}")
        pytest.skip(missing)
    # and without Mosquitto (a binary that is not there, as on a machine set up without --with-mqtt)
    run = run_demo_until_events(
        tmp_path, "--rtsp-port", str(free_port()), "--mosquitto", str(tmp_path / "nowhere" / "mosquitto")
    )
    assert "no MQTT in this demo" in run.output and "scripts/setup.sh --with-mqtt" in run.output, run.output[-3000:]
    assert not (tmp_path / "demo" / "mqtt").exists(), "no broker was started"
    check(run, dome=frozenset({"dome1"}))


@pytest.mark.mqtt
@pytest.mark.slow
def test_demo_from_files_shows_motion_events_within_30_s_and_publishes_to_its_own_broker(tmp_path: Path) -> None:
    mosquitto_binary()  # the demo starts its own broker (skipped without Mosquitto; in CI it fails)
    seen: dict[str, Any] = {}

    def own_broker(data_dir: Path) -> None:
        config = yaml.safe_load((data_dir / "vigie.yaml").read_text(encoding="utf-8"))
        assert config["mqtt"]["enabled"] and config["mqtt"]["host"] == "127.0.0.1", config["mqtt"]
        seen["port"] = port = config["mqtt"]["port"]
        consumer = Subscriber(port, None, None, ["vigie/#"], client_id="e2e-demo-consumer")
        try:
            states = wait_for(
                lambda: [
                    m for m in consumer.messages("vigie/demo/cameras/sim1/state") if m.payload["state"] == "online"
                ],
                15,
                "sim1's retained state, online, on the demo's broker",
            )
            assert states[0].payload["camera"]["id"] == "sim1"
        finally:
            consumer.close()
        # the simulated radar and the demo's sensor subscriber are the broker's clients (readings come at the
        # rate of the hour's traffic: tests/runtime/test_sensors_serve.py follows them on a clock of its own)
        broker_log = data_dir / "mqtt" / "mosquitto.log"
        wait_for(
            lambda: all(
                c in broker_log.read_text(errors="replace") for c in ("sim-radar-radar-1", "vigie-demo-sensors")
            ),
            10,
            "the simulated radar and the demo's sensor subscriber connected to the demo's broker",
        )

    run = run_demo_until_events(tmp_path, "--no-rtsp", while_running=own_broker)
    check(run)
    port = seen["port"]
    assert f"mosquitto_sub -h 127.0.0.1 -p {port} -t 'vigie/#' -v -V mqttv5" in run.output
    with pytest.raises(OSError):  # stopped with the demo
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
