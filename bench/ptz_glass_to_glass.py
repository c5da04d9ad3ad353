"""PTZ command to picture moved, glass to glass, on the simulated dome as the demo runs it.

The whole path a console's command takes: an ONVIF AbsoluteMove over HTTP (``vigie.devices.onvif.OnvifPtz``, as
``vigie serve`` drives a dome) to the simulated ONVIF camera, the simulated dome turning, its live feed (render,
H.264, RTP) through the real RTSP server, an RTSP client decoding it (PyAV, as the recorder and the live view do).
For each move: the time from sending the command to the first decoded frame that differs from the still view
before it (mean absolute difference above a threshold), and the ONVIF call's own time. Prints medians and p90.

    .venv/bin/python bench/ptz_glass_to_glass.py [--moves 12] [--fps 12]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections import deque
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from vigie.devices.onvif import OnvifPtz  # noqa: E402
from vigie.domain.ptz import DomeOptics, PtzVector  # noqa: E402
from vigie.sim.dome import SimulatedDome  # noqa: E402
from vigie.sim.dome_stream import DomeStream  # noqa: E402
from vigie.sim.onvif import OnvifSimulator, SimDeviceSpec, SimProfile  # noqa: E402
from vigie.sim.panorama import panorama  # noqa: E402
from vigie.sim.rtsp import RtspSimServer, free_udp_ports  # noqa: E402

USER, PASSWORD = "bench", "Bench-pw-for-the-dome-1"
CHANGED = 6.0
"""Mean absolute difference (0–255, grey) above which a frame shows the dome moved (the still feed's encoding noise
stays under 1)."""


class Frames:
    """Decoded grey frames of an RTSP stream with their arrival time, in a thread; the latest few kept."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.frames: deque[tuple[float, np.ndarray]] = deque(maxlen=64)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        options = {"rtsp_transport": "tcp", "fflags": "nobuffer", "flags": "low_delay"}
        with av.open(self.url, options=options, timeout=10) as container:
            stream = container.streams.video[0]
            stream.thread_type = "SLICE"
            for frame in container.decode(stream):
                grey = frame.to_ndarray(format="gray").astype(np.float32)
                with self._lock:
                    self.frames.append((time.monotonic(), grey))
                if self._stop.is_set():
                    return

    def latest(self) -> tuple[float, np.ndarray] | None:
        with self._lock:
            return self.frames[-1] if self.frames else None

    def first_changed_after(self, sent: float, reference: np.ndarray, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for at, grey in self.frames:
                    if at > sent and float(np.abs(grey - reference).mean()) > CHANGED:
                        return at - sent
            time.sleep(0.005)
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=12)
    parser.add_argument("--fps", type=int, default=12)
    args = parser.parse_args()
    dome = SimulatedDome(DomeOptics(), panorama(), time.monotonic, walkers=False)
    [udp] = free_udp_ports(1)
    feed = DomeStream(dome, udp, fps=args.fps)
    feed.start()
    try:
        with RtspSimServer({"dome": udp}) as rtsp:
            profile = SimProfile("main", "Main", rtsp.url("dome"), width=960, height=540, fps=args.fps)
            spec = SimDeviceSpec(name="dome", username=USER, password=PASSWORD, profiles=(profile,), ptz=dome)
            with OnvifSimulator([spec], host="127.0.0.1") as sim:
                host, port = sim.address("dome")
                ptz = OnvifPtz(host, port, USER, PASSWORD)
                frames = Frames(rtsp.url("dome"))
                frames.start()
                try:
                    latencies, calls = measure(ptz, frames, args.moves)
                finally:
                    frames.stop()
                    ptz.close()
    finally:
        feed.stop()
    if not latencies:
        print("no move was seen on the picture", file=sys.stderr)
        return 1
    p90 = sorted(latencies)[max(0, round(0.9 * len(latencies)) - 1)]
    print(f"{len(latencies)} of {args.moves} moves seen, feed {args.fps} fps 960x540, one RTSP client")
    print(f"onvif_call_ms_median: {1000 * statistics.median(calls):.0f}")
    print(f"glass_to_glass_ms_p90: {1000 * p90:.0f}")
    print(f"glass_to_glass_ms_median: {1000 * statistics.median(latencies):.0f}")
    return 0


def measure(ptz: OnvifPtz, frames: Frames, moves: int) -> tuple[list[float], list[float]]:
    deadline = time.monotonic() + 20
    while frames.latest() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    latencies: list[float] = []
    calls: list[float] = []
    for index in range(moves):
        time.sleep(1.5)  # the dome still, the picture settled
        latest = frames.latest()
        if latest is None:
            break
        _, reference = latest
        target = PtzVector(0.15 if index % 2 == 0 else -0.15, -0.1, 0.0)
        sent = time.monotonic()
        ptz.absolute_move(target)
        calls.append(time.monotonic() - sent)
        seen = frames.first_changed_after(sent, reference, timeout=5.0)
        if seen is not None:
            latencies.append(seen)
        time.sleep(2.5)  # the move ends (0.3 units at 120 deg/s is under 0.5 s)
    return latencies, calls


if __name__ == "__main__":
    sys.exit(main())
