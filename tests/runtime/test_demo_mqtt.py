"""``vigie demo --mqtt HOST:PORT`` (issue 21): the demo's configuration turns MQTT on for a broker on this machine,
and the service built from it (what `vigie demo` runs) has its bridge; a broker elsewhere is refused at the command
line (plain MQTT never leaves the machine)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.mosquitto import Subscriber, mosquitto
from tests.support.waiting import wait_for
from vigie.cli import build_parser
from vigie.domain.actor import Actor
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.runtime.assembly.demo import demo_config
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
