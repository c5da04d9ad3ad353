"""Forensic object search within a case (issue 22): the search's throughput against the detector's own, one run.

Footage: ``car-detection.mp4`` (768×432, 12.5 fps, /work/shared/data/video) or ``--video``, remuxed (no transcode)
into 10 s MPEG-TS segments cut on keyframes, as the recorder writes them; the model ``yolox_nano.onnx`` (or
``--model``, ``--format``) through Vigie's ``OnnxDetector``. Measured in one run, rounds alternated (the machine is
shared: a ratio of figures taken side by side is what holds):

- **detector alone**: the pictures the search analyses (sampled at ``--fps``), already decoded and held in memory,
  given to ``detect_batch`` in batches of ``--batch``: pictures a second — the model's throughput at that batch;
- **decode alone**: the search with a detector that finds nothing (decode, sampling, conversion, the tracker idle);
- **search**: ``vigie.analytics.forensics.object_search.search_objects`` over the segments, the real detector (its
  decode runs in a thread of its own while the detector reads the previous batch): pictures a second, × real
  time, objects found, and its **ratio to the detector alone** (issue 22's goal: ≥ 0.9).

The model's ONNX input has a fixed batch of 1 (all three models of ../shared/data do): by default the bench runs a
copy of it with a dynamic batch axis (``bench/gpu_detect.py``'s graph edit, made in a temporary folder, never
stored), checked to give the same output as the original picture for picture, so that both the detector alone and
the search run ``--batch`` pictures a session call — the model's *batched* throughput, as the goal names it.
``--fixed-batch`` keeps the model as it is (one picture a call). On a CPU a batch gains little; a GPU is where the
goal means the most.

    .venv/bin/python bench/object_search.py [--video V] [--model M] [--fps 5] [--batch 16] [--seconds 30] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from bench.gpu_detect import dynamic_batch_copy  # noqa: E402
from tests.support.clip_segments import cut_segments  # noqa: E402

from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig  # noqa: E402
from vigie.analytics.forensics.object_search import ObjectSearchParams, search_objects  # noqa: E402
from vigie.domain.detections import Detections  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # the footage's place on a timeline: any instant does


class Nothing:
    """A detector that finds nothing and keeps what it was shown (decode alone; the pictures for the detector)."""

    def __init__(self, keep: bool) -> None:
        self.kept: list[np.ndarray] = []
        self._keep = keep

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        if self._keep:
            self.kept.extend(frames)
        return [Detections() for _ in frames]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", type=Path, default=DATA / "video" / "car-detection.mp4")
    parser.add_argument("--model", type=Path, default=DATA / "models" / "yolox_nano.onnx")
    parser.add_argument("--format", default="yolox", help="the model's output format (OnnxDetectorConfig.format)")
    parser.add_argument("--fps", type=float, default=5.0)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0, help="footage analysed (from the video's start)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--fixed-batch", action="store_true", help="run the model as it is (no dynamic-batch copy)")
    args = parser.parse_args()
    for path in (args.video, args.model):
        if not path.is_file():
            print(f"object_search: {path} not found (see ../shared/data/README.md or pass --video/--model)")
            return 2
    params = ObjectSearchParams(fps=args.fps, batch=args.batch)
    with tempfile.TemporaryDirectory() as folder:
        model = args.model if args.fixed_batch else dynamic_batch_copy(args.model, Path(folder))
        detector = OnnxDetector(OnnxDetectorConfig(model_path=model, format=args.format))
        per_call = detector.batch_size or args.batch
        files = cut_segments(args.video, Path(folder), START, seconds=10.0, limit=args.seconds)
        end = START + timedelta(seconds=args.seconds)
        holder = Nothing(keep=True)
        search_objects(files, START, end, holder, case_id=1, camera_id="bench", params=params)
        pictures = holder.kept
        detector.detect_batch(pictures[: args.batch])  # onnxruntime's first call sets up its arena
        if model != args.model:  # the copy finds what the original finds, picture for picture
            original = OnnxDetector(OnnxDetectorConfig(model_path=args.model, format=args.format))
            sample = pictures[: args.batch]
            pairs = zip(detector.detect_batch(sample), original.detect_batch(sample), strict=True)
            if not all(
                np.array_equal(a.class_ids, b.class_ids) and np.allclose(a.boxes, b.boxes, atol=1e-3) for a, b in pairs
            ):
                print("object_search: the dynamic-batch copy of the model does not find what the model finds")
                return 1
        alone, decode, full, found, covered = [], [], [], 0, 0.0
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            for i in range(0, len(pictures), args.batch):
                detector.detect_batch(pictures[i : i + args.batch])
            alone.append(len(pictures) / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            result = search_objects(files, START, end, Nothing(keep=False), case_id=1, camera_id="bench", params=params)
            decode.append(result.pictures / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            result = search_objects(files, START, end, detector, case_id=1, camera_id="bench", params=params)
            seconds = time.perf_counter() - t0
            full.append(result.pictures / seconds)
            found, covered = len(result.objects), args.seconds / seconds
    ratio = statistics.median(f / a for f, a in zip(full, alone, strict=True))
    print(
        f"footage: {args.video.name}, {args.seconds:g} s, {len(files)} segments; "
        f"{len(pictures)} pictures at {args.fps:g}/s; model {args.model.name}, {per_call} picture(s) a session call"
    )
    print(f"detector alone, pictures/s per round: {', '.join(f'{v:.1f}' for v in alone)}")
    print(f"decode alone (no detection), pictures/s per round: {', '.join(f'{v:.1f}' for v in decode)}")
    print(f"search, pictures/s per round: {', '.join(f'{v:.1f}' for v in full)}; {found} objects found")
    print(f"object_search_pictures_per_s: {statistics.median(full):.1f}")
    print(f"object_search_x_real_time: {covered:.1f}")
    print(f"object_search_over_detector_ratio: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
