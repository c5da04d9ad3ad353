"""The demo's MQTT (issue 21): by default its own private Mosquitto (loopback only, under the demo's folder, stopped
with the demo), or ``--mqtt HOST:PORT`` of a broker on this machine, or none (``--no-mqtt``, or no Mosquitto
installed, said once with how to get it); the demo's configuration turns MQTT on for that broker, and the service
built from it (what `vigie demo` runs) has its bridge; a broker elsewhere is refused at the command line (plain MQTT
never leaves the machine). tests/e2e/test_demo.py runs the whole demo with its own broker."""

from __future__ import annotations

import contextlib
import logging
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.mosquitto import Subscriber, mosquitto, mosquitto_binary
from tests.support.waiting import wait_for
from vigie.cli import build_parser
from vigie.domain.actor import Actor
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.runtime.assembly.demo import demo_config
from vigie.runtime.assembly.demo_broker import DemoBroker, demo_broker_address
from vigie.runtime.assembly.service import VigieService


def test_the_demo_publishes_to_a_local_broker_when_asked(tmp_path: Path) -> None:
    urls = {"sim1": "file:///street.mp4"}
    assert not demo_config(tmp_path, "127.0.0.1", 8080, urls).mqtt.enabled, "off by default"
    config = demo_config(tmp_path, "127.0.0.1", 8080, urls, mqtt="127.0.0.1:1883")
    assert config.mqtt.enabled and config.mqtt.host == "127.0.0.1" and config.mqtt.broker_port == 1883
    assert config.mqtt.username is None and config.mqtt.tls is None
    service = VigieService(config, simulated_cameras=frozenset(urls))
    assert service.mqtt is not None and service.mqtt.publisher.settings.broker_port == 1883


@pytest.mark.mqtt
def test_the_demo_composition_publishes_a_confirmed_alert(tmp_path: Path) -> None:
    """Against a real Mosquitto that takes anonymous clients, as a local broker for a demo does."""
    with mosquitto(tmp_path / "broker", {}, anonymous=True) as broker:
        urls = {"sim1": "file:///street.mp4"}
        config = demo_config(tmp_path / "demo", "127.0.0.1", 8080, urls, mqtt=f"127.0.0.1:{broker.port}")
        service = VigieService(config, simulated_cameras=frozenset(urls))
        consumer = Subscriber(broker, None, None, ["vigie/demo/alerts"], client_id="demo-consumer")
        assert service.mqtt is not None
        service.mqtt.start()
        try:
            wait_for(service.mqtt.publisher.connected.is_set, 10, "the demo connected to the broker")
            seen = datetime.now(UTC)
            observation = Observation("sim1", "intrusion", "intrusion", seen, (Box(0.1, 0.1, 0.2, 0.2),), 0.8)
            alert = service.alerts.raise_alert(observation)
            assert alert.id is not None
            service.alerts.confirm(alert.id, by=Actor("demo", "operator", "demo"))
            got = wait_for(consumer.messages, 10, "the confirmed alert on vigie/demo/alerts")
            assert got[0].payload["alert"]["id"] == alert.id and got[0].payload["commune"] == "demo"
        finally:
            service.mqtt.stop()
            consumer.close()


@pytest.mark.parametrize("address", ["mqtt.example.invalid:1883", "127.0.0.1", "127.0.0.1:x", "10.0.0.5:1883"])
def test_a_broker_elsewhere_is_refused(address: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--mqtt", address])
    assert "a broker on this machine" in capsys.readouterr().err


def test_the_option_is_read() -> None:
    args = build_parser().parse_args(["demo", "--mqtt", "[::1]:1883"])
    assert args.mqtt == "[::1]:1883"
    assert demo_config(Path("var"), "127.0.0.1", 8080, {}, mqtt=args.mqtt).mqtt.host == "::1"


@pytest.mark.mqtt
def test_the_demo_starts_its_own_broker_on_loopback_and_stops_it(tmp_path: Path) -> None:
    binary = mosquitto_binary()
    folder = tmp_path / "demo" / "mqtt"
    with contextlib.ExitStack() as stack:
        address = demo_broker_address(stack, folder, given=None, own=True, binary=binary)
        assert address is not None and address.startswith("127.0.0.1:")
        port = int(address.rpartition(":")[2])
        conf = (folder / "mosquitto.conf").read_text(encoding="utf-8")
        assert f"listener {port} 127.0.0.1\n" in conf and "allow_anonymous true" in conf
        assert (folder / "data").is_dir() and (folder / "mosquitto.log").is_file()
        consumer = Subscriber(port, None, None, ["vigie/demo/#"], client_id="own-broker-consumer")
        consumer.close()
    with pytest.raises(OSError):  # SIGTERM when the demo's stack closes
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


@pytest.mark.mqtt
def test_a_broker_left_by_a_killed_demo_is_stopped_at_the_next_start(tmp_path: Path) -> None:
    binary = mosquitto_binary()
    left = DemoBroker(binary, tmp_path / "mqtt")
    left.start()
    orphan = left._process  # the demo that started it was killed: nobody stops it
    assert orphan is not None
    try:
        with DemoBroker(binary, tmp_path / "mqtt") as broker:
            assert orphan.wait(10) == 0, "the broker left over was stopped (SIGTERM)"
            socket.create_connection(("127.0.0.1", broker.port), timeout=1).close()
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait(5)


def test_without_mosquitto_the_demo_runs_without_mqtt_and_says_how_to_get_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with contextlib.ExitStack() as stack, caplog.at_level(logging.INFO):
        missing = str(tmp_path / "nowhere" / "mosquitto")
        assert demo_broker_address(stack, tmp_path / "mqtt", given=None, own=True, binary=missing) is None
    said = [r.getMessage() for r in caplog.records if "MQTT" in r.getMessage()]
    assert len(said) == 1 and "scripts/setup.sh --with-mqtt" in said[0] and missing in said[0], said
    assert not (tmp_path / "mqtt").exists()
    assert not demo_config(tmp_path, "127.0.0.1", 8080, {"sim1": "file:///street.mp4"}).sensors.enabled, "no radar"


def test_a_given_broker_or_none_starts_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with contextlib.ExitStack() as stack, caplog.at_level(logging.INFO):
        given = demo_broker_address(stack, tmp_path / "a", given="127.0.0.1:1883", own=True, binary=None)
        none = demo_broker_address(stack, tmp_path / "b", given=None, own=False, binary=None)
    assert (given, none) == ("127.0.0.1:1883", None)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert any("--no-mqtt" in r.getMessage() for r in caplog.records)


def test_the_demo_broker_options(capsys: pytest.CaptureFixture[str]) -> None:
    parse = build_parser().parse_args
    default = parse(["demo"])
    assert (default.mqtt, default.no_mqtt, default.mosquitto) == (None, False, None), "its own broker by default"
    assert parse(["demo", "--no-mqtt"]).no_mqtt
    assert parse(["demo", "--mosquitto", "/opt/mosquitto/sbin/mosquitto"]).mosquitto == "/opt/mosquitto/sbin/mosquitto"
    with pytest.raises(SystemExit):
        parse(["demo", "--mqtt", "127.0.0.1:1883", "--no-mqtt"])
    assert "not allowed with argument" in capsys.readouterr().err
