"""``vigie demo --webhook URL`` (issue 21): the demo's configuration turns webhooks on for that URL, and the service
built from it (what `vigie demo` runs) POSTs a confirmed alert, signed, to a real receiver; a URL that would carry
alerts in clear, or hold a password, is refused at the command line; the secret comes from the environment."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.waiting import wait_for
from tests.support.webhook_receiver import WebhookReceiver, webhook_receiver
from vigie.cli import build_parser
from vigie.domain.actor import Actor
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.runtime.assembly.demo import DEMO_WEBHOOK_SECRET_ENV, demo_config
from vigie.runtime.assembly.service import ServiceError, VigieService

SECRET = "whsec_" + base64.b64encode(bytes(range(40, 72))).decode()
URLS = {"sim1": "file:///street.mp4"}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver(SECRET) as running:
        yield running


def test_the_demo_posts_a_confirmed_alert_when_asked(
    tmp_path: Path, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not demo_config(tmp_path, "127.0.0.1", 8080, URLS).webhooks.enabled, "off by default"
    monkeypatch.setenv(DEMO_WEBHOOK_SECRET_ENV, SECRET)
    config = demo_config(tmp_path / "demo", "127.0.0.1", 8080, URLS, webhook=receiver.url)
    service = VigieService(config, simulated_cameras=frozenset(URLS))
    assert service.webhooks is not None
    service.webhooks.start()
    try:
        observation = Observation("sim1", "intrusion", "intrusion", datetime.now(UTC), (Box(0.1, 0.1, 0.2, 0.2),), 0.8)
        alert = service.alerts.raise_alert(observation)
        assert alert.id is not None
        service.alerts.confirm(alert.id, by=Actor("demo", "operator", "demo"))
        [got] = wait_for(receiver.verified, 10, "the confirmed alert POSTed")
        assert got.payload["alert"]["id"] == alert.id and got.payload["commune"] == "demo"
    finally:
        service.webhooks.stop()


def test_without_its_secret_the_demo_says_which_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DEMO_WEBHOOK_SECRET_ENV, raising=False)
    config = demo_config(tmp_path, "127.0.0.1", 8080, URLS, webhook="http://127.0.0.1:9/hook")
    with pytest.raises(ServiceError, match=DEMO_WEBHOOK_SECRET_ENV):
        VigieService(config, simulated_cameras=frozenset(URLS))


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://10.0.0.5/hook", "plain http would carry alerts in clear"),
        ("https://user:pw@dispatch.example.invalid/", "holds a user or password"),
        ("dispatch.example.invalid", "not an http(s) URL"),
    ],
)
def test_a_url_that_would_leak_is_refused(url: str, why: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--webhook", url])
    err = capsys.readouterr().err
    assert why in err and "pw@" not in err


def test_the_option_is_read() -> None:
    args = build_parser().parse_args(["demo", "--webhook", "https://hooks.example.invalid/vigie"])
    assert args.webhook == "https://hooks.example.invalid/vigie"
