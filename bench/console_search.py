"""The camera tree's search in Chromium over the métropole's 4,891 cameras (issue 24; goal: ≤ 100 ms).

The API world of the browser tests (tests/support/metropole.py: 15 communes' street cameras and the transport
network's, every one shared with the supervision centre's operator) is served by a real HTTP server; Debian's
Chromium (Playwright) logs in as that operator, opens the live view and types a dozen queries into the tree's search
box, one key at a time as a person types (Playwright's keyboard, 40 ms between keys). For every key, the page
measures from the ``input`` event (a listener on window, in the capture phase: before the tree's own handler) to the
first frame painted after the tree answered (requestAnimationFrame, then a task: after the paint), with
``performance.now()``. The tree is not debounced, so this is the time a person waits for the list to follow.

Printed last, ``name: value``: the keys measured, the tree's own handler time (match and draw) and the
input→rendered time in ms (median, slowest); the camera list's size (GET /api/cameras, which the console reads every
15 s and the feed sends once per connection), one camera's size (what the feed sends of a camera that changed), and
the time to build the list first and again (each API process rebuilds it every 2 s while consoles ask for it).

    .venv/bin/python bench/console_search.py
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from playwright.sync_api import sync_playwright  # noqa: E402
from tests.api.world import PASSWORD, Clock  # noqa: E402
from tests.support.browser import chromium_options, new_context  # noqa: E402
from tests.support.metropole import OPERATOR, metropole_config, metropole_world, world_parts  # noqa: E402
from tests.support.servers import serving  # noqa: E402

from vigie.api.camera_lists import CameraLists  # noqa: E402
from vigie.domain.clock import legal_day  # noqa: E402
from vigie.storage import create_engine_for, migrate  # noqa: E402

STATIC = ROOT / "src" / "vigie" / "web" / "static"
QUERIES = (
    "hotel de ville",
    "Hôtel de Ville Villeurbanne",
    "gare",
    "rue jules ferry",
    "école",
    "tram",
    "ligne t4",
    "metro A",
    "tc-0042",
    "villeurbanne-gare-1",
    "parvis venissieux",
    "quai 2 bron",
)
MEASURE = """
window.__searchTimes = [];
window.__handlerTimes = [];
let began = 0;
window.addEventListener("input", (event) => {
  if (event.target.id !== "tree-search") return;
  began = performance.now();
  const start = began;
  const value = event.target.value;
  requestAnimationFrame(() => setTimeout(() => window.__searchTimes.push([performance.now() - start, value]), 0));
}, true);
window.addEventListener("input", (event) => {  // bubbling: after the tree's own handler has matched and drawn
  if (event.target.id === "tree-search") window.__handlerTimes.push(performance.now() - began);
}, false);
"""


class RealClock(Clock):
    def __call__(self) -> datetime:
        return datetime.now(UTC)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vigie-console-search-") as folder:
        engine = create_engine_for(f"sqlite:///{folder}/api.db")
        migrate(engine)
        clock = RealClock()
        parts = world_parts(metropole_config(legal_day(clock)))
        world = metropole_world(engine, parts, static=STATIC, clock=clock)
        client = world.login(OPERATOR)
        app = world.client().app
        # the list as GET /api/cameras builds it for 4,891 cameras: first (each camera's identity written once),
        # then rebuilt as every 2 s in a process (health read, states judged, JSON written again)
        app.state.camera_lists = CameraLists(max_age_s=0.0, figures_max_age_s=0.0)
        began = time.perf_counter()
        listing = client.get("/api/cameras")
        first_ms = (time.perf_counter() - began) * 1000
        rebuilds = []
        for _ in range(5):
            began = time.perf_counter()
            client.get("/api/cameras")
            rebuilds.append((time.perf_counter() - began) * 1000)
        one = json.dumps(listing.json()[0], separators=(",", ":"), ensure_ascii=False).encode()
        app.state.camera_lists = CameraLists()
        with serving(world.client().app, timeout_graceful_shutdown=1) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(**chromium_options())
            context = new_context(browser, base_url=base, locale="fr-FR", viewport={"width": 1400, "height": 900})
            page = context.new_page()
            page.goto("/")
            page.fill("#username", OPERATOR)
            page.fill("#password", PASSWORD)
            page.click("#login-form button[type=submit]")
            page.locator("#tree-count").filter(has_text="4891").wait_for(timeout=60_000)
            page.wait_for_timeout(2000)  # the first refreshes and the feed's first list settled
            page.evaluate(MEASURE)
            box = page.locator("#tree-search")
            for query in QUERIES:
                box.fill("")
                box.press_sequentially(query, delay=40)
                page.wait_for_timeout(200)
                print(f"{query!r}: {page.locator('#tree-count').text_content()}")
            page.wait_for_timeout(300)
            measured = page.evaluate("window.__searchTimes")
            times = [ms for ms, _ in measured]
            handler = page.evaluate("window.__handlerTimes")
            for ms, value in sorted(measured, reverse=True)[:5]:
                print(f"slowest: {ms:.1f} ms after {value!r}")
            browser.close()
        engine.dispose()
    print(f"keys_measured: {len(times)}")
    print(f"camera_list_bytes: {len(listing.content)}")
    print(f"camera_change_bytes: {len(one)}")
    print(f"camera_list_first_ms: {first_ms:.1f}")
    print(f"camera_list_rebuild_ms_median: {statistics.median(rebuilds):.1f}")
    print(f"handler_ms_median: {statistics.median(handler):.1f}")
    print(f"handler_ms_max: {max(handler):.1f}")
    print(f"search_ms_median: {statistics.median(times):.1f}")
    print(f"search_ms_max: {max(times):.1f}")


if __name__ == "__main__":
    main()
