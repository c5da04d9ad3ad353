"""The simulated PTZ dome's picture (issue 19): milliseconds per rendered frame, and what privacy masks add.

One process, one thread: the default panorama (8192×3072, drawn once: its time is printed), then for each size
(640×360, 1280×720) frames rendered by ``SimulatedDome.frame`` (walkers included), each timed, the median reported
- **still**: the dome at rest, the remap tables cached (what an RTSP feeder pays while nobody moves the dome);
- **moving**: a continuous pan+tilt+zoom move, the clock advanced 40 ms between frames, so every frame computes
  its tables (the worst case);
- **masked**: the moving frames with 3 PTZ privacy masks projected and filled (``apply_ptz_masks``).
The ratio moving/still says what motion costs; masked/moving what the masks add. A frame rate of 25 fps leaves
40 ms per frame.

    .venv/bin/python bench/ptz_dome.py
    .venv/bin/python bench/ptz_dome.py --frames 200
"""

from __future__ import annotations

import argparse
import statistics
import time

from vigie.devices.masks import PtzMask, apply_ptz_masks
from vigie.domain.ptz import DomeOptics, PtzVector
from vigie.sim.dome import SimulatedDome
from vigie.sim.panorama import PanoramaSpec, panorama


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100, help="frames per measurement (default 100)")
    args = parser.parse_args()
    started = time.perf_counter()
    world = panorama(PanoramaSpec())
    world.level(1)
    print(f"panorama drawn: {(time.perf_counter() - started) * 1000:.0f} ms")
    masks = [
        PtzMask("a", ((10.0, 2.0), (14.0, 2.0), (14.0, 6.0), (10.0, 6.0))),
        PtzMask("b", ((20.0, -5.0), (26.0, -5.0), (26.0, 4.0), (20.0, 4.0))),
        PtzMask("c", ((-5.0, 0.0), (5.0, 0.0), (0.0, 8.0))),
    ]
    results: dict[str, float] = {}
    for width, height in ((640, 360), (1280, 720)):
        for mode in ("still", "moving", "masked"):
            clock = Clock()
            dome = SimulatedDome(DomeOptics(), world, clock)
            dome.absolute_move(dome.optics.from_angles(0.0, 0.0, 40.0))
            clock.now += 10.0
            if mode != "still":
                dome.continuous_move(PtzVector(0.05, 0.02, 0.05))
            dome.frame(width, height)
            times = []
            for _ in range(args.frames):
                clock.now += 0.04
                begin = time.perf_counter()
                frame = dome.frame(width, height)
                if mode == "masked":
                    apply_ptz_masks(frame, masks, dome.view(width, height))
                times.append(time.perf_counter() - begin)
            elapsed = statistics.median(times) * 1000  # the median: two cores shared with other work
            results[f"{width}x{height}_{mode}_ms"] = elapsed
            print(f"{width}×{height} {mode}: {elapsed:.1f} ms per frame (median of {args.frames})")
    for size in ("640x360", "1280x720"):
        results[f"{size}_moving_over_still"] = results[f"{size}_moving_ms"] / results[f"{size}_still_ms"]
        results[f"{size}_masked_over_moving"] = results[f"{size}_masked_ms"] / results[f"{size}_moving_ms"]
    for name, value in results.items():
        print(f"{name}: {value:.2f}")


if __name__ == "__main__":
    main()
