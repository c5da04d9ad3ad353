"""One inference service per cluster node (issue 17): N analysis groups on one Ray node, each with its own model
session (``cluster.inference: group``) against the same N groups calling the node's shared service
(``cluster.inference: node``, :mod:`vigie.cluster.inference`).

A real local Ray (one node: this machine). Each group is a Ray actor, its own process, holding what an analysis
group holds of inference — the project's ``SharedDetectors`` (with the node's loader in ``node`` mode) and its
``BatchingDetector`` — and C camera threads calling ``detect`` on real frames (TUD-Campus, 640×480) as fast as they
are answered: the most images per second the node's inference gives its cameras. YOLOX-Nano (416², fixed batch 1),
onnxruntime on the CPU, one thread per run. Every mode runs the same window (``--window``, after ``--warmup``),
all groups counting the frames analysed and refused (dropped) in the same wall-clock window; the phases run one after
the other in this one run:

- ``group``: every group loads its own session (``workers.detector.inference_workers`` runs at a time per group);
- ``node``: every group calls its node's service; the service runs ``--service-workers`` sessions runs at a time
  (``workers.detector.inference_workers``), one model copy for the node.

Printed: images/s of each mode and their ratio, frames dropped, sessions built, the memory (PSS) of the groups'
processes (plus the service's) per mode, and how many frames a group's call to the service carried.

    flock /work/notes/bench.lock .venv/bin/python bench/cluster_inference.py
    flock /work/notes/bench.lock .venv/bin/python bench/cluster_inference.py --groups 4 --cameras 4 --window 20
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MODEL = DATA / "models" / "yolox_nano.onnx"
FRAMES = DATA / "tracking" / "tud-campus" / "img1"


def pss_bytes(pid: int | None = None) -> int:
    """Proportional set size: pages shared between processes (Ray's object store, libraries) counted once in all."""
    for line in Path(f"/proc/{pid or 'self'}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


class BenchGroup:
    """An analysis group's inference in one process (a Ray actor): its shared detectors and its camera threads."""

    def __init__(self, mode: str, namespace: str, workers: int) -> None:
        from vigie.analytics.detect.batching import BatchingConfig, SharedDetectors, SharedDetectorSettings
        from vigie.cluster.inference import NodeInference

        settings = SharedDetectorSettings(
            BatchingConfig(max_batch=16, max_wait_s=0.01, timeout_s=2.0, workers=workers), providers=("cpu",)
        )
        self.detectors = (
            SharedDetectors(settings, load=NodeInference(namespace, settings))
            if mode == "node"
            else SharedDetectors(settings)
        )

    def run(self, model: str, frames: list[np.ndarray], cameras: int, start: float, end: float) -> dict[str, Any]:
        """C camera threads detect frames until ``end`` (wall clock); counts those answered within [start, end]."""
        import hashlib

        from vigie.analytics.detect.batching import DetectorOverloaded, ModelKey

        path = Path(model)
        shared = self.detectors.get(ModelKey(path, "yolox", None, hashlib.sha256(path.read_bytes()).hexdigest()))
        counts = {"analysed": 0, "dropped": 0}
        lock = threading.Lock()

        def camera(k: int) -> None:
            i = k
            while (now := time.time()) < end:
                try:
                    shared.detect(frames[i % len(frames)])
                    outcome = "analysed"
                except DetectorOverloaded:
                    outcome = "dropped"
                i += 1
                if now >= start:
                    with lock:
                        counts[outcome] += 1

        threads = [threading.Thread(target=camera, args=(k,)) for k in range(cameras)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return {**counts, "rss": pss_bytes(), "loader": type(shared.detector).__name__}


def phase(
    ray: Any, mode: str, namespace: str, frames: list[np.ndarray], args: argparse.Namespace, workers: int
) -> dict[str, Any]:
    from vigie.cluster.inference import end_services, service_name

    actor = ray.remote(BenchGroup).options(num_cpus=0)
    groups = [actor.remote(mode, namespace, workers) for _ in range(args.groups)]
    start = time.time() + args.load_s + args.warmup
    end = start + args.window
    results = ray.get(
        [g.run.remote(str(MODEL), frames, args.cameras, start, end) for g in groups], timeout=args.window + 600
    )
    out: dict[str, Any] = {
        "images_per_s": sum(r["analysed"] for r in results) / args.window,
        "dropped": sum(r["dropped"] for r in results),
        "rss": sum(r["rss"] for r in results),
        "loaders": sorted({r["loader"] for r in results}),
        "sessions": args.groups,
    }
    if mode == "node":
        node = ray.get_runtime_context().get_node_id()
        stats = ray.get(ray.get_actor(service_name(node), namespace=namespace).stats.remote(), timeout=30)
        out["rss"] += pss_bytes(stats.pid)
        out["sessions"] = stats.sessions_built
        out["frames_per_call"] = stats.frames / stats.requests if stats.requests else 0.0
        end_services(namespace)
    for group in groups:
        ray.kill(group)
    time.sleep(1.0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=int, default=4, help="analysis groups on the node")
    parser.add_argument("--cameras", type=int, default=4, help="camera threads per group")
    parser.add_argument("--window", type=float, default=15.0, help="measured seconds per mode")
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--load-s", type=float, default=4.0, help="seconds allowed for the groups to load")
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 2, help="CPUs Ray declares for the node")
    parser.add_argument("--service-workers", type=int, default=os.cpu_count() or 2, help="the node's runs at once")
    args = parser.parse_args()
    if not MODEL.is_file() or not FRAMES.is_dir():
        sys.exit(f"development data not found at {DATA} (see ../shared/data/README.md)")
    import cv2

    # A local Ray 2.60 turns token authentication on and writes ~/.ray/auth_token, which later `ray start --head` of
    # the same user then demand (the tests' clusters among them): this private, throw-away cluster goes without.
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    frames = [np.asarray(cv2.imread(str(FRAMES / f"{i:06d}.jpg")), np.uint8) for i in range(1, 71, 7)]
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    ray.init(address="local", num_cpus=args.cpus, namespace=namespace, include_dashboard=False, log_to_driver=False)
    try:
        print(
            f"{args.groups} groups × {args.cameras} cameras, YOLOX-Nano on {args.cpus} CPUs, {args.window:g} s windows",
            flush=True,
        )
        results = {
            "group": phase(ray, "group", namespace, frames, args, 1),
            "node_1": phase(ray, "node", namespace, frames, args, 1),
            f"node_{args.service_workers}": phase(ray, "node", namespace, frames, args, args.service_workers),
        }
    finally:
        ray.shutdown()
    for name, r in results.items():
        print(
            f"{name}: {r['images_per_s']:.1f} images/s, {r['dropped']} dropped, {r['sessions']} sessions, "
            f"PSS {r['rss'] / 2**20:.0f} MiB ({', '.join(r['loaders'])})",
            flush=True,
        )
    base = results["group"]
    lines = [f"group_images_per_s: {base['images_per_s']:.1f}", f"group_pss_mib: {base['rss'] / 2**20:.0f}"]
    for name, r in results.items():
        if name == "group":
            continue
        lines += [
            f"{name}_images_per_s: {r['images_per_s']:.1f}",
            f"{name}_pss_mib: {r['rss'] / 2**20:.0f}",
            f"{name}_vs_group_images_ratio: {r['images_per_s'] / base['images_per_s']:.2f}",
            f"{name}_vs_group_pss_ratio: {r['rss'] / base['rss']:.2f}",
            f"{name}_sessions: {r['sessions']}",
            f"{name}_frames_per_call: {r['frames_per_call']:.1f}",
        ]
    lines.append(f"group_sessions: {base['sessions']}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
