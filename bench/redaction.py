"""Redaction of one 1080p stream on ONE core (issue 23's goal: at least real time): the shared detector at 5
pictures a second, the tracker, the boxes interpolated on every frame, the blur, the H.264 encoding.

Footage: ``one-by-one-person-detection.mp4`` (768×432, people entering a room; /work/shared/data/video) or
``--video``, from second 6 (someone is in the room), upscaled to 1920×1080 and encoded once as H.264 at 25 fps
before any timing (the pictures of a 10 fps clip shown at 25 fps: people move 2.5 times faster, which costs the
redaction nothing). Timed, in one process pinned to one CPU core, onnxruntime with one intra-op thread,
``cv2.setNumThreads(1)``, PyAV decoding and libx264 encoding with one thread each:

- **decode alone**: the 1080p file decoded to I420 arrays (the layout the redaction blurs), nothing else;
- **redaction**: ``vigie.privacy.redact_file`` from that file to a new H.264 file (``--preset``, crf 23): decode,
  YOLOX-nano at ``--fps``, ByteTrack, interpolation, pixelation + blur, conversion and encoding.

With ``--recall``, the quality instead (``vigie.privacy.quality.redaction_recall``, every frame counted) on
TUD-Campus and on the simulator's photo-real ``plaza`` scene (rendered here, 60 s at 10 fps, persons and
vehicles), for the default and the recommended detector settings: the tables of docs/privacy.md.

The ratio to real time is seconds of footage over seconds of wall time (≥ 1.0: a core keeps up with a camera).
The machine is shared: rounds alternate and the median is printed; the same ratio over the process's CPU time
(``cpu_x_real_time``) is what a core of one's own would give when other processes take turns on this one (the
work is single-threaded and pinned, so its CPU time is its time on the core).

    .venv/bin/python bench/redaction.py [--video V] [--model M] [--fps 5] [--seconds 20] [--rounds 2] [--preset P]
    .venv/bin/python bench/redaction.py --recall
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig  # noqa: E402
from vigie.analytics.track import ByteTracker, ByteTrackerConfig  # noqa: E402
from vigie.evaluation.motfile import MotLayout  # noqa: E402
from vigie.evaluation.sequence import PERSONS, VEHICLES, MotSequence, read_sequence  # noqa: E402
from vigie.privacy import (  # noqa: E402
    REDACTION_TRACKING,
    RecallReport,
    RedactionOptions,
    plan_frames,
    redact_file,
    redaction_recall,
)

DATA = ROOT.parent / "shared" / "data"
SIZE = (1920, 1080)
RATE = 25


def prepare(video: Path, target: Path, seconds: float, skip: float) -> int:
    """``seconds`` of ``video`` from ``skip`` upscaled to 1080p, encoded at 25 fps (not timed); frames written."""
    count = int(seconds * RATE)
    written = 0
    with av.open(str(video)) as reader, av.open(str(target), "w") as writer:
        out = writer.add_stream("libx264", rate=RATE, options={"preset": "veryfast", "crf": "20"})
        out.width, out.height, out.pix_fmt = *SIZE, "yuv420p"
        while written < count:
            reader.seek(0)
            for picture in reader.decode(video=0):
                if picture.time is None or picture.time < skip:
                    continue
                image = cv2.resize(picture.to_ndarray(format="bgr24"), SIZE, interpolation=cv2.INTER_LINEAR)
                frame = av.VideoFrame.from_ndarray(np.asarray(image, np.uint8), format="bgr24")
                frame.pts, frame.time_base = written, Fraction(1, RATE)
                writer.mux(out.encode(frame))
                written += 1
                if written >= count:
                    break
        writer.mux(out.encode(None))
    return written


def decode_alone(path: Path) -> int:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type, stream.codec_context.thread_count = "SLICE", 1
        return sum(1 for picture in container.decode(stream) if picture.to_ndarray(format="yuv420p") is not None)


RECALL_SETTINGS = (  # name, model file, format, score threshold (None: the model's default), options
    ("yolox_nano_0.3_5fps", "yolox_nano.onnx", "yolox", None, RedactionOptions()),
    ("yolox_nano_0.3_every_frame", "yolox_nano.onnx", "yolox", None, RedactionOptions(detect_fps=30)),
    ("yolox_nano_0.15_5fps", "yolox_nano.onnx", "yolox", 0.15, RedactionOptions()),
    ("picodet_s_0.4_5fps", "picodet_s_320_coco.onnx", "gfl", None, RedactionOptions()),
    ("picodet_s_0.2_5fps", "picodet_s_320_coco.onnx", "gfl", 0.2, RedactionOptions()),
    ("picodet_s_0.15_5fps", "picodet_s_320_coco.onnx", "gfl", 0.15, RedactionOptions()),
)
"""The default (YOLOX-nano, the shared detector's own threshold) and the cheap levers; PicoDet-S at 0.15 is what
docs/privacy.md recommends for a redaction detector."""


def recall_of(sequence: MotSequence, detector: OnnxDetector, options: RedactionOptions) -> dict[str, RecallReport]:
    tracker = ByteTracker(ByteTrackerConfig(**REDACTION_TRACKING))  # type: ignore[arg-type]
    first, rate = sequence.frames[0], sequence.info.frame_rate
    frames = (((number - first) / rate, image) for number, image in sequence.read_images())
    blurred = {boxes.index: boxes.boxes for boxes, _ in plan_frames(frames, detector, tracker, options)}
    kinds = (PERSONS, VEHICLES) if sequence.truth.layout is MotLayout.MOT16 else (PERSONS,)  # MOT15: persons only
    out = {}
    for kind in kinds:
        truth = sequence.ground_truth(kind)
        by_index = {index: truth[number].boxes for index, number in enumerate(sequence.frames)}
        out[kind] = redaction_recall(by_index, blurred, sequence.info.width, sequence.info.height)
    return out


def recall(models: Path) -> int:
    from vigie.sim.builtin import builtin_scene_path
    from vigie.sim.cutouts import PhotoBank
    from vigie.sim.render import render
    from vigie.sim.scene import load_scene

    with tempfile.TemporaryDirectory() as folder:
        plaza = Path(folder) / "plaza"
        render(load_scene(builtin_scene_path("plaza")), Path(folder) / "plaza.mp4", plaza, PhotoBank.from_data(DATA),
               images=True)  # fmt: skip
        sequences = {"tud-campus": read_sequence(DATA / "tracking" / "tud-campus"), "plaza": read_sequence(plaza)}
        summary: dict[str, float] = {}
        for name, model, fmt, threshold, options in RECALL_SETTINGS:
            config = OnnxDetectorConfig(model_path=models / model, format=fmt, providers=("cpu",),
                                        score_threshold=threshold)  # fmt: skip
            detector = OnnxDetector(config)
            for where, sequence in sequences.items():
                for kind, report in recall_of(sequence, detector, options).items():
                    print(f"{name:27} {where:10} {kind:7} {report.summary()}")
                    summary[f"redaction_area_recall_{where.replace('-', '_')}_{kind}_{name}"] = report.area_recall
    for key, value in summary.items():
        print(f"{key}: {value:.4f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", type=Path, default=DATA / "video" / "one-by-one-person-detection.mp4")
    parser.add_argument("--model", type=Path, default=DATA / "models" / "yolox_nano.onnx")
    parser.add_argument("--format", default="yolox", help="the model's output format (OnnxDetectorConfig.format)")
    parser.add_argument("--fps", type=float, default=5.0, help="pictures analysed per second of footage")
    parser.add_argument("--seconds", type=float, default=20.0, help="footage redacted")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--preset", default="ultrafast", help="libx264 preset of the redacted copy")
    parser.add_argument("--recall", action="store_true", help="measure the recall on TUD-Campus and plaza instead")
    args = parser.parse_args()
    if args.recall:
        return recall(args.model.parent)
    for path in (args.video, args.model):
        if not path.is_file():
            print(f"redaction: {path} not found (see ../shared/data/README.md or pass --video/--model)")
            return 2
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})  # one core for everything, threads included
    cv2.setNumThreads(1)
    detector = OnnxDetector(
        OnnxDetectorConfig(model_path=args.model, format=args.format, providers=("cpu",), intra_op_threads=1)
    )
    options = RedactionOptions(detect_fps=args.fps)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "source-1080p.mp4"
        frames = prepare(args.video, source, args.seconds, skip=6.0)
        footage = frames / RATE
        decode, redact, cpu, blurred = [], [], [], 0
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            decode_alone(source)
            decode.append(footage / (time.perf_counter() - t0))
            tracker = ByteTracker(ByteTrackerConfig(**REDACTION_TRACKING))  # type: ignore[arg-type]
            t0, c0 = time.perf_counter(), time.process_time()
            result = redact_file(
                source, Path(folder) / "redacted.mp4", detector, tracker, options, preset=args.preset, threads=1
            )
            redact.append(footage / (time.perf_counter() - t0))
            cpu.append(footage / (time.process_time() - c0))
            blurred = sum(len(f.boxes) for f in result.frames)
    print(f"footage: {args.video.name} upscaled to {SIZE[0]}×{SIZE[1]}, {frames} frames at {RATE} fps ({footage:g} s)")
    print(f"one core (#{core}), detector {args.model.name} at {args.fps:g} pictures/s, libx264 {args.preset}")
    print(f"decode alone, × real time per round: {', '.join(f'{v:.2f}' for v in decode)}")
    print(f"redaction, × real time per round: {', '.join(f'{v:.2f}' for v in redact)}; {blurred} boxes blurred")
    print(f"redaction, × real time per CPU second of the process: {', '.join(f'{v:.2f}' for v in cpu)}")
    print(f"redaction_decode_x_real_time: {statistics.median(decode):.2f}")
    print(f"redaction_1080p_one_core_x_real_time: {statistics.median(redact):.2f}")
    print(f"redaction_1080p_one_core_cpu_x_real_time: {statistics.median(cpu):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
