"""CPU cost of the demo dome's live feed (``vigie.sim.dome_stream``): render, I420, H.264 (libx264 ultrafast,
zerolatency) and RTP to a local UDP port, per frame size and rate, the dome still and panning. Measured as the
process's CPU seconds per wall second (cores) while the feed runs alone, with a UDP receiver counting the bytes.

    .venv/bin/python bench/dome_stream.py [--seconds 8]
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from vigie.domain.ptz import DomeOptics, PtzVector  # noqa: E402
from vigie.sim.dome import SimulatedDome  # noqa: E402
from vigie.sim.dome_stream import DomeStream  # noqa: E402
from vigie.sim.panorama import panorama  # noqa: E402
from vigie.sim.rtsp import free_udp_ports  # noqa: E402

CASES = ((960, 540, 12), (960, 540, 15), (1280, 720, 12), (1280, 720, 15))


def run(width: int, height: int, fps: int, moving: bool, seconds: float) -> tuple[float, float, int]:
    """(cores, kB/s, frames skipped) of one feed."""
    dome = SimulatedDome(DomeOptics(), panorama(), time.monotonic)
    if moving:  # a slow pan with a zoom, as an operator drives it: new remap tables every frame
        dome.continuous_move(PtzVector(0.1, 0.0, 0.05), timeout_s=seconds + 5)
    [port] = free_udp_ports(1)
    received = [0]
    stop = threading.Event()
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", port))
    rx.settimeout(0.1)

    def count() -> None:
        while not stop.is_set():
            try:
                received[0] += len(rx.recv(65536))
            except TimeoutError:
                continue

    counter = threading.Thread(target=count)
    counter.start()
    feed = DomeStream(dome, port, width=width, height=height, fps=fps)
    feed.start()
    time.sleep(1.0)  # past the first keyframe
    cpu, wall, bytes_before = time.process_time(), time.monotonic(), received[0]
    time.sleep(seconds)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    sent = received[0] - bytes_before
    feed.stop()
    stop.set()
    counter.join()
    rx.close()
    return cpu / wall, sent / wall / 1000, feed.frames_skipped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    started = time.monotonic()
    panorama()
    print(f"panorama drawn in {time.monotonic() - started:.2f} s")
    results: dict[str, float] = {}
    for width, height, fps in CASES:
        for moving in (False, True):
            cores, rate, skipped = run(width, height, fps, moving, args.seconds)
            name = f"{width}x{height}_{fps}fps_{'moving' if moving else 'still'}"
            results[name] = cores
            print(f"{name}: {cores:.3f} core, {rate:.0f} kB/s, {skipped} frames skipped")
    ratio = results["1280x720_12fps_moving"] / results["960x540_12fps_moving"]
    print(f"cost_1280x720_over_960x540_moving_12fps: {ratio:.2f}")
    print(f"cores_960x540_12fps_still: {results['960x540_12fps_still']:.3f}")
    print(f"cores_960x540_12fps_moving: {results['960x540_12fps_moving']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
