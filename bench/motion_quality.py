"""Motion quality on real footage (issue 16): does a ``MotionConfig`` still find the moving objects?

- **TUD-Campus** (MOT15, real, 71 frames 640×480 at 25 fps, every frame analysed in grey): the annotated persons,
  all walking, are the truth.
- **car-detection.mp4** (overhead parking lot, 151 frames) and **one-by-one-person-detection.mp4** (indoor room, 697
  frames), read as the analysis group reads them: 5 fps, grey 640×360 from the Y plane. They carry no annotations:
  the truth is the *moving* objects YOLOX-Nano finds (score ≥ 0.4; a detection is moving when no detection of its
  class one second earlier overlaps it with IoU ≥ 0.7 — parked cars and seated people are not).

Per analysed frame after the detector's warm-up: **recall** = truth boxes at least half covered by the union of the
motion boxes (and how many at least 10 % covered: touched by a motion region); **precision** = motion boxes at
least half inside the union of the truth boxes grown by 20 % a side (TUD-Campus: also its ignore regions; the clips:
every detection, moving or not — a box on nothing any detector sees is a shadow, foliage or noise); **frames**
with motion; **episodes** = runs of motion frames merged when less than 5 s apart (the configuration's
``motion.cooldown_s``: the events a user is shown). Each configuration runs the same frames with the detector as
it is now, so the rows compare directly (the figures before issue 16's change are in docs/benchmarks.md).

    .venv/bin/python bench/motion_quality.py                       # process_width 240 (213 px) and 160
    .venv/bin/python bench/motion_quality.py --widths 240 160 128
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

from vigie.analytics.detect.motion import MotionConfig, MotionDetector
from vigie.ingest.reader import analysis_image

DATA = Path("/work/shared/data")
TUD = DATA / "tracking" / "tud-campus"
CLIPS = (DATA / "video" / "car-detection.mp4", DATA / "video" / "one-by-one-person-detection.mp4")
MODEL = DATA / "models" / "yolox_nano.onnx"
FPS = 5.0
WIDTH, HEIGHT = 640, 360
COOLDOWN_S = 5.0
Boxes = npt.NDArray[np.float64]  # (n, 4) x1, y1, x2, y2 in pixels


@dataclass(slots=True)
class Score:
    truth: int = 0
    found: int = 0
    touched: int = 0
    regions: int = 0
    on_truth: int = 0
    motion_frames: int = 0
    frames: int = 0
    motion_at: list[float] = field(default_factory=list)

    def episodes(self) -> int:
        runs, last = 0, -float("inf")
        for at in self.motion_at:
            runs += at - last >= COOLDOWN_S
            last = at
        return runs

    def line(self) -> str:
        recall = self.found / self.truth if self.truth else 0.0
        precision = self.on_truth / self.regions if self.regions else 0.0
        return (
            f"recall {recall:.3f} ({self.found}/{self.truth}; {self.touched} at least 10 % covered)  "
            f"precision {precision:.3f} ({self.on_truth}/{self.regions})  "
            f"motion frames {self.motion_frames}/{self.frames}  episodes {self.episodes()}"
        )


def _mask(boxes: Boxes, shape: tuple[int, int], grow: float = 0.0) -> npt.NDArray[np.bool_]:
    out = np.zeros(shape, bool)
    for x1, y1, x2, y2 in boxes:
        gx, gy = (x2 - x1) * grow, (y2 - y1) * grow
        out[max(0, int(y1 - gy)) : int(np.ceil(y2 + gy)), max(0, int(x1 - gx)) : int(np.ceil(x2 + gx))] = True
    return out


def score_frame(score: Score, at: float, motion: Boxes, truth: Boxes, context: Boxes, shape: tuple[int, int]) -> None:
    score.frames += 1
    if len(motion):
        score.motion_frames += 1
        score.motion_at.append(at)
    moving = _mask(motion, shape)
    for x1, y1, x2, y2 in truth:
        inside = moving[int(y1) : int(np.ceil(y2)), int(x1) : int(np.ceil(x2))]
        score.truth += 1
        score.found += bool(inside.size) and float(inside.mean()) >= 0.5
        score.touched += bool(inside.size) and float(inside.mean()) >= 0.1
    near = _mask(context, shape, grow=0.2)
    for x1, y1, x2, y2 in motion:
        inside = near[int(y1) : int(np.ceil(y2)), int(x1) : int(np.ceil(x2))]
        score.regions += 1
        score.on_truth += bool(inside.size) and float(inside.mean()) >= 0.5


def motion_boxes(detector: MotionDetector, grey: npt.NDArray[np.uint8]) -> Boxes:
    height, width = grey.shape[:2]
    found = [(b.x * width, b.y * height, (b.x + b.w) * width, (b.y + b.h) * height) for b, _ in detector.detect(grey)]
    return np.array(found, np.float64).reshape(-1, 4)


def tud(configs: dict[str, MotionConfig]) -> dict[str, Score]:
    from vigie.evaluation.sequence import read_sequence

    sequence = read_sequence(TUD)
    truth = sequence.ground_truth()
    frames = [(n, cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)) for n, image in sequence.read_images()]
    scores = {}
    for name, config in configs.items():
        detector, score = MotionDetector(config), Score()
        for index, (n, grey) in enumerate(frames):
            found = motion_boxes(detector, grey)
            if index < config.warmup_frames:
                continue
            people = truth[n].boxes
            score_frame(score, index * sequence.period, found, people, np.vstack([people, truth[n].ignore]), grey.shape)
        scores[name] = score
    return scores


def clip_frames(path: Path) -> Iterator[tuple[float, npt.NDArray[np.uint8], npt.NDArray[np.uint8]]]:
    """(media seconds, grey analysis image, BGR image) at 5 fps, as ``sampled_frames`` picks them."""
    due = 0.0
    with av.open(str(path)) as container:
        for frame in container.decode(container.streams.video[0]):
            if frame.time is None or frame.time + 1e-6 < due:
                continue
            due += 1.0 / FPS
            bgr = frame.to_ndarray(width=WIDTH, height=HEIGHT, format="bgr24")
            yield frame.time, analysis_image(frame, WIDTH, HEIGHT, "gray"), bgr


def moving_objects(detections: list[tuple[Boxes, npt.NDArray[np.int32]]], lag: int) -> list[Boxes]:
    """The detections of each frame that no detection of the same class ``lag`` frames earlier overlaps ≥ 0.7."""
    out = []
    for index, (boxes, classes) in enumerate(detections):
        if index < lag:
            out.append(np.zeros((0, 4)))
            continue
        before, before_classes = detections[index - lag]
        keep = [
            k
            for k, box in enumerate(boxes)
            if not any(c == classes[k] and _iou(box, b) >= 0.7 for b, c in zip(before, before_classes, strict=True))
        ]
        out.append(boxes[keep])
    return out


def _iou(a: Boxes, b: Boxes) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def clip(path: Path, configs: dict[str, MotionConfig]) -> dict[str, Score]:
    from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig

    model = OnnxDetector(OnnxDetectorConfig(model_path=MODEL, format="yolox", providers=("cpu",)))
    frames, detections = [], []
    for at, grey, bgr in clip_frames(path):
        found = model.detect(bgr)
        found = found[found.scores >= 0.4]
        frames.append((at, grey))
        detections.append((np.asarray(found.boxes, np.float64), np.asarray(found.class_ids, np.int32)))
    moving = moving_objects(detections, lag=round(FPS))
    scores = {}
    for name, config in configs.items():
        detector, score = MotionDetector(config), Score()
        for index, (at, grey) in enumerate(frames):
            found_motion = motion_boxes(detector, grey)
            if index < config.warmup_frames:
                continue
            score_frame(score, at, found_motion, moving[index], detections[index][0], grey.shape)
        scores[name] = score
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", type=int, nargs="+", default=[240, 160], help="MotionConfig.process_width")
    parser.add_argument("--history", type=int, default=500, help="MOG2 history (the configuration's default: 500)")
    args = parser.parse_args()
    configs = {f"process_width {w}": MotionConfig(process_width=w, history=args.history) for w in args.widths}
    print(f"TUD-Campus ({TUD}), every frame, grey:")
    for name, score in tud(configs).items():
        print(f"  {name}: {score.line()}")
    for path in CLIPS:
        print(f"{path.name}, 5 fps, grey 640×360; truth: moving YOLOX-Nano detections:", flush=True)
        for name, score in clip(path, configs).items():
            print(f"  {name}: {score.line()}", flush=True)


if __name__ == "__main__":
    main()
