"""Cost of the metrics at the reference size (issue 17): one scrape of ``/metrics`` for N cameras (4,900: the
métropole) recorded and analysed, and what observing the worker messages adds on the sink's thread.

Builds the real :class:`~vigie.runtime.workers.monitor.ServiceMonitor` and collector, feeds every camera a recorder
and an analysis health report and a segment (what the sink hands over), then times:

- one exposition (``generate_latest`` of the service's registry): milliseconds per scrape, bytes, series;
- ``monitor.observe`` per message, against a bare ``isinstance`` dispatch of the same messages (the floor of any
  observer): the ratio is what the monitor costs over doing nothing with the message;
- the gap check of one round (all cameras) and the thread-CPU clock read the analysis worker adds per frame.

    .venv/bin/python bench/metrics_scrape.py [--cameras 4900] [--repeat 5]

Last lines ``name: value``.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from vigie.domain.camera import CameraHealth, HealthState
from vigie.domain.cluster import NodeStatus
from vigie.domain.recording import Segment
from vigie.recording.gaps import GapWatch
from vigie.runtime.metrics import exposition, metrics_registry
from vigie.runtime.workers.monitor import ServiceMonitor
from vigie.runtime.workers.recorder import RecordingHealth

T0 = datetime(2026, 1, 1, tzinfo=UTC)  # a fixed instant: the monitor only compares the times it is given


class OneNode:
    def __init__(self, cameras: int) -> None:
        self.cameras = cameras

    def nodes(self) -> list[NodeStatus]:
        groups = tuple(f"recorder-{n}" for n in range(self.cameras // 64 + 1))
        return [NodeStatus("bench", "bench", True, groups, self.cameras)]


def messages(cameras: list[str], now: datetime) -> list[object]:
    found: list[object] = []
    for camera in cameras:
        found.append(RecordingHealth(camera, HealthState.ONLINE, now, packets_per_s=25.0, non_monotonic=1))
        found.append(
            CameraHealth(
                camera, HealthState.ONLINE, now, "", 5.0, 2, fps_decoded=25.0, decode_s=0.002, inference_s=0.01
            )
        )
        found.append(Segment(camera, f"{camera}/x.ts", now - timedelta(seconds=10), now, 1, "0" * 64))
    return found


def floor(msgs: list[object]) -> int:
    kinds = 0
    for msg in msgs:
        if isinstance(msg, Segment | RecordingHealth | CameraHealth):
            kinds += 1
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=4900)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cameras = [f"cam-{n:05d}" for n in range(args.cameras)]
    now = T0
    monitor = ServiceMonitor(cameras, GapWatch(10.0), clock=lambda: now)
    monitor.tick(T0 - timedelta(seconds=10))
    registry = metrics_registry(monitor, OneNode(len(cameras)))
    msgs = messages(cameras, now)

    best_observe = best_floor = float("inf")
    for _ in range(args.repeat):
        started = time.perf_counter()
        for msg in msgs:
            monitor.observe(msg)
        best_observe = min(best_observe, time.perf_counter() - started)
        started = time.perf_counter()
        floor(msgs)
        best_floor = min(best_floor, time.perf_counter() - started)
    monitor.indexed([m for m in msgs if isinstance(m, Segment)])

    best_scrape, body = float("inf"), b""
    for _ in range(args.repeat):
        started = time.perf_counter()
        body = exposition(registry)
        best_scrape = min(best_scrape, time.perf_counter() - started)
    series = sum(len(f.samples) for f in text_string_to_metric_families(body.decode()))

    best_check = float("inf")
    for n in range(args.repeat):
        started = time.perf_counter()
        monitor.tick(T0 + timedelta(seconds=2 + n))
        best_check = min(best_check, time.perf_counter() - started)

    reads = 100_000
    started = time.perf_counter()
    for _ in range(reads):
        time.thread_time()
    thread_clock_ns = (time.perf_counter() - started) / reads * 1e9

    per_message_us = best_observe / len(msgs) * 1e6
    # at the reference load each camera sends a recorder and an analysis health report a second, a segment every 10 s
    rate = len(cameras) * (2 + 0.1)
    print(f"cameras: {len(cameras)}")
    print(f"scrape_ms: {best_scrape * 1000:.1f}")
    print(f"scrape_bytes: {len(body)}")
    print(f"series: {series}")
    print(f"observe_us_per_message: {per_message_us:.2f}")
    print(f"observe_vs_isinstance_floor: {best_observe / best_floor:.1f}")
    print(f"gap_check_ms_per_round: {best_check * 1000:.2f}")
    print(f"sink_thread_share_observing: {per_message_us * 1e-6 * rate + best_check:.4f}")
    print(f"scrape_cpu_share_every_15s: {best_scrape / 15:.4f}")
    print(f"thread_time_ns_per_read: {thread_clock_ns:.0f}")


if __name__ == "__main__":
    main()
