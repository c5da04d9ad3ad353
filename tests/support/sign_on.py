"""Single sign-on against a real OpenID provider (panva's oidc-provider under node, ``tests/oidc``): the provider
and the port Vigie will listen on (its callback is registered there), and the sign-on the API world is given."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from tests.api.world import Clock
from tests.oidc.provider import OpenIdProvider, RegisteredClient, provider_missing, signing_key
from tests.support.servers import free_port
from vigie.config.models import OidcSettings
from vigie.services.auth import AuthService
from vigie.services.oidc import OidcClient, OidcLogin

SECRET = "test-client-secret-7f3a"
LABEL = "Compte Grand Lyon"


@dataclass(frozen=True)
class Stack:
    provider: OpenIdProvider
    vigie_port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.vigie_port}"


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    missing = provider_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must have the test OpenID provider: {missing}")
        pytest.skip(missing)
    vigie_port = free_port()
    client = RegisteredClient("vigie", SECRET, f"http://127.0.0.1:{vigie_port}/api/auth/oidc/callback")
    provider = OpenIdProvider(free_port(), [client], signing_key())
    yield Stack(provider, vigie_port)
    provider.close()


def settings(issuer: str) -> OidcSettings:
    return OidcSettings(issuer=issuer, client_id="vigie", display_name=LABEL)


def oidc_client(issuer: str) -> OidcClient:
    return OidcClient(
        settings(issuer), client_secret=SECRET, http=httpx.Client(timeout=10), clock=lambda: datetime.now(UTC)
    )


def sign_on_factory(issuer: str) -> Callable[[AuthService, Clock], OidcLogin]:
    def factory(auth: AuthService, clock: Clock) -> OidcLogin:
        return OidcLogin(oidc_client(issuer), auth, clock)

    return factory
