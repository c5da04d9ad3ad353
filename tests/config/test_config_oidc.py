"""The `auth.oidc` section: off when absent, an https issuer (http on loopback only), the client secret only
through an environment variable, `openid` among the scopes."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.clocks import StepClock

from vigie.config import load_config_text
from vigie.config.issues import ConfigError, format_issues
from vigie.config.models import VigieConfig
from vigie.runtime.assembly.auth import SignOnConfigError, open_sign_on
from vigie.services.oidc import OidcLogin

OIDC = "auth:\n  oidc:\n    issuer: https://connexion.grandlyon.example/realms/agents\n    client_id: vigie\n"
LABEL = "    display_name: Compte Grand Lyon\n"


def load(text: str) -> VigieConfig:
    return load_config_text(f"version: 1\n{text}", "vigie.yaml")


def issues(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(text)
    return format_issues(caught.value.issues)


def test_off_when_absent_and_defaults() -> None:
    assert load("").auth.oidc is None
    settings = load(OIDC + LABEL).auth.oidc
    assert settings is not None
    assert settings.scopes == ("openid", "profile", "email")
    assert settings.username_claim == "preferred_username"
    assert settings.client_secret_env == "VIGIE_OIDC_CLIENT_SECRET"
    assert settings.second_factor_amr == ("mfa", "otp", "hwk", "swk")
    assert settings.redirect_uri is None


def test_refusals() -> None:
    assert "display_name: required" in issues(OIDC).replace("Field required", "required")
    plain = issues(OIDC.replace("https://connexion", "http://connexion") + LABEL)
    assert "an identity provider over plain HTTP" in plain and "127.0.0.1 and localhost only" in plain
    assert load(OIDC.replace("https://connexion.grandlyon.example", "http://127.0.0.1:9000") + LABEL).auth.oidc
    assert "must include `openid`" in issues(OIDC + LABEL + "    scopes: [profile]\n")
    assert "client_secret" in issues(OIDC + LABEL + "    client_secret: hunter2\n")  # unknown key: never in the file
    assert "client_secret_env" in issues(OIDC + LABEL + "    client_secret_env: 'not a name'\n")
    credentials = issues(OIDC.replace("https://", "https://u:hunter2@") + LABEL)
    assert "hunter2" not in credentials and "without credentials" in credentials


def test_the_secret_comes_from_the_environment(tmp_path: Path) -> None:
    config = load(OIDC + LABEL + "    client_secret_env: GRAND_LYON_SECRET\n")
    with pytest.raises(SignOnConfigError, match="GRAND_LYON_SECRET") as missing:
        open_sign_on(config, auth=None, clock=StepClock(), environ={})  # type: ignore[arg-type]
    assert "auth.oidc.client_secret_env" in str(missing.value)
    sign_on = open_sign_on(config, auth=None, clock=StepClock(), environ={"GRAND_LYON_SECRET": "s3cret"})  # type: ignore[arg-type]
    assert isinstance(sign_on, OidcLogin) and sign_on.label == "Compte Grand Lyon"
    assert open_sign_on(load(""), auth=None, clock=StepClock(), environ={}) is None  # type: ignore[arg-type]
