"""``vigie demo`` run for a browser test, and a console page logged in: what the console's end-to-end tests share.

Skips where chromium (and, with ``rtsp``, the RTSP stack) is missing, except in CI (``CI=true``) where it fails: a
CI run must not pass by skipping. At the end the demo is stopped with SIGINT, must exit 0, and no password of its
login files may appear in what it printed."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import CHROMIUM, new_context
from tests.support.rtsp import rtsp_stack_missing
from tests.support.servers import free_port
from tests.support.vigie_cli import start_vigie, stop_vigie
from tests.support.waiting import wait_for


def read_login(path: Path) -> dict[str, str]:
    """A demo login file (``username: …`` and ``password: …`` lines)."""
    return dict(line.split(": ", 1) for line in path.read_text(encoding="utf-8").splitlines())


@contextmanager
def running_demo(
    tmp_path: Path, *, rtsp: bool = True, logins: Sequence[str] = ("demo-login.txt",)
) -> Iterator[tuple[str, list[dict[str, str]], Path]]:
    """``vigie demo`` (over its RTSP server, or from files with ``rtsp=False``): its URL, the login files named by
    ``logins`` once written, and its data folder."""
    missing = rtsp_stack_missing() if rtsp else None
    missing = missing or (None if Path(CHROMIUM).exists() else "Debian's chromium is not installed")
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must have the RTSP stack and chromium: {missing}")
        pytest.skip(missing)
    port = free_port()
    data = tmp_path / "demo"
    source = ("--rtsp-port", str(free_port())) if rtsp else ("--no-rtsp",)
    proc = start_vigie("demo", "--data-dir", str(data), "--port", str(port), *source)
    files = [data / name for name in logins]

    def written() -> bool:
        assert proc.poll() is None, "the demo stopped by itself"
        return all(f.is_file() for f in files)

    try:
        wait_for(written, 90, "the demo's login files", every=0.3)
    except AssertionError as err:  # stop it, and show what it said
        raise AssertionError(f"{err}\n{stop_vigie(proc, signal.SIGINT)[-3000:]}") from None
    fields = [read_login(f) for f in files]
    try:
        yield f"http://127.0.0.1:{port}", fields, data
    finally:
        output = stop_vigie(proc, signal.SIGINT)
        assert proc.returncode == 0, output[-3000:]
        assert not [f for f in fields if f["password"] in output], "a demo password is in what the demo printed"


def logged_in(
    browser: Any, base: str, username: str, password: str, locale: str = "en-GB", *, accept_downloads: bool = False
) -> Any:
    """A new page of the console at ``base``, logged in as ``username`` (waiting for the server to answer)."""
    from playwright.sync_api import Error, expect

    page = new_context(browser, base_url=base, locale=locale, accept_downloads=accept_downloads).new_page()
    page.set_default_timeout(30_000)

    def opened() -> bool:  # the server may still be starting
        try:
            page.goto("/")
        except Error:
            return False
        return True

    wait_for(opened, 30, "the demo's console to answer", every=0.5)
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#nav")).to_be_visible()
    return page


def put_alarms_aside(page: Any) -> None:
    """The demo's scenes raise alerts all along (a bin catches fire in each loop), and an alert waiting for a
    person's decision pops up in the page's lower right corner in every view (alarms.js), over what lies there: put
    it aside as the operator would (its "Put aside"), so that the mouse reaches what the test presses next."""
    from playwright.sync_api import expect

    aside = page.locator("#alarm-popup:visible #alarm-minimise")
    if aside.count():
        aside.click()
        expect(page.locator("#alarm-popup")).to_be_hidden()
