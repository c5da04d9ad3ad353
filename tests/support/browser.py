"""How the browser tests start Debian's Chromium (headless, under Playwright), and which clock its pages read."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ("--no-sandbox", "--disable-background-networking")


def chromium_options() -> dict[str, Any]:
    """``playwright.chromium.launch`` options: Debian's binary, headless, started without ``LD_PRELOAD`` (under
    the faketime pass libfaketime would slow Chromium past the pages' timeouts; :func:`new_context` gives its
    pages the tests' time instead)."""
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    return {"executable_path": CHROMIUM, "headless": True, "args": list(CHROMIUM_ARGS), "env": env}


def new_context(browser: Any, **options: Any) -> Any:
    """A browser context (its own cookie jar) whose pages read the tests' clock: under faketime (``FAKETIME``
    set) Playwright's clock starts at this process's time and flows from there, so that what the console
    computes from ``Date.now()`` (a playback window, an activation's start) is on the server's calendar."""
    context = browser.new_context(**options)
    if os.environ.get("FAKETIME"):
        context.clock.install(time=datetime.now(UTC))
    return context
