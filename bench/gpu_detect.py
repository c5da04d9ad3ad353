"""Batched YOLOX-Nano throughput on a GPU with onnxruntime (CUDA, and TensorRT fp16 when available).

Self-contained: needs only ``pip install onnxruntime-gpu numpy opencv-python-headless onnx`` (no vigie import), so
it can be copied alone to the GPU machine with yolox_nano.onnx. The model's fixed batch axis is rewritten to a
dynamic one (an ONNX graph edit) before timing batch sizes 1, 16, 64, 256 (warm-up, then timed), with the
letterbox pre-processing timed separately, so the table gives images/s with and without it.

    python gpu_detect.py --model yolox_nano.onnx            # on the GPU machine; JSON to $OUT/gpu_detect.json
    python gpu_detect.py --model yolox_nano.onnx --cpu --batches 1 4 --iters 2   # smoke test anywhere
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort


def dynamic_batch_copy(model_path: Path, out_dir: Path) -> Path:
    """A copy of the model whose first input/output axis is the symbolic ``batch`` (Reshape constants fixed too)."""
    model = onnx.load(str(model_path))
    for value in [*model.graph.input, *model.graph.output]:
        dim = value.type.tensor_type.shape.dim[0]
        dim.ClearField("dim_value")
        dim.dim_param = "batch"
    # Reshape targets baked with batch 1 (YOLOX's head reshapes to [1, 85, -1]): 0 copies the input's first axis
    # (ONNX Reshape, allowzero unset), which is the batch in these heads; -1 would clash with the -1 already there
    shapes = {n.input[1] for n in model.graph.node if n.op_type == "Reshape" and len(n.input) > 1}
    for init in model.graph.initializer:
        if init.name in shapes and init.data_type == onnx.TensorProto.INT64 and len(init.dims) == 1:
            values = onnx.numpy_helper.to_array(init).copy()
            if values[0] == 1:
                values[0] = 0
                init.CopyFrom(onnx.numpy_helper.from_array(values, init.name))
    for node in model.graph.node:  # the same targets given as Constant nodes
        if node.op_type == "Constant" and node.output[0] in shapes and node.attribute[0].name == "value":
            values = onnx.numpy_helper.to_array(node.attribute[0].t).copy()
            if values.ndim == 1 and values.size and values[0] == 1:
                values[0] = 0
                node.attribute[0].t.CopyFrom(onnx.numpy_helper.from_array(values))
    del model.graph.value_info[:]  # stale static shapes
    path = out_dir / f"{model_path.stem}_dynbatch.onnx"
    onnx.save(model, str(path))
    return path


def letterbox(frame: np.ndarray, size: int, out: np.ndarray) -> None:
    """YOLOX recipe: keep ratio, pad bottom/right with 114, BGR 0..255, CHW float32."""
    ratio = min(size / frame.shape[0], size / frame.shape[1])
    nh, nw = round(frame.shape[0] * ratio), round(frame.shape[1] * ratio)
    out.fill(114.0)
    out[:, :nh, :nw] = cv2.resize(frame, (nw, nh)).transpose(2, 0, 1)


def providers(cpu: bool, trt: bool, cache: Path) -> list[object]:
    available = ort.get_available_providers()
    if cpu:
        return ["CPUExecutionProvider"]
    chosen: list[object] = []
    if trt and "TensorrtExecutionProvider" in available:
        chosen.append(
            (
                "TensorrtExecutionProvider",
                {
                    "trt_fp16_enable": True,
                    "trt_engine_cache_enable": True,
                    "trt_engine_cache_path": str(cache),
                    "trt_profile_min_shapes": "images:1x3x416x416",
                    "trt_profile_max_shapes": "images:256x3x416x416",
                    "trt_profile_opt_shapes": "images:64x3x416x416",
                },
            )
        )
    if "CUDAExecutionProvider" in available:
        chosen.append("CUDAExecutionProvider")
    chosen.append("CPUExecutionProvider")
    return chosen


def measure(session: ort.InferenceSession, batch: int, iters: int, size: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (480, 640, 3), dtype=np.uint8) for _ in range(min(batch, 16))]
    tensor = np.empty((batch, 3, size, size), np.float32)
    name = session.get_inputs()[0].name
    start = time.perf_counter()
    for i in range(batch):
        letterbox(frames[i % len(frames)], size, tensor[i])
    pre_s = time.perf_counter() - start
    for _ in range(3):
        session.run(None, {name: tensor})
    start = time.perf_counter()
    for _ in range(iters):
        session.run(None, {name: tensor})
    run_s = (time.perf_counter() - start) / iters
    return {
        "batch": batch,
        "model_images_per_s": batch / run_s,
        "with_preprocess_images_per_s": batch / (run_s + pre_s),
        "preprocess_ms_per_image": 1000 * pre_s / batch,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="batched YOLOX-Nano images/s on GPU (onnxruntime)")
    parser.add_argument("--model", type=Path, default=Path("yolox_nano.onnx"))
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16, 64, 256])
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--cpu", action="store_true", help="CPU only (smoke test)")
    parser.add_argument("--no-trt", action="store_true", help="skip TensorRT even if available")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        path = dynamic_batch_copy(args.model, Path(tmp))
        for label, trt in (("cpu" if args.cpu else "cuda", False), ("tensorrt-fp16", True)):
            if trt and (args.cpu or args.no_trt or "TensorrtExecutionProvider" not in ort.get_available_providers()):
                continue
            options = ort.SessionOptions()
            options.log_severity_level = 3
            session = ort.InferenceSession(str(path), options, providers=providers(args.cpu, trt, Path(tmp)))
            used = session.get_providers()[0]
            print(f"\n{label}: running on {used}")
            print("batch   model img/s   incl. preprocess img/s   preprocess ms/img")
            for batch in args.batches:
                row = measure(session, batch, args.iters, session.get_inputs()[0].shape[2])
                row |= {"config": label, "provider": used}
                results.append(row)
                print(
                    f"{batch:5} {row['model_images_per_s']:13.1f} {row['with_preprocess_images_per_s']:24.1f}"
                    f" {row['preprocess_ms_per_image']:19.3f}"
                )
    out = os.environ.get("OUT")
    if out:
        Path(out, "gpu_detect.json").write_text(json.dumps(results, indent=2))
        print(f"\nwrote {out}/gpu_detect.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
