"""Batched YOLOX-Nano detection on a GPU: how many camera images per second one GPU serves.

Self-contained on purpose (it runs on the lent GPU machine, whose Python has torch, torchvision and onnx but not
Vigie's own dependencies, nor onnxruntime-gpu — too big to carry there). The ONNX model is converted to PyTorch
with onnx2torch (its Reshape shapes are patched so the batch axis is free; the converted model matches
onnxruntime to 3e-5 on CPU), run in fp16, and measured two ways:

* model only: a batch already on the GPU, fp16 — comparable with the reference anchor (YOLOX-Nano @416, eager
  PyTorch fp16, batch 256 ≈ 10,850 images/s);
* end to end: uint8 camera frames (640×360, what analysis reads) uploaded, letterboxed to 416 on the GPU, the model,
  YOLOX decoding, score threshold and class-aware NMS (torchvision.ops.batched_nms) per image, boxes back on the
  CPU — what a shared inference service for thousands of cameras does per batch.

Usage on the GPU machine:  python3 bench/gpu_detect_torch.py --model .gpu/yolox_nano.onnx [--batches 1,16,64,256]
On a CPU (to check it works):  python3 bench/gpu_detect_torch.py --model M --cpu --batches 1,2 --seconds 1
Prints a table and writes gpu_detect.json to $OUT when set. Target: the reference métropole, 4,891 cameras × 5 fps
≈ 24,500 images/s.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

TARGET = 4891 * 5
STRIDES = (8, 16, 32)


def free_batch(model: onnx.ModelProto) -> onnx.ModelProto:
    """Reshape shapes starting with a literal 1 get 0 ("copy the input's dim"): the batch axis becomes free."""
    inits = {i.name: i for i in model.graph.initializer}
    consts = {n.output[0]: n for n in model.graph.node if n.op_type == "Constant"}
    for node in model.graph.node:
        if node.op_type != "Reshape":
            continue
        name = node.input[1]
        holder = inits.get(name)
        tensor = holder if holder is not None else (consts[name].attribute[0].t if name in consts else None)
        if tensor is None:
            continue
        shape = numpy_helper.to_array(tensor).copy()
        if shape.size and shape[0] == 1:
            shape[0] = 0
            tensor.CopyFrom(numpy_helper.from_array(shape, tensor.name))
    for value in (*model.graph.input, *model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    return model


def grids(size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    cells, strides = [], []
    for stride in STRIDES:
        n = size // stride
        ys, xs = torch.meshgrid(torch.arange(n, device=device), torch.arange(n, device=device), indexing="ij")
        cells.append(torch.stack([xs, ys], -1).reshape(-1, 2))
        strides.append(torch.full((n * n, 1), stride, device=device))
    return torch.cat(cells).float(), torch.cat(strides).float()


def letterbox(frames: torch.Tensor, size: int) -> tuple[torch.Tensor, float]:
    """uint8 N×H×W×3 BGR → float N×3×S×S, ratio kept, pad 114 bottom/right, raw 0–255 (YOLOX convention)."""
    n, h, w, _ = frames.shape
    ratio = min(size / h, size / w)
    nh, nw = round(h * ratio), round(w * ratio)
    x = frames.permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False)
    out = torch.full((n, 3, size, size), 114.0, device=frames.device)
    out[:, :, :nh, :nw] = x
    return out, ratio


def postprocess(raw: torch.Tensor, cells: torch.Tensor, strides: torch.Tensor, ratio: float, thr: float) -> list[Any]:
    from torchvision.ops import batched_nms

    raw = raw.float()
    xy = (raw[..., :2] + cells) * strides
    wh = torch.exp(raw[..., 2:4]) * strides
    boxes = torch.cat([xy - wh / 2, xy + wh / 2], -1) / ratio
    scores, classes = (raw[..., 4:5] * raw[..., 5:]).max(-1)
    keep = scores > thr
    image = torch.arange(raw.shape[0], device=raw.device)[:, None].expand_as(scores)[keep]
    bx, sc, cl = boxes[keep], scores[keep], classes[keep]
    kept = batched_nms(bx, sc, image * 1000 + cl, 0.45)  # one NMS call for the whole batch, per image and class
    image = image[kept]
    order = torch.argsort(image, stable=True)
    counts = torch.bincount(image, minlength=raw.shape[0]).tolist()
    return list(
        zip(bx[kept][order].split(counts), sc[kept][order].split(counts), cl[kept][order].split(counts), strict=True)
    )


def timed(fn: Any, seconds: float, sync: Any) -> tuple[int, float]:
    fn()
    sync()
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        runs += 1
    sync()
    return runs, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--batches", default="1,16,64,256,512")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--cpu", action="store_true")
    parser.add_argument("--compile", default="", help="torch.compile mode, e.g. max-autotune (CUDA graphs)")
    args = parser.parse_args()
    from onnx2torch import convert

    device = torch.device("cpu" if args.cpu or not torch.cuda.is_available() else "cuda")
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    net = convert(free_batch(onnx.load(str(args.model)))).eval().to(device=device, dtype=dtype)
    if device.type == "cuda":
        net = net.to(memory_format=torch.channels_last)
    if args.compile:
        net = torch.compile(net, mode=args.compile)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    cells, strides = grids(416, device)
    rng = np.random.default_rng(0)
    rows = []
    with torch.inference_mode():
        check = torch.rand(2, 3, 416, 416, device=device) * 255
        ref = convert(free_batch(onnx.load(str(args.model)))).eval().to(device)(check).float()
        drift = float((net(check.to(dtype)).float() - ref)[..., 4:].abs().max())
        for batch in (int(b) for b in args.batches.split(",")):
            x = (torch.rand(batch, 3, 416, 416, device=device) * 255).to(dtype)
            runs, secs = timed(lambda: net(x), args.seconds, sync)  # noqa: B023
            model_ips = runs * batch / secs
            frames = torch.from_numpy(rng.integers(0, 255, (batch, 360, 640, 3), dtype=np.uint8))
            frames = frames.pin_memory() if device.type == "cuda" else frames

            def end_to_end() -> None:
                gpu = frames.to(device, non_blocking=True)  # noqa: B023
                inp, ratio = letterbox(gpu, 416)
                dets = postprocess(net(inp.to(dtype)), cells, strides, ratio, 0.3)
                [d[0].cpu() for d in dets]

            runs, secs = timed(end_to_end, args.seconds, sync)
            e2e_ips = runs * batch / secs
            rows.append({"batch": batch, "model_images_per_s": model_ips, "end_to_end_images_per_s": e2e_ips})
            print(f"batch {batch:4d}: model {model_ips:10.0f} img/s   end-to-end {e2e_ips:10.0f} img/s", flush=True)
    best = max(rows, key=lambda r: r["end_to_end_images_per_s"])
    summary = {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "dtype": str(dtype),
        "compile": args.compile or "eager",
        "fp16_vs_fp32_max_score_diff": drift,
        "rows": rows,
        "target_images_per_s": TARGET,
        "best_end_to_end_fraction_of_target": best["end_to_end_images_per_s"] / TARGET,
        "anchor_model_only_batch256": 10850,
    }
    print(json.dumps(summary, indent=2))
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "gpu_detect.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
