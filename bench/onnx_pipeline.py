"""ONNX detector overhead and motion-gating savings, measured in one run.

1. For each model in ../shared/data/models: images/s of ``OnnxDetector.detect`` on a TUD-Campus frame (640×480)
   vs a bare ``InferenceSession.run`` on a pre-built input of the model's size, and the pre+post-processing time
   as a % of model time (goal ≤ 10 %).
2. Motion gating: deep-detector calls saved on a quiet scene (the simulator's ``street`` background with its
   lighting noise and drift, no actors) vs the busy ``street`` scene, frame mode and regions mode.

    .venv/bin/python bench/onnx_pipeline.py [--long] [--threads N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import onnxruntime as ort

from vigie.analytics.detect.gating import MotionGateConfig, MotionGatedDetector
from vigie.analytics.detect.letterbox import ModelFormat
from vigie.analytics.detect.motion import MotionDetector
from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig
from vigie.sim.builtin import builtin_scene_path
from vigie.sim.render import SceneRenderer
from vigie.sim.scene import load_scene

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MODELS: list[tuple[str, ModelFormat]] = [
    ("yolox_nano.onnx", "yolox"),
    ("picodet_s_320_coco.onnx", "gfl"),
    ("FastestDet.onnx", "fastestdet"),
]


def _rate(fn: object, n: int) -> float:
    call = fn  # type: ignore[assignment]
    for _ in range(3):
        call()  # type: ignore[operator]
    best = float("inf")
    for _ in range(3):  # best of three rounds: the machine is shared
        start = time.perf_counter()
        for _ in range(n):
            call()  # type: ignore[operator]
        best = min(best, (time.perf_counter() - start) / n)
    return best


def overhead(n: int, threads: int) -> None:
    frame = cv2.imread(str(DATA / "tracking" / "tud-campus" / "img1" / "000001.jpg"))
    print(f"model                      size   detect img/s   raw run img/s   pre+post % of model   (threads={threads})")
    for name, fmt in MODELS:
        path = DATA / "models" / name
        det = OnnxDetector(
            OnnxDetectorConfig(model_path=path, format=fmt, providers=("cpu",), intra_op_threads=threads)
        )
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads, options.log_severity_level = threads, 1, 3
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        h, w = det.input_size
        tensor = det.prepare([frame], 1)[0]
        feed = {det.info.input_name: tensor}
        t_det = _rate(lambda d=det: d.detect(frame), n)
        t_raw = _rate(lambda s=session, f=feed: s.run(None, f), n)
        t_pre = _rate(lambda d=det: d.prepare([frame], 1), n)
        raw = det._session.run(det._output_names, feed)
        transform = det.prepare([frame], 1)[1][0]
        t_post = _rate(lambda d=det, r=raw, t=transform: d._finish([o[0] for o in r], t), n)
        extra = 100 * (t_det - t_raw) / t_raw
        print(
            f"{name:26} {h}x{w} {1 / t_det:12.1f} {1 / t_raw:15.1f} {extra:17.1f} %"
            f"    pre {1000 * t_pre:.2f} ms, post {1000 * t_post:.2f} ms, model {1000 * t_raw:.2f} ms, "
            f"rest {1000 * (t_det - t_raw - t_pre - t_post):.2f} ms"
        )


def gating(frames: int) -> None:
    scene = load_scene(builtin_scene_path("street"))
    renderer = SceneRenderer(scene)
    model = DATA / "models" / "FastestDet.onnx"
    detector = OnnxDetector(OnnxDetectorConfig(model_path=model, format="fastestdet", providers=("cpu",)))
    print(
        f"\nmotion gating on {frames} frames of the simulated street ({scene.width}x{scene.height} @ {scene.fps} fps)"
    )
    print("scene   mode      calls made  calls saved  saved %   crops  s/frame")
    for label, only in (("quiet", ()), ("busy", None)):
        for mode in ("frame", "regions"):
            gate = MotionGatedDetector(detector, MotionDetector(), MotionGateConfig(mode=mode, hold_s=1.0))
            start = time.perf_counter()
            for i in range(frames):
                image = renderer.frame(i, only=only).image
                gate.detect(image, now_s=i / scene.fps)
            elapsed = (time.perf_counter() - start) / frames
            s = gate.stats
            print(
                f"{label:7} {mode:8} {s.calls_made:11} {s.calls_saved:12} {100 * s.saved_ratio:8.1f} {s.crops:7}"
                f" {elapsed * 1000:6.2f} ms"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", action="store_true", help="more iterations for a steadier number")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    args = parser.parse_args()
    if not (DATA / "models").is_dir():
        print(f"no models at {DATA / 'models'}; nothing to measure", file=sys.stderr)
        return 1
    overhead(200 if args.long else 30, args.threads)
    gating(600 if args.long else 200)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
