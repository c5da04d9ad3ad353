"""Loudspeaker click to sound from the console (issue 21), on the demo's simulated speaker.

``VigieService`` built by the production composition from the demo's configuration (its ``speakers`` section: one
simulated speaker linked to the first cameras, two messages), served by uvicorn over real HTTP; an operator logged
in in Debian's Chromium (Playwright) on the single live view of a camera clicks *Play the message* N times. Each
delay runs from the click event's time in the browser (``performance.timeOrigin + event.timeStamp``) to the time the
simulated speaker recorded the order (``time.time()``): one clock, this machine's. Prints median, p95 and max; the
last line is ``click_to_sound_p95_ms: X`` (goal: ≤ 500).

    .venv/bin/python bench/speaker_click_to_sound.py [--plays 50]
"""

from __future__ import annotations

import argparse
import math
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.support.servers import serving  # noqa: E402

from vigie.devices.speakers.simulated import SimulatedSpeaker  # noqa: E402
from vigie.domain.actor import Actor  # noqa: E402
from vigie.domain.users import Role  # noqa: E402
from vigie.runtime.assembly.demo import demo_config  # noqa: E402
from vigie.runtime.assembly.service import VigieService  # noqa: E402

PASSWORD = "Bench-operator-pw-1"
RECORD_CLICK = """() => { window.__clicks = [];
  document.addEventListener('click', (e) => { if (e.target.id === 'speakers-play')
    window.__clicks.push(performance.timeOrigin + e.timeStamp); }, true); }"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plays", type=int, default=50)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        urls = {"cam-1": "rtsp://127.0.0.1:9/cam-1", "cam-2": "rtsp://127.0.0.1:9/cam-2"}
        service = VigieService(demo_config(data, "127.0.0.1", 8080, urls))
        today = datetime.now(UTC).date()
        service.accounts.add_user(
            Actor.command_line("bench"),
            username="bench.op",
            display_name="Bench",
            commune_id="demo",
            roles=[Role.OPERATOR],
            password=PASSWORD,
            authorised_until=today + timedelta(days=30),
            trained_on=today,
        )
        speaker = service.speakers.drivers()["demo-speaker"]
        assert isinstance(speaker, SimulatedSpeaker)
        delays: list[float] = []
        with serving(service.app) as base, sync_playwright() as playwright:
            chromium = shutil.which("chromium") or "/usr/bin/chromium"
            browser = playwright.chromium.launch(
                executable_path=chromium, args=["--no-sandbox", "--disable-background-networking"]
            )
            page = browser.new_page(base_url=base, locale="en-GB")
            page.goto("/")
            page.fill("#username", "bench.op")
            page.fill("#password", PASSWORD)
            page.click("#login-form button[type=submit]")
            page.locator("#who-name").wait_for()
            page.goto("/#/live/cam-1")
            page.locator("#speakers-play").wait_for()
            page.evaluate(RECORD_CLICK)
            for count in range(1, args.plays + 1):
                page.click("#speakers-play")
                plays = speaker.wait_for_plays(count, timeout_s=5.0)
                if len(plays) < count:
                    print(f"play {count} never reached the speaker", file=sys.stderr)
                    return 1
                page.locator("#speakers-message.ok").wait_for()
                clicked = page.evaluate("window.__clicks[window.__clicks.length - 1]")
                delays.append(plays[-1].wall_time * 1000.0 - clicked)
                page.evaluate("document.getElementById('speakers-message').className = ''")
            browser.close()
        service.speakers.close()
    ordered = sorted(delays)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    print(f"plays: {len(delays)}, median {statistics.median(delays):.1f} ms, max {max(delays):.1f} ms")
    print(f"click_to_sound_p95_ms: {p95:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
