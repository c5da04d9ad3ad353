"""The production composition is what users run: ``VigieService`` built from a configuration, as ``vigie serve`` and
``vigie demo`` build it, wires every part the API can reach, on one clock.

A service the API can use but the start-up forgot answers 503 only in front of a user (alert images did, in the
demo, while the API tests built their own services); this test builds the real thing instead."""

from __future__ import annotations

import dataclasses
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.clocks import FakeClock
from tests.support.configs import config_yaml
from vigie.api.app import ApiServices
from vigie.config import load_config_text
from vigie.domain.actor import Actor
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.clock import legal_day
from vigie.domain.users import Role
from vigie.runtime.assembly.service import VigieService

OPTIONAL_BY_CONFIGURATION = {"oidc": "auth.oidc", "metrics": "api.metrics_token_file"}
"""Parts that exist only when a configuration section asks for them (None otherwise, by design)."""

OIDC = """auth:
  oidc:
    issuer: https://connexion.example.fr/realms/agents
    client_id: vigie
    display_name: Compte agents
"""


def camera(camera_id: str, clock: FakeClock) -> str:
    """A camera whose authorisation runs from a month before to a year after the clock's day."""
    day = legal_day(clock)
    return f"""          - id: {camera_id}
            name: Camera {camera_id}
            kind: fixed
            setting: public_street
            main_stream: rtsp://127.0.0.1:9/{camera_id}
            location: {{lat: 45.76, lon: 4.83}}
            authorisation:
              reference: 2026-TEST-001
              valid_from: {day - timedelta(days=30)}
              valid_until: {day + timedelta(days=365)}
              purposes: [crime_prevention]
              retention_days: 15
"""


def build(tmp_path: Path, clock: FakeClock, extra: str = "", api: str = "") -> VigieService:
    """``api``: more settings of the api section (``key: value, …``)."""
    text = config_yaml(tmp_path, camera("cam-1", clock) + camera("cam-2", clock))
    if api:
        text = text.replace("port: 8080}", f"port: 8080, {api}}}")
    return VigieService(load_config_text(extra + text), clock=clock)


@pytest.fixture
def clock() -> FakeClock:
    # Far from the host's day on purpose: whatever reads the host's time instead of this clock shows up.
    return FakeClock(datetime.now(UTC).replace(microsecond=0) - timedelta(days=3 * 365))


def test_every_service_the_api_can_use_is_wired(tmp_path: Path, clock: FakeClock) -> None:
    service = build(tmp_path, clock)
    fields = [f.name for f in dataclasses.fields(ApiServices)]
    assert "snapshots" in fields and len(fields) >= 10, "the list of API services is read, not assumed"
    missing = [
        name for name in fields if getattr(service.api_services, name) is None and name not in OPTIONAL_BY_CONFIGURATION
    ]
    assert missing == [], f"built by the tests but not by the real start-up: {missing}"
    assert service.api_services.oidc is None, "single sign-on is off when auth.oidc is absent"
    # The API decides the alerts the workers' sink raises: one alert service, not two.
    assert service.api_services.alerts is service.alerts
    assert service.api_services.exports is service.exports
    assert service.api_services.live is service.live


def test_optional_parts_are_wired_when_configured(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIE_OIDC_CLIENT_SECRET", "not-a-real-secret")
    token = tmp_path / "metrics.token"
    token.write_text(secrets.token_hex(32))
    service = build(tmp_path, clock, OIDC, api=f"metrics_token_file: {token}")
    for name in OPTIONAL_BY_CONFIGURATION:
        assert getattr(service.api_services, name) is not None, f"{name} is configured but not wired"


def test_the_service_reads_its_own_clock_everywhere(tmp_path: Path, clock: FakeClock) -> None:
    service = build(tmp_path, clock)
    record = service.audit.append(AuditEvent("system:test", AuditAction.SERVICE_STARTED, "service", {}))
    assert record.at == clock(), "the audit chain is stamped by the service's clock"
    day = legal_day(clock)
    # An authorisation that ends next week by the service's clock: refused if anything judged it by the host's day
    # (three years later), accepted by the service's own.
    created = service.accounts.add_user(
        Actor.command_line("test"),
        username="agent",
        display_name="Agent Test",
        commune_id="testville",
        roles=[Role.OPERATOR],
        password="correct horse battery staple 1",
        authorised_until=day + timedelta(days=7),
        trained_on=day,
    )
    assert created.user.username == "agent"
    clock.advance(days=8)
    assert service.supervisor is not None
    refusal = service.camera_refusal("cam-1")
    assert refusal is None, f"a camera authorised for a year is refused by the service's day: {refusal}"
    clock.advance(days=400)
    assert "cam-1" in (service.camera_refusal("cam-1") or ""), "an expired authorisation stops the camera (L1)"
