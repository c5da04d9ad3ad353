"""A 16-tile layout kept live in Chromium for ``--minutes`` (issue 24; goal: CPU and memory flat, no growing DOM or
socket count over an hour).

The world of bench/console_layout.py (16 live cameras, the tests' API world, real HTTP), an operator's 16-tile
layout open in the console. Every minute (and at the start, once all 16 tiles show a picture) it samples:

- the browser's CPU time: user + system seconds of every Chromium process under this one (/proc), and the CPU
  used per minute since the previous sample;
- the page's JS heap (CDP ``Performance.getMetrics``: JSHeapUsedSize) and its DOM node count (``Nodes``), after a
  garbage collection (``HeapProfiler.collectGarbage``): what the page still holds;
- the open WebSockets and EventSources of the page (counted by a wrapper installed before the console's scripts).

Prints each sample, the first and the last, then ``cpu_growth_ratio`` (CPU per minute over the last interval /
over the first), ``heap_growth_ratio`` (last heap / first heap), ``dom_nodes_delta`` and ``sockets_delta`` (last
minus first) as the last lines.

    .venv/bin/python bench/console_soak.py [--minutes 60] [--fps 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from console_layout import ALL_SHOWN, CAMERA_IDS, console_world, sixteen_tiles
from tests.support.browser import chromium_options

COUNT_SOCKETS = """(() => {
  const open = new Set();
  for (const name of ['WebSocket', 'EventSource']) {
    const Original = window[name];
    const Counted = function (...args) {
      const made = new Original(...args);
      open.add(made);
      made.addEventListener('close', () => open.delete(made));
      if (name === 'EventSource') {
        made.addEventListener('error', () => { if (made.readyState === 2) open.delete(made); });
      }
      return made;
    };
    Counted.prototype = Original.prototype;
    Object.assign(Counted, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: Original.CLOSED });
    window[name] = Counted;
  }
  const closed = (s) => s.readyState === (s instanceof EventSource ? 2 : 3);
  window.__openSockets = () => Array.from(open).filter((s) => !closed(s)).length;
})()"""
TICKS = os.sysconf("SC_CLK_TCK")


def descendants(root: int) -> list[int]:
    """This process's descendants (Playwright's driver, Chromium and its helpers), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parents.items() if parent == pid]
        found.extend(children)
        frontier.extend(children)
    return found


def chromium_cpu_s() -> float:
    total = 0
    for pid in descendants(os.getpid()):
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            if "chrom" not in comm:
                continue  # Playwright's driver (node) is not the browser
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def sample(page: Any, cdp: Any, started: float) -> dict[str, float]:
    cdp.send("HeapProfiler.collectGarbage")  # what is still held, not what awaits the collector
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {
        "minute": (time.monotonic() - started) / 60,
        "cpu_s": chromium_cpu_s(),
        "heap_mb": metrics["JSHeapUsedSize"] / 1e6,
        "dom_nodes": metrics["Nodes"],
        "sockets": float(page.evaluate("() => window.__openSockets()")),
    }


def show(label: str, s: dict[str, float]) -> None:
    print(
        f"{label}: minute {s['minute']:.1f}  cpu {s['cpu_s']:.1f} s  cpu/min {s.get('cpu_per_min', 0):.2f} s  "
        f"heap {s['heap_mb']:.1f} MB  dom nodes {s['dom_nodes']:.0f}  sockets {s['sockets']:.0f}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--fps", type=float, default=10.0, help="frames per second of each synthetic camera")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with console_world(args.fps) as (base, _world), sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium_options())
        page = browser.new_page(base_url=base, locale="fr-FR", viewport={"width": 1600, "height": 1000})
        page.add_init_script(COUNT_SOCKETS)
        sixteen_tiles(page)
        page.goto("/#/live")
        page.wait_for_function(ALL_SHOWN, arg=list(CAMERA_IDS), timeout=60_000)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        started = time.monotonic()
        samples = [sample(page, cdp, started)]
        show("sample 0", samples[0])
        for minute in range(1, args.minutes + 1):
            time.sleep(max(0.0, started + 60 * minute - time.monotonic()))
            current = sample(page, cdp, started)
            current["cpu_per_min"] = (current["cpu_s"] - samples[-1]["cpu_s"]) / (
                current["minute"] - samples[-1]["minute"]
            )
            samples.append(current)
            show(f"sample {minute}", current)
        assert page.evaluate(ALL_SHOWN, list(CAMERA_IDS)), "a tile stopped showing its camera"
        browser.close()
    first, last = samples[0], samples[-1]
    show("first", first)
    show("last", last)
    first_rate = samples[1]["cpu_per_min"] if len(samples) > 1 else 0.0
    print(f"cpu_growth_ratio: {(last.get('cpu_per_min', 0.0) / first_rate) if first_rate else float('nan'):.3f}")
    print(f"heap_growth_ratio: {last['heap_mb'] / first['heap_mb']:.3f}")
    print(f"dom_nodes_delta: {last['dom_nodes'] - first['dom_nodes']:.0f}")
    print(f"sockets_delta: {last['sockets'] - first['sockets']:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
