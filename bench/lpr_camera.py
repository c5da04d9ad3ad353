"""A dedicated plate-reading camera's analysis, end to end (issue 18): the built-in ``lane`` scene (640×360, four cars
in 30 s, plates ~105 px wide) through ``camera_analysis`` as ``vigie serve`` builds it — motion, the lane's moving
region tracked, the plate read in it (PP-OCRv4, one intra-op thread), voted per track — under an open gate.

Prints CPU ms of the calling thread per analysed frame (all frames, and frames with a car in view), the same camera
with motion alone (the module's ratio), cores per LPR camera at 3, 5 and 10 fps (the scene's share of frames with a
car, and with a car always in view: a busy lane), and the reads: cars, exact, wrong. Per-frame costs measured at the
scene's 5 fps are taken for other rates (tracking and voting cost little beside the reader). ``--loops N`` runs the
scene N times (steadier; the first loop includes the motion detector's warm-up).

    .venv/bin/python bench/lpr_camera.py [--loops 2] [--detect-side 480]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import numpy as np

from vigie.analytics.detect.motion import MotionConfig
from vigie.domain.plates import PlateRead
from vigie.governance.gate import ActivationGate, GateRules, Window
from vigie.ingest.reader import StreamSpec
from vigie.runtime.workers.analysis import WorkerSpec, camera_analysis
from vigie.sim import SceneRenderer, builtin_scene_path, load_scene
from vigie.sim.siv import normalised

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class _Rules:
    def __init__(self, rules: GateRules) -> None:
        self._rules = rules

    def rules(self, now: datetime) -> GateRules:
        return self._rules


def _spec(modules: tuple[tuple[str, dict[str, object]], ...]) -> WorkerSpec:
    def unused(_: object) -> ActivationGate:
        raise AssertionError("the bench hands its own gate")

    stream = StreamSpec("lapi1", "file:///unused", analysis_fps=5, analysis_width=640, pixel_format="bgr24")
    return WorkerSpec(stream=stream, motion=MotionConfig(), gate=unused, rules=modules, commune_id="pn")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loops", type=int, default=2)
    parser.add_argument("--detect-side", type=int, default=480, help="the module's detect_side (the demo's: 480)")
    args = parser.parse_args()
    renderer = SceneRenderer(load_scene(builtin_scene_path("lane")))
    frames = list(renderer.frames())
    window = Window(1, T0 - timedelta(days=1), T0 + timedelta(days=365))
    windows = {(m, "lapi1"): (window,) for m in ("plate_reading", "motion")}
    gate = ActivationGate(_Rules(GateRules(windows=windows)), lambda: T0)
    settings = {"lpr_camera": True, "detect_side": args.detect_side}
    lpr = camera_analysis(_spec((("plate_reading", settings),)), gate)
    motion = camera_analysis(_spec(()), gate)
    duration = renderer.scene.duration_s
    costs: dict[str, list[float]] = {"lpr": [], "lpr_car": [], "motion": []}
    reads: list[PlateRead] = []
    expected: list[str] = []
    for loop in range(args.loops):
        for frame in frames:
            at = T0 + timedelta(seconds=loop * duration + frame.time_s)
            started = time.thread_time()
            found = lpr.process(frame.image, at)
            spent = time.thread_time() - started
            costs["lpr"].append(spent)
            if frame.boxes:
                costs["lpr_car"].append(spent)
            reads += [f for f in found if isinstance(f, PlateRead)]
            started = time.thread_time()
            motion.process(frame.image, at)
            costs["motion"].append(time.thread_time() - started)
        expected += sorted({normalised(p.text) for f in frames for p in f.plates if p.visibility == 1.0})
    empty = np.full_like(frames[0].image, 120)
    for step in range(1, 11):
        reads += [
            f
            for f in lpr.process(empty, T0 + timedelta(seconds=args.loops * duration + 0.2 * step))
            if isinstance(f, PlateRead)
        ]
    lpr_ms = 1000 * float(np.mean(costs["lpr"]))
    car_ms = 1000 * float(np.mean(costs["lpr_car"]))
    motion_ms = 1000 * float(np.mean(costs["motion"]))
    texts = [r.text for r in reads]
    exact = sum(min(texts.count(t), expected.count(t)) for t in set(expected))
    print(f"detect_side: {args.detect_side}")
    print(f"frames: {len(costs['lpr'])}")
    print(f"frames_with_car_share: {len(costs['lpr_car']) / len(costs['lpr']):.2f}")
    print(f"lpr_ms_per_frame: {lpr_ms:.1f}")
    print(f"lpr_ms_per_frame_with_car: {car_ms:.1f}")
    print(f"motion_ms_per_frame: {motion_ms:.1f}")
    print(f"lpr_over_motion: {lpr_ms / motion_ms:.1f}")
    for fps in (3, 5, 10):
        print(f"cores_per_lpr_camera_{fps}fps: {lpr_ms * fps / 1000:.2f}")
        print(f"cores_per_lpr_camera_{fps}fps_car_always_in_view: {car_ms * fps / 1000:.2f}")
    print(f"cars: {len(expected)}")
    print(f"reads: {len(reads)}")
    print(f"exact_reads: {exact}")
    print(f"wrong_reads: {len(reads) - exact}")


if __name__ == "__main__":
    main()
