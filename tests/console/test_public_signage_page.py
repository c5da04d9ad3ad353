"""The public information page in a real browser shows, per site, the controller and the contact printed on its
signage panels (L7, L36), from the service as `vigie serve` composes it, without logging in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console.conftest import Browser
from tests.support.clocks import T0, FakeClock
from tests.support.configs import authorised_around, camera_yaml, config_yaml, unsigned_site_yaml
from tests.support.servers import serving
from vigie.config import load_config_text
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.runtime.assembly.service import VigieService

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (run scripts/test.sh)")
expect = sync_api.expect


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """This module's server: the composed service (site ``centre`` with the test panel, site ``gare`` with none)."""
    valid = authorised_around(T0.date())
    gare = unsigned_site_yaml("gare", "Gare", camera_yaml("quai", "rtsp://127.0.0.1:9/q", valid=valid))
    text = config_yaml(tmp_path, camera_yaml("parvis", "rtsp://127.0.0.1:9/p", valid=valid)) + gare
    service = VigieService(load_config_text(text), clock=FakeClock(T0))
    service.audit.append(AuditEvent("system:test", AuditAction.SERVICE_STARTED, "service", {}))
    service.audit.checkpoint()  # a signed head for the page's audit section (none yet: answered 404)
    with serving(service.app, timeout_graceful_shutdown=1) as base:
        yield base


def test_the_public_page_lists_each_sites_controller_and_contact(chromium: Browser) -> None:
    page = chromium.page()
    page.goto("/public")
    rows = page.locator("#public-signage tbody tr")
    expect(rows).to_have_count(1)  # the site without a panel is not listed: its camera is not commissioned
    expect(rows.first).to_have_attribute("data-site", "centre")
    expect(rows.first).to_contain_text("Ville de Testville")
    expect(rows.first).to_contain_text("dpo@testville.example")
    expect(rows.first).to_contain_text("Camera parvis")  # the camera's name, as the cameras' table shows it
