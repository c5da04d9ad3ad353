"""Camera-side events of many ONVIF cameras on one listener thread (issue 19): how long subscribing takes, what an
event takes to arrive, and what listening costs while nothing happens.

The cameras are simulated (``vigie.sim.onvif.OnvifSimulator``, real HTTP and WS-Security, a PullPoint per
subscription) in a separate ``spawn``-ed process, so the listener's CPU is its own. The listener is the production
one (:class:`vigie.devices.event_listener.CameraEventListener` with :func:`onvif_subscribe`, as ``vigie serve``
builds it through ``vigie.runtime.assembly.camera_events``):

1. **subscribe**: every camera subscribed, ``--max-connecting`` at a time (cold: the first subscriptions parse the
   ONVIF WSDLs, as at a service's start); then again warm, the same way and one at a time, for the ratio the
   concurrency buys (on loopback, where a device answers in well under a millisecond, little: it is there for real
   cameras' round trips);
2. **latency**: ``--events`` scene changes raised one after the other on cameras spread over the set; each from the
   request to the simulator to the listener's callback (both clocks are the host's monotonic clock);
3. **idle**: the listener's process CPU over ``--idle-s`` seconds with every camera subscribed and nothing raised
   (each camera's pull waits ``--pull-timeout`` s on the device, then pulls again).

    .venv/bin/python bench/camera_events.py
    .venv/bin/python bench/camera_events.py --cameras 500 --max-connecting 32
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def serve(count: int, conn: Connection) -> None:
    """The simulated cameras, in their own process: addresses sent, then scene changes raised on request."""
    from tests.support.onvif_sim import device_specs

    from vigie.sim.onvif import OnvifSimulator, SimTopic

    with OnvifSimulator(device_specs(count)) as sim:
        conn.send({f"cam-{i:03d}": sim.address(f"cam-{i:03d}") for i in range(count)})
        while (request := conn.recv()) != "stop":
            name, active = request
            sim.raise_event(name, SimTopic.GLOBAL_SCENE_CHANGE, active)
            conn.send("raised")


def subscribe_all(sources: list[Any], max_connecting: int, pull_timeout: float, on_event: Any) -> tuple[Any, float]:
    from vigie.devices.event_listener import CameraEventListener, SubscriptionState, onvif_subscribe

    listener = CameraEventListener(
        sources, on_event, subscribe=onvif_subscribe(pull_timeout), max_connecting=max_connecting
    )
    started = time.perf_counter()
    listener.start()
    while not all(s.state is SubscriptionState.SUBSCRIBED for s in listener.subscriptions()):
        if time.perf_counter() - started > 600:
            failing = [s for s in listener.subscriptions() if s.state is not SubscriptionState.SUBSCRIBED]
            raise SystemExit(f"not all subscribed after 600 s: {failing[:3]}")
        time.sleep(0.02)
    return listener, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=200)
    parser.add_argument("--max-connecting", type=int, default=32)
    parser.add_argument("--pull-timeout", type=float, default=20.0)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--idle-s", type=float, default=10.0)
    args = parser.parse_args()

    from tests.support.onvif_sim import PASSWORD, USERNAME

    from vigie.devices.event_listener import EventSource

    context = mp.get_context("spawn")
    here, there = context.Pipe()
    server = context.Process(target=serve, args=(args.cameras, there), daemon=True)
    server.start()
    arrived: dict[str, float] = {}
    lock = threading.Lock()

    def on_event(camera_id: str, event: Any) -> None:
        if event.kind == "scene_change" and event.active:
            with lock:
                arrived.setdefault(camera_id, time.perf_counter())

    try:
        if not here.poll(120):
            print("the simulated cameras did not start", file=sys.stderr)
            return 1
        addresses = here.recv()
        sources = [EventSource(name, host, port, USERNAME, PASSWORD) for name, (host, port) in addresses.items()]
        listener, subscribe_s = subscribe_all(sources, args.max_connecting, args.pull_timeout, on_event)
        latencies = []
        step = max(1, args.cameras // args.events)
        for name in [f"cam-{i:03d}" for i in range(0, args.cameras, step)][: args.events]:
            sent = time.perf_counter()
            here.send((name, True))
            here.recv()
            while name not in arrived and time.perf_counter() - sent < 30:
                time.sleep(0.001)
            latencies.append((arrived.get(name, float("inf")) - sent) * 1000)
            here.send((name, False))
            here.recv()
        cpu, wall = time.process_time(), time.perf_counter()
        time.sleep(args.idle_s)
        idle_cpu = (time.process_time() - cpu) / (time.perf_counter() - wall)
        stop = time.perf_counter()
        listener.stop()
        stop_s = time.perf_counter() - stop
        again, warm_s = subscribe_all(sources, args.max_connecting, args.pull_timeout, lambda *_: None)
        again.stop()
        serial, serial_s = subscribe_all(sources, 1, args.pull_timeout, lambda *_: None)
        serial.stop()
    finally:
        here.send("stop")
        server.join(30)
    latencies.sort()
    print(f"cameras: {args.cameras}; pull timeout {args.pull_timeout:g} s; events raised: {len(latencies)}")
    print(f"subscribe_all_s (max {args.max_connecting} connecting, cold): {subscribe_s:.2f}")
    print(f"subscribe_all_again_s (max {args.max_connecting} connecting, warm): {warm_s:.2f}")
    print(f"subscribe_all_one_at_a_time_s (warm): {serial_s:.2f}")
    print(f"bounded_concurrency_speedup_warm: {serial_s / warm_s:.2f}")
    print(f"event_latency_median_ms: {statistics.median(latencies):.1f}")
    print(f"event_latency_max_ms: {latencies[-1]:.1f}")
    print(f"idle_cpu_share_of_one_core: {idle_cpu:.3f}")
    print(f"stop_s: {stop_s:.2f}")
    print(f"subscribe_{args.cameras}_cameras_s: {subscribe_s:.2f}")
    return 0 if latencies[-1] < 30_000 else 1


if __name__ == "__main__":
    sys.exit(main())
