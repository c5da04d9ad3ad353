"""Single sign-on in a real browser: the console offers "log in with <provider>", the person logs in at a real
OpenID provider (panva's oidc-provider under node) and lands in the console with their Vigie roles; an identity
without a Vigie account comes back to the login page with a message in the console's language."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.api.world import World, build_world
from tests.console.conftest import STATIC, shot, sync_api
from tests.support.browser import CHROMIUM, chromium_options, new_context
from tests.support.servers import serving
from tests.support.sign_on import LABEL, Stack, sign_on_factory

expect = sync_api.expect


@pytest.fixture
def sso_world(db: Engine, stack: Stack) -> World:
    return build_world(db, static=STATIC, oidc=sign_on_factory(stack.provider.issuer))


@pytest.fixture
def page(sso_world: World, stack: Stack) -> Iterator[sync_api.Page]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium, or run scripts/test.sh)")
    app = sso_world.client().app
    with serving(app, stack.vigie_port, timeout_graceful_shutdown=1), sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium_options())
        yield new_context(browser, base_url=stack.base, locale="fr-FR").new_page()
        browser.close()


def through_the_provider(page: sync_api.Page, login: str) -> None:
    page.goto("/")
    link = page.locator("#sso-link")
    expect(link).to_have_text(f"Se connecter avec {LABEL}")
    shot(page, "16-login-with-sso")
    link.click()
    page.fill("input[name=login]", login)  # the provider's own page
    page.click("button:has-text('Log in')")
    page.click("button:has-text('Allow')")


def test_an_operator_signs_on_at_the_provider_and_lands_in_the_console(page: sync_api.Page) -> None:
    through_the_provider(page, "op.vil")
    expect(page.locator("#who-name")).to_contain_text("operator")
    expect(page.locator("#wall .tile[data-camera]")).to_have_count(2)  # their commune's cameras, as with a password


def test_an_identity_without_a_vigie_account_comes_back_with_a_message(page: sync_api.Page, sso_world: World) -> None:
    through_the_provider(page, "someone.else")
    expect(page.locator("#login-error")).to_contain_text("vous n'avez pas de compte Vigie")
    expect(page.locator("#login")).to_be_visible()
    assert any(str(e.action) == "login.failed" for e in sso_world.audit.events)
