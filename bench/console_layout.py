"""Opening a 16-tile layout of 16 live cameras in the console (issue 24; goal: all 16 live in ≤ 2 s).

The tests' API world (tests/api/world.py) with 16 cameras of one commune, each a live camera of the tests' live
world (synthetic frames, tests/support/live_camera.py, read by the real LiveHub and JPEG-encoded by the server as
for any masked camera), served over real HTTP; an operator logged in in Debian's Chromium (Playwright). The layout
(grid 16, one camera per tile) is the operator's remembered one. Each run starts on another view (the alerts: no
live socket open), then opens the live view, and measures in the browser from the hash change to the moment all
16 tiles show a picture (their <img> decoded a JPEG, or their <video> plays). Prints each run, then the median;
the last line is ``open16_s_median: X``.

    .venv/bin/python bench/console_layout.py [--runs 5] [--fps 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.api.world import PASSWORD, Clock, World, build_world  # noqa: E402
from tests.recording.export_samples import ListAuditSink  # noqa: E402
from tests.support.browser import chromium_options  # noqa: E402
from tests.support.live_camera import LEFT_HALF, Camera  # noqa: E402
from tests.support.servers import serving  # noqa: E402

from vigie.config.camera import Authorisation  # noqa: E402
from vigie.domain.camera import CameraInfo, CameraKind, Purpose  # noqa: E402
from vigie.domain.clock import legal_day  # noqa: E402
from vigie.domain.ports import LiveQuality  # noqa: E402
from vigie.governance.authorisation import CameraAuthorisations  # noqa: E402
from vigie.ingest.live import LiveHub, LiveSpec  # noqa: E402
from vigie.services.live import LiveService  # noqa: E402
from vigie.storage import create_engine_for, migrate  # noqa: E402

STATIC = ROOT / "src" / "vigie" / "web" / "static"
CAMERA_IDS = tuple(f"vil-{n}" for n in range(1, 17))
USERNAME = "op.vil"
ALL_SHOWN = """(ids) => ids.every((id) => {
  const tile = document.querySelector(`#wall .tile[data-camera="${id}"]`);
  if (!tile) return false;
  const img = tile.querySelector('img'), video = tile.querySelector('video');
  return (!img.hidden && img.complete && img.naturalWidth > 0) || (!video.hidden && video.currentTime > 0);
})"""


class RealClock(Clock):
    def __call__(self) -> datetime:
        return datetime.now(UTC)


def live_service_for(fps: float) -> Any:
    def make(audit: ListAuditSink, clock: Clock, authorisations: CameraAuthorisations | None = None) -> LiveService:
        specs: dict[tuple[str, LiveQuality], LiveSpec] = {}
        for camera_id in CAMERA_IDS:
            for quality in ("wall", "full"):
                specs[camera_id, quality] = LiveSpec(
                    camera_id, f"rtsp://cam/{camera_id}", masks=(LEFT_HALF,), idle_s=0.2
                )
        return LiveService(LiveHub(specs, Camera(period=1.0 / fps)), audit, clock, authorisations=authorisations)

    return make


def authorisations(clock: Clock) -> CameraAuthorisations:
    today = legal_day(clock)
    return CameraAuthorisations(
        {
            camera: Authorisation(
                reference=f"DS-{camera}",
                valid_from=today - timedelta(days=700),
                valid_until=today + timedelta(days=365),
                purposes=(Purpose.CRIME_PREVENTION,),
                retention_days=15,
            )
            for camera in CAMERA_IDS
        },
        clock,
    )


@contextmanager
def console_world(fps: float) -> Iterator[tuple[str, World]]:
    """The API world with 16 live cameras of Villeurbanne, served over HTTP: (base URL, world)."""
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine_for(f"sqlite:///{Path(folder) / 'api.db'}")
        migrate(engine)
        cameras = [
            CameraInfo(camera, f"Caméra {camera}", "villeurbanne", "centre", CameraKind.FIXED) for camera in CAMERA_IDS
        ]
        world = build_world(
            engine,
            static=STATIC,
            live=live_service_for(fps),
            clock=RealClock(),
            cameras=cameras,
            authorisations=authorisations,
        )
        try:
            with serving(world.client().app, timeout_graceful_shutdown=1) as base:
                yield base, world
        finally:
            engine.dispose()


def sixteen_tiles(page: Any) -> None:
    """Log in and remember a 16-tile layout of the 16 cameras as the operator's own (what layouts.js keeps)."""
    page.goto("/")
    page.fill("#username", USERNAME)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.locator("#who-name").wait_for()
    page.goto("/#/alerts")
    layout = {
        "id": None,
        "name": "",
        "grid": "16",
        "tiles": [{"camera": c, "tour": [], "pace_s": 10} for c in CAMERA_IDS],
        "alarm_tile": None,
        "auto": False,
    }
    page.evaluate(
        "([key, layout]) => localStorage.setItem(key, JSON.stringify(layout))",
        [f"vigie.layout.{USERNAME}.1", layout],
    )


def open16(page: Any) -> float:
    """Seconds from opening the live view to all 16 tiles showing a picture (measured in the page)."""
    page.goto("/#/alerts")
    page.wait_for_function("() => !document.querySelector('#wall .tile')")
    page.wait_for_timeout(1500)  # the previous sockets closed, the server's readers idle
    page.evaluate("() => { window.__opened = performance.now(); location.hash = '#/live'; }")
    page.wait_for_function(ALL_SHOWN, arg=list(CAMERA_IDS), timeout=60_000, polling=10)
    return float(page.evaluate("() => (performance.now() - window.__opened) / 1000"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fps", type=float, default=10.0, help="frames per second of each synthetic camera")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with console_world(args.fps) as (base, _world), sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium_options())
        page = browser.new_page(base_url=base, locale="fr-FR", viewport={"width": 1600, "height": 1000})
        sixteen_tiles(page)
        times = []
        for run in range(1, args.runs + 1):
            seconds = open16(page)
            times.append(seconds)
            print(f"run {run}: {seconds:.3f} s")
        browser.close()
    print(f"open16_s_median: {statistics.median(times):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
