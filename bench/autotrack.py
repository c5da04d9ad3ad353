"""Auto-tracking on the simulated dome: does a walker stay in the central third of the picture, and at what CPU cost?

The dome (``vigie.sim.dome.SimulatedDome``) runs on a clock this script moves (no sleeps), answering at once or
``--delay`` seconds late (as a dome on a network does); it is first calibrated (timed relative moves; the last
scenario uses the optics' nominal speeds instead, to show what the measured latency is worth), then pointed 8° beside
a walker at its widest zoom; the walker's box is "drawn" as an operator
would (from the walker's outline projected into that first frame) and the module follows it for ``--seconds``. Each
frame: the dome's status and picture at that instant, ``AutoTracking.process``, its commands carried out by the
dome. Where the walker really is comes from ``walkers_at(t)`` (ground truth, not the tracker's estimate), its centre
projected through the dome's reported position; it is in the central third when both its x and y are within the
middle third of the frame; the offset is the larger of its x and y distances from the centre, in frame widths and
heights. CPU ms per frame is ``process`` alone (``time.process_time``), the dome's rendering apart.

    uv run python bench/autotrack.py [--seconds 60] [--fps 25] [--size 640x360] [--delay 0.5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from vigie.analytics.autotrack import MODULE, AutoTracking, AutoTrackingConfig
from vigie.analytics.autotrack_control import MoveModel, calibrate
from vigie.domain.geometry import Box
from vigie.domain.ptz import DomeOptics, PtzStatus, PtzVector, View, project
from vigie.sim.dome import SimulatedDome
from vigie.sim.panorama import Walker, panorama, walkers_at

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # the frames' timestamps: any origin; the dome's clock starts at 0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class LaggingDome:
    """The simulated dome answering each command ``delay_s`` late, as a real dome on a network does (ONVIF round
    trip, the dome's own controller): a command is carried out at its due time on the dome's clock."""

    def __init__(self, dome: SimulatedDome, clock: Clock, delay_s: float) -> None:
        self.dome, self.clock, self.delay_s = dome, clock, delay_s
        self.pending: list[tuple[float, Callable[[], None]]] = []

    def _later(self, action: Callable[[], None]) -> None:
        if self.delay_s <= 0:
            action()
        else:
            self.pending.append((self.clock.now + self.delay_s, action))

    def catch_up(self) -> None:
        now = self.clock.now
        while self.pending and self.pending[0][0] <= now:
            due, action = self.pending.pop(0)
            self.clock.now = due  # carried out at its due instant exactly
            action()
        self.clock.now = now

    def continuous_move(self, velocity: PtzVector, timeout_s: float | None = None) -> None:
        self._later(lambda: self.dome.continuous_move(velocity, timeout_s))

    def relative_move(self, translation: PtzVector, speed: PtzVector | None = None) -> None:
        self._later(lambda: self.dome.relative_move(translation, speed))

    def absolute_move(self, position: PtzVector, speed: PtzVector | None = None) -> None:
        self._later(lambda: self.dome.absolute_move(position, speed))

    def stop(self) -> None:
        self._later(self.dome.stop)

    def status(self) -> PtzStatus:
        self.catch_up()
        return self.dome.status()


class OpenGate:
    def allows(self, module: str, camera_id: str, at: datetime) -> bool:
        return module == MODULE

    def zones(self, module: str, camera_id: str) -> tuple[str, ...]:
        return ()


def walker_box(walker: Walker, view: View) -> Box:
    """The walker's outline (feet to head, 0.28 of its height wide) projected into ``view``, normalised, with a
    small margin: what an operator would draw around it."""
    h = walker.height_deg
    half_w = 0.14 * h / max(np.cos(np.radians(walker.tilt_deg)), 0.05)
    pans = walker.pan_deg + np.array([-half_w, half_w, -half_w, half_w])
    tilts = walker.tilt_deg + np.array([0.0, 0.0, h, h])
    x, y, _ = project(view, pans, tilts)
    x0, x1, y0, y1 = float(x.min()), float(x.max()), float(y.min()), float(y.max())
    mx, my = 0.1 * (x1 - x0), 0.05 * (y1 - y0)
    return Box(
        (x0 - mx) / view.width,
        (y0 - my) / view.height,
        (x1 - x0 + 2 * mx) / view.width,
        (y1 - y0 + 2 * my) / view.height,
    )


def centre_of(walker: Walker, view: View) -> tuple[float, float, bool]:
    x, y, front = project(view, walker.pan_deg, walker.tilt_deg + walker.height_deg / 2)
    return float(x), float(y), bool(front)


@dataclass(frozen=True)
class Scenario:
    walker: int
    delay_s: float = 0.0
    calibrated: bool = True

    @property
    def name(self) -> str:
        model = "calibrated" if self.calibrated else "nominal model"
        return f"walker {self.walker}, dome answering {1000 * self.delay_s:.0f} ms late, {model}"


def run(scenario: Scenario, seconds: float, fps: float, size: tuple[int, int], start_t: float) -> dict[str, float]:
    width, height = size
    optics = DomeOptics()
    clock = Clock()
    sim = SimulatedDome(optics, panorama(), clock)
    dome = LaggingDome(sim, clock, scenario.delay_s)
    model = calibrate(dome, clock, clock.sleep, poll_s=0.02) if scenario.calibrated else MoveModel.nominal(optics)
    # then the dome is sent 8° of pan beside where the walker will be in 3 s, and 3° above, at its widest zoom
    start_t = max(start_t, clock.now)
    clock.now = start_t
    ahead = walkers_at(start_t + 3.0)[scenario.walker]
    dome.absolute_move(optics.from_angles(ahead.pan_deg + 8.0, ahead.tilt_deg + 3.0, optics.hfov_wide_deg))
    clock.now = start_t = start_t + 3.0
    assert not dome.status().moving
    tracking = AutoTracking(
        "cam-dome",
        AutoTrackingConfig(max_duration_s=seconds + 10),
        OpenGate(),
        optics,
        lambda: EPOCH + timedelta(seconds=clock.now),
        move_model=model,
    )
    status = dome.status()
    frame = sim.frame(width, height)
    tracking.designate(
        walker_box(walkers_at(clock.now)[scenario.walker], sim.view(width, height)),
        EPOCH + timedelta(seconds=clock.now),
        by="user:bench",
        frame=frame,
        position=status.position,
    )
    inside = frames = commands = 0
    cpu: list[float] = []
    render: list[float] = []
    heights: list[float] = []
    offsets: list[float] = []
    lost_at = None
    for i in range(1, round(seconds * fps) + 1):
        clock.now = start_t + i / fps
        status = dome.status()
        began = time.process_time()
        frame = sim.frame(width, height)
        render.append(time.process_time() - began)
        pan, tilt, hfov = optics.to_angles(status.position)
        view = View(pan, tilt, hfov, width, height)
        began = time.process_time()
        out = tracking.process(frame, status.position, EPOCH + timedelta(seconds=clock.now))
        cpu.append(time.process_time() - began)
        for command in out:
            command.apply(dome)
        commands += len(out)
        truth = walkers_at(clock.now)[scenario.walker]
        x, y, front = centre_of(truth, view)
        frames += 1
        heights.append(view.focal_px * np.radians(truth.height_deg) / height)
        offsets.append(max(abs(x - width / 2) / width, abs(y - height / 2) / height) if front else 1.0)
        if front and abs(x - width / 2) <= width / 6 and abs(y - height / 2) <= height / 6:
            inside += 1
        if not tracking.tracking and lost_at is None:
            lost_at = clock.now - start_t
    ended = [e.reason.value for e in tracking.events() if e.reason is not None]
    return {
        "central_third": inside / frames,
        "cpu_ms": 1000 * statistics.median(cpu),
        "cpu_ms_p95": 1000 * float(np.percentile(cpu, 95)),
        "render_ms": 1000 * statistics.median(render),
        "commands_per_s": commands / seconds,
        "height_median": statistics.median(heights),
        "offset_mean": statistics.mean(offsets),
        "offset_p95": float(np.percentile(offsets, 95)),
        "tracked_s": seconds if lost_at is None else lost_at,
        "ended": ", ".join(ended) or "-",
        "pan_rate": model.pan.rate,
        "pan_latency": model.pan.latency_s,
        "zoom_rate": model.zoom.rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--delay", type=float, default=0.5, help="the late dome's delay (s)")
    args = parser.parse_args()
    size = (int(args.size.split("x")[0]), int(args.size.split("x")[1]))
    scenarios = [
        Scenario(0),
        Scenario(1),
        Scenario(0, args.delay),
        Scenario(1, args.delay),
        Scenario(1, args.delay, calibrated=False),
    ]
    results = {}
    for scenario in scenarios:
        r = results[scenario] = run(scenario, args.seconds, args.fps, size, start_t=5.0)
        print(
            f"{scenario.name}: central third {r['central_third']:.3f}, offset from the centre mean "
            f"{r['offset_mean']:.3f} (p95 {r['offset_p95']:.3f}) of the frame, tracked {r['tracked_s']:.1f} s "
            f"(ended: {r['ended']}), {r['commands_per_s']:.1f} commands/s, target height median "
            f"{r['height_median']:.2f} of the frame, process {r['cpu_ms']:.2f} ms (p95 {r['cpu_ms_p95']:.2f}), "
            f"render {r['render_ms']:.2f} ms; model: pan {r['pan_rate']:.3f} generic/s, latency "
            f"{r['pan_latency']:.3f} s, zoom {r['zoom_rate']:.3f}/s",
            flush=True,
        )
    calibrated = [r for s, r in results.items() if s.calibrated]
    late = results[Scenario(1, args.delay)]["offset_mean"]
    nominal = results[Scenario(1, args.delay, calibrated=False)]["offset_mean"]
    print(f"late_dome_offset_nominal_over_calibrated: {nominal / late:.2f}")
    print(f"central_third_fraction_min: {min(r['central_third'] for r in calibrated):.3f}")
    print(f"cpu_ms_per_frame: {statistics.median(r['cpu_ms'] for r in calibrated):.2f}")


if __name__ == "__main__":
    main()
