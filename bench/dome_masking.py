"""What masks that follow a dome cost (``vigie.devices.dome_masking``), measured in one run.

- The dome's position read over ONVIF as the recorder reads it (``GetStatus`` through ``OnvifPosition``, the
  simulated ONVIF camera over real HTTP): the round trip, which with the polling period bounds the delay the masks
  add to a frame (it waits for a reading taken after it).
- The mask of one 1920×1080 frame: a still dome (one projection, then cached), and a dome panning at 30°/s and
  120°/s (every position of the frame's exposure window swept), in ms per frame, and the share of the picture they
  hide (a 15°×10° window at 40° of field of view; the window widened over the motion of ``video_delay_s``).

    .venv/bin/python bench/dome_masking.py [--frames 200] [--delay 0.5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from vigie.devices.dome_masking import DomeMasker, DomeMaskSpec, OnvifPosition, PositionTrack, Reading  # noqa: E402
from vigie.devices.masks import PtzMask  # noqa: E402
from vigie.domain.ptz import DomeOptics  # noqa: E402
from vigie.sim.dome import SimulatedDome  # noqa: E402
from vigie.sim.onvif import OnvifSimulator, SimDeviceSpec, SimProfile  # noqa: E402
from vigie.sim.panorama import PanoramaSpec, panorama  # noqa: E402

WINDOW = PtzMask("window", ((20.0, 0.0), (35.0, 0.0), (35.0, 10.0), (20.0, 10.0)))
WIDTH, HEIGHT, FPS = 1920, 1080, 25.0


def onvif_round_trip(reads: int) -> list[float]:
    optics = DomeOptics()
    dome = SimulatedDome(optics, panorama(PanoramaSpec(1024, 384)), time.monotonic, walkers=False)
    device = SimDeviceSpec(
        name="dome",
        username="bench",
        password="bench-password-1",
        profiles=(SimProfile("main", "Main", "rtsp://127.0.0.1:9/dome", width=WIDTH, height=HEIGHT, fps=25),),
        ptz=dome,
    )
    with OnvifSimulator([device], host="127.0.0.1") as sim:
        host, port = sim.address("dome")
        spec = DomeMaskSpec("dome", (WINDOW,), optics, host, port, "bench", "bench-password-1")
        read = OnvifPosition(spec)
        try:
            read()  # the session's opening is not a reading's cost
            times = []
            for _ in range(reads):
                started = time.perf_counter()
                read()
                times.append((time.perf_counter() - started) * 1000.0)
        finally:
            read.close()
    return times


def masking(speed_deg_s: float, frames: int, delay_s: float) -> tuple[float, float]:
    """Mean ms per frame and mean share of the picture hidden, the dome panning at ``speed_deg_s`` across the
    window (readings every 0.1 s, exactly where a dome moving at that speed would be)."""
    optics = DomeOptics()
    spec = DomeMaskSpec("dome", (WINDOW,), optics, "127.0.0.1", 80, "u", "p", poll_s=0.1, video_delay_s=delay_s)
    track = PositionTrack("dome", lambda: optics.from_angles(0, 0, 40), time.monotonic, 0.1, history_s=1e6)
    start_pan = 27.5 - speed_deg_s * frames / FPS / 2  # the window in the middle of the run
    horizon = frames / FPS + delay_s + 1.0
    for step in range(round(horizon / 0.1) + 2):
        t = step * 0.1 - delay_s - 0.5
        track.add(Reading(t, t + 0.005, optics.from_angles(start_pan + speed_deg_s * t, 5.0, 40.0)))
    masker = DomeMasker(spec, track)
    costs, hidden = [], []
    for index in range(frames):
        at = index / FPS
        started = time.perf_counter()
        raster = masker.raster(at, WIDTH, HEIGHT)
        costs.append((time.perf_counter() - started) * 1000.0)
        hidden.append(float(raster.mean()))
    assert masker.blanked == 0
    return statistics.fmean(costs), max(hidden)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.5, help="video_delay_s")
    args = parser.parse_args()
    times = sorted(onvif_round_trip(100))
    print(f"ONVIF GetStatus round trip over {len(times)} reads: median {statistics.median(times):.1f} ms")
    results = {speed: masking(speed, args.frames, args.delay) for speed in (0.0, 30.0, 120.0)}
    for speed, (ms, share) in results.items():
        print(f"pan {speed:5.1f}°/s: {ms:6.2f} ms/frame at {WIDTH}x{HEIGHT}, at most {share:.1%} of the picture hidden")
    still, slow, fast = (results[s][0] for s in (0.0, 30.0, 120.0))
    print(f"getstatus_median_ms: {statistics.median(times):.1f}")
    print(f"getstatus_p90_ms: {times[int(0.9 * (len(times) - 1))]:.1f}")
    print(f"mask_still_ms_per_frame: {still:.2f}")
    print(f"mask_pan30_ms_per_frame: {slow:.2f}")
    print(f"mask_pan120_ms_per_frame: {fast:.2f}")
    print(f"hidden_pan30_max: {results[30.0][1]:.3f}")
    print(f"hidden_pan120_max: {results[120.0][1]:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
