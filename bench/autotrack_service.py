"""Auto-tracking as ``vigie serve`` runs it: the service's runner, its PTZ service and the governance gate, on the
simulated dome and a clock the frames move.

What runs per frame is the production path (:class:`vigie.runtime.assembly.autotrack.AutoTrackingRunner` in its
session thread): the dome's position asked through :class:`~vigie.services.ptz.PtzService`, the dome's pan/tilt
privacy masks blacked out from it, ``AutoTracking.process`` asking the real :class:`ActivationGate`, the commands
carried out as the system through ``PtzService.tracking_move``. Only the picture's source differs: the simulated
dome rendered at each frame (640×360, the analysis width) instead of its decoded RTSP stream. The dome starts 8°
beside a walker at its widest zoom; an operator's box is drawn from the walker's outline; the walker is followed for
``--seconds`` at ``--fps``; whether its true centre is in the middle third of the picture (x and y) is checked at
each frame. CPU per frame is the session thread's time between two frames (rendering apart), with and without three
masks in the view (windows above the walker's path).

    uv run python bench/autotrack_service.py [--seconds 60] [--fps 12.5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]  # the walker's box and centre as the tests draw them

from tests.support.dome_walk import in_central_third, operator_box  # noqa: E402

from vigie.analytics.autotrack import MODULE, AutoTrackingConfig  # noqa: E402
from vigie.devices.masks import PtzMask  # noqa: E402
from vigie.domain.audit import AuditAction, AuditEvent  # noqa: E402
from vigie.domain.ptz import DomeOptics  # noqa: E402
from vigie.governance.gate import ActivationGate, GateRules, Window  # noqa: E402
from vigie.runtime.assembly.autotrack import AutoTrackingRunner, TrackedDome, TrackedFrame  # noqa: E402
from vigie.services.ptz import PtzService  # noqa: E402
from vigie.sim.dome import SimulatedDome  # noqa: E402
from vigie.sim.panorama import Panorama, Walker, panorama, walkers_at  # noqa: E402

WIDTH, HEIGHT = 640, 360
ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)
DOME = "dome-bench"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def at(self) -> datetime:
        return ORIGIN + timedelta(seconds=self.now)


class Audit:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def append(self, event: AuditEvent) -> None:
        self.events.append(event)


class Rules:
    def __init__(self, rules: GateRules) -> None:
        self.current = rules

    def rules(self, now: datetime) -> GateRules:
        return self.current


class Feed:
    def __init__(self, dome: SimulatedDome, clock: Clock, walker: int, fps: float, frames: int) -> None:
        self.dome, self.clock, self.walker, self.fps, self.frames = dome, clock, walker, fps, frames
        self.inside: list[bool] = []
        self.step_cpu: list[float] = []
        self.render_cpu: list[float] = []
        self.done = threading.Event()

    def __call__(self, tracked: TrackedDome) -> Iterator[TrackedFrame]:
        for i in range(self.frames):
            if i:
                self.clock.now += 1.0 / self.fps
                view = self.dome.view(WIDTH, HEIGHT)
                self.inside.append(in_central_third(walkers_at(self.clock.now)[self.walker], view))
            began = time.thread_time()
            frame = self.dome.frame(WIDTH, HEIGHT)
            self.render_cpu.append(time.thread_time() - began)
            handed = time.thread_time()
            yield TrackedFrame(frame, self.clock.at())
            if i:
                self.step_cpu.append(time.thread_time() - handed)
        self.done.set()
        time.sleep(3600)  # a live stream with nothing new: the bench stops the session


def windows_above(walker: Walker, seconds: float, rate_deg_s: float) -> tuple[PtzMask, ...]:
    """Three private windows 6–9° above the walker's head, along its path (in the picture, never on the walker)."""
    top = walker.tilt_deg + walker.height_deg + 6.0
    pans = [walker.pan_deg + rate_deg_s * seconds * f for f in (0.1, 0.4, 0.7)]
    return tuple(
        PtzMask(f"w{i}", ((p - 2.0, top), (p + 2.0, top), (p + 2.0, top + 3.0), (p - 2.0, top + 3.0)))
        for i, p in enumerate(pans)
    )


def run(world: Panorama, walker_index: int, seconds: float, fps: float, masks: bool) -> dict[str, float]:
    clock = Clock(5.0)
    optics = DomeOptics()
    walker = walkers_at(clock.now)[walker_index]
    later = walkers_at(clock.now + 10.0)[walker_index]
    rate = (later.pan_deg - walker.pan_deg) / 10.0
    home = optics.from_angles(walker.pan_deg + 8.0, walker.tilt_deg + 3.0, optics.hfov_wide_deg)
    dome = SimulatedDome(optics, world, clock, home=home)
    audit = Audit()
    ptz = PtzService({DOME: dome}, audit, clock.at)  # type: ignore[arg-type]
    window = Window(1, ORIGIN, ORIGIN + timedelta(days=1))
    gate = ActivationGate(Rules(GateRules(windows={(MODULE, DOME): (window,)})), clock.at, cache_ttl_s=0.0)
    frames = round(seconds * fps) + 1
    feed = Feed(dome, clock, walker_index, fps, frames)
    config = AutoTrackingConfig(max_duration_s=seconds + 10, lost_after_frames=max(3, round(0.6 * fps)))
    tracked = TrackedDome(
        DOME, "rtsp://unused.invalid", optics, windows_above(walker, seconds, rate) if masks else (), config, 0.5
    )
    runner = AutoTrackingRunner(ptz, gate, {DOME: tracked}, clock.at, frames=feed)
    ptz.attach_tracking(runner)
    runner.start(DOME, operator_box(walker, dome.view(WIDTH, HEIGHT)), "user:bench")
    feed.done.wait(600)
    ended_early = [e for e in audit.events if e.action is AuditAction.AUTOTRACKING_ENDED]
    runner.stop(DOME, "user:bench")
    ends = [e for e in audit.events if e.action is AuditAction.AUTOTRACKING_ENDED]
    return {
        "central_third": float(np.mean(feed.inside)),
        "moves_per_s": ends[-1].details["moves"] / seconds,
        "audit_entries": len(audit.events),
        "ended_early": len(ended_early),
        "step_ms": 1000 * statistics.median(feed.step_cpu),
        "step_ms_p95": 1000 * float(np.percentile(feed.step_cpu, 95)),
        "render_ms": 1000 * statistics.median(feed.render_cpu),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--fps", type=float, default=12.5)
    args = parser.parse_args()
    world = panorama()
    results = {}
    for walker in (0, 1):
        for masks in (False, True):
            r = results[walker, masks] = run(world, walker, args.seconds, args.fps, masks)
            print(
                f"walker {walker}, {'3 masks in view' if masks else 'no mask'}: central third "
                f"{r['central_third']:.3f}, {r['moves_per_s']:.1f} moves/s, {r['audit_entries']:.0f} audit entries, "
                f"ended early {r['ended_early']:.0f}, runner step {r['step_ms']:.2f} ms (p95 {r['step_ms_p95']:.2f}), "
                f"render {r['render_ms']:.2f} ms",
                flush=True,
            )
    plain = statistics.median(r["step_ms"] for (_, m), r in results.items() if not m)
    masked = statistics.median(r["step_ms"] for (_, m), r in results.items() if m)
    print(f"central_third_fraction_min: {min(r['central_third'] for r in results.values()):.3f}")
    print(f"audit_entries_per_session: {max(r['audit_entries'] for r in results.values()):.0f}")
    print(f"runner_step_ms: {plain:.2f}")
    print(f"masked_over_plain_step: {masked / plain:.2f}")


if __name__ == "__main__":
    main()
