"""The ``webhooks`` section (issue 21): off by default, what it accepts and refuses (the field named, how to fix
it, no credential shown), every field documented."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from tests.support.configs import camera_data

from vigie.config import ConfigError, load_config_text
from vigie.config.check_command import check_command
from vigie.config.models import VigieConfig, WebhookEndpoint, WebhooksSettings

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"
COMMUNE = {
    "id": "villeurbanne",
    "name": "Villeurbanne",
    "kind": "municipal",
    "sites": [{"id": "gratte-ciel", "name": "Gratte-Ciel", "cameras": [camera_data()]}],
}


def endpoint(**changes: Any) -> dict[str, Any]:
    return {
        "name": "dispatch",
        "url": "https://dispatch.example.invalid/vigie",
        "communes": ["villeurbanne"],
        "secret_env": "VIGIE_WEBHOOK_DISPATCH",
        **changes,
    }


def load(webhooks: dict[str, Any]) -> VigieConfig:
    return VigieConfig.model_validate({"version": 1, "webhooks": webhooks, "communes": [COMMUNE]})


def test_off_by_default() -> None:
    config = VigieConfig.model_validate({"version": 1})
    assert config.webhooks == WebhooksSettings() and not config.webhooks.enabled and config.webhooks.endpoints == ()


def test_an_endpoint_and_its_defaults() -> None:
    [accepted] = load({"enabled": True, "endpoints": [endpoint()]}).webhooks.endpoints
    assert accepted.kinds == ("alert.confirmed", "health")
    assert (accepted.timeout_s, accepted.max_attempts, accepted.backoff_initial_s) == (10.0, 12, 10.0)
    local = load({"enabled": True, "endpoints": [endpoint(url="http://127.0.0.1:8123/api/webhook/x")]})
    assert local.webhooks.endpoints[0].url.startswith("http://"), "plain http to this machine only"


@pytest.mark.parametrize(
    ("webhooks", "message"),
    [
        ({"enabled": True}, "webhooks.endpoints is empty"),
        ({"endpoints": [endpoint(url="http://dispatch.example.invalid/h")]}, "plain http would carry alerts"),
        ({"endpoints": [endpoint(url="ftp://dispatch.example.invalid/h")]}, "is not an http(s) URL"),
        ({"endpoints": [endpoint(url="https://user:pw@dispatch.example.invalid/")]}, "holds a user or password"),
        ({"endpoints": [endpoint(communes=["lyon"])]}, "no commune lyon in this configuration"),
        ({"endpoints": [endpoint(communes=[])]}, "at least 1 item"),
        ({"endpoints": [endpoint(kinds=["camera.state"])]}, "'alert.confirmed' or 'health'"),
        ({"endpoints": [endpoint(secret_env="whsec_abc=")]}, "secret_env"),
        ({"endpoints": [endpoint(), endpoint()]}, "the name dispatch is used twice"),
        ({"endpoints": [endpoint(backoff_initial_s=600, backoff_max_s=60)]}, "backoff_max_s (60.0) is below"),
        ({"endpoints": [endpoint(url="http://127.0.0.1/h", ca_file="/etc/ca.pem")]}, "ca_file is for an https:// URL"),
    ],
)
def test_what_is_refused(webhooks: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        load(webhooks)
    assert message in str(caught.value)
    assert "pw@" not in str(caught.value), "a password in a URL is never repeated"


def test_an_error_names_the_line_and_the_field() -> None:
    text = """version: 1
webhooks:
  enabled: true
  endpoints:
    - name: dispatch
      url: http://dispatch.example.invalid/vigie?token=abc
      communes: []
      secret_env: VIGIE_WEBHOOK_DISPATCH
"""
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, "vigie.yaml")
    message = str(caught.value)
    assert "webhooks.endpoints.0.url" in message and "vigie.yaml:6" in message
    assert "use https://" in message, "the fix is said"
    assert "token=abc" not in message


@pytest.mark.parametrize("model", [WebhooksSettings, WebhookEndpoint], ids=lambda m: m.__name__)
def test_every_field_is_in_the_configuration_guide(model: type[BaseModel]) -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [name for name in model.model_fields if f"`{name}`" not in text]
    assert not missing, f"docs/configuration.md does not describe {model.__name__} fields {missing}"


def test_vigie_config_check_reports_a_bad_endpoint(tmp_path: Path) -> None:
    """What `vigie config check` prints: the file, the line, the field, what is wrong and how to fix it."""
    path = tmp_path / "vigie.yaml"
    path.write_text(
        """version: 1
webhooks:
  enabled: true
  endpoints:
    - name: dispatch
      url: https://dispatch.example.invalid/vigie
      communes: [lyon]
      secret_env: VIGIE_WEBHOOK_DISPATCH
""",
        encoding="utf-8",
    )
    out, err = io.StringIO(), io.StringIO()
    assert check_command(path, out, err) == 2
    assert "webhook endpoint dispatch: no commune lyon in this configuration" in err.getvalue()
    assert "name configured communes" in err.getvalue()
