"""Do the shared COCO models see the simulator's objects? Cut-outs of real people and cars (vigie.sim.cutouts)
versus the drawn sprites (vigie.sim.sprites), pasted at the same places and sizes over three real backgrounds: the
median frames of the parking-lot clip, of the room clip and of TUD-Campus. One object per frame. Then the built-in
situations scene rendered drawn and ``--photoreal`` (people's recall), and the photo-real plaza scene scored by
``vigie eval detect --objects person|vehicle`` on its rendered frames.

People: each (style, background, height) is written as a MOTChallenge folder and scored by ``vigie eval detect``
(YOLOX-Nano and PicoDet-S, their default thresholds). Vehicles (street-level cars cut out of the plate photos, on
the parking-lot and TUD-Campus backgrounds): the same folders scored with the same code (``read_sequence`` +
``evaluate_detection``, IoU ≥ 0.5) on the model's car/bus/truck detections. Needs the shared data folder
(VIGIE_DATA, default /work/shared/data).

    .venv/bin/python bench/photoreal_detect.py
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig
from vigie.analytics.track.matching import box_iou
from vigie.cli import main as vigie
from vigie.domain.detections import ObjectClass
from vigie.evaluation.detection import evaluate_detection
from vigie.evaluation.sequence import read_sequence
from vigie.sim.builtin import builtin_scene_path
from vigie.sim.cutouts import (
    PERSON,
    PHOTO_VEHICLE_FOLDERS,
    Cutout,
    PhotoBank,
    composite,
    median_background,
    placements,
    read_clip,
    write_mot_sequence,
)
from vigie.sim.render import SceneRenderer, render
from vigie.sim.scene import ActorKind, VehicleView, load_scene
from vigie.sim.sprites import draw_sprite

DATA = Path(os.environ.get("VIGIE_DATA", "/work/shared/data"))
MODELS = {"yolox_nano": ("yolox_nano.onnx", "yolox"), "picodet_s": ("picodet_s_320_coco.onnx", "gfl")}
HEIGHTS = {"person": (60, 90, 120, 180), "vehicle": (60, 90, 120, 180)}
PER_CELL = 24
VEHICLE_CLASSES = (ObjectClass.CAR, ObjectClass.BUS, ObjectClass.TRUCK)


def backgrounds() -> dict[str, np.ndarray]:
    tud = sorted((DATA / "tracking/tud-campus/img1").glob("*.jpg"))
    return {
        "parking": median_background(read_clip(DATA / "video/car-detection.mp4", step=6)),
        # Someone stands at the room's table for most of the clip: its first 4 s, before anyone comes in.
        "room": median_background(read_clip(DATA / "video/one-by-one-person-detection.mp4", limit=40)),
        "tud": median_background([np.asarray(cv2.imread(str(p)), np.uint8) for p in tud]),
    }


def sprite_frame(background: np.ndarray, kind: str, box: tuple[int, int, int, int], seed: int) -> np.ndarray:
    x, y, w, h = box
    b, g, r = (int(c) for c in np.random.default_rng(seed).integers(40, 220, 3))
    colour = (b, g, r)
    actor = ActorKind.PERSON if kind == PERSON else ActorKind.VEHICLE
    sprite = draw_sprite(actor, (w, h), (x + w // 2, y + h), colour, view=VehicleView.REAR)
    out = background.copy()
    sub = out[sprite.top : sprite.top + sprite.mask.shape[0], sprite.left : sprite.left + sprite.mask.shape[1]]
    sub[sprite.mask[: sub.shape[0], : sub.shape[1]]] = np.clip(sprite.image, 0, 255).astype(np.uint8)[
        : sub.shape[0], : sub.shape[1]
    ][sprite.mask[: sub.shape[0], : sub.shape[1]]]
    return out


def build(
    root: Path, bank: dict[str, list[Cutout]], bgs: dict[str, np.ndarray]
) -> list[tuple[str, str, str, int, Path]]:
    """Write one folder per (kind, style, background, height); return (kind, style, background, height, folder)."""
    cells = []
    rng = np.random.default_rng(20)
    for kind, cutouts in bank.items():
        for bg_name, bg in bgs.items():
            if kind == "vehicle" and bg_name == "room":
                continue  # no car drives through a room
            for height in HEIGHTS[kind]:
                if height > bg.shape[0] - 8:
                    continue
                photo, drawn, boxes = [], [], []
                picks = rng.integers(0, len(cutouts), PER_CELL)
                aspect = max(c.size[0] / c.size[1] for c in cutouts)
                for k, (foot, h) in enumerate(placements(rng, (bg.shape[1], bg.shape[0]), [height] * PER_CELL, aspect)):
                    done = composite(bg, cutouts[int(picks[k])], foot, h)
                    photo.append(done.frame)
                    boxes.append([done.box])
                    drawn.append(sprite_frame(bg, kind, done.box, k))
                for style, frames in (("photoreal", photo), ("sprite", drawn)):
                    folder = write_mot_sequence(root / f"{kind}-{style}-{bg_name}-{height}", frames, boxes)
                    cells.append((kind, style, bg_name, height, folder))
    return cells


def person_scores(folder: Path, model: str) -> tuple[int, int]:
    path, fmt = MODELS[model]
    out = folder / f"{model}.json"
    code = vigie(["eval", "detect", str(folder), "--model", str(DATA / "models" / path), "--format", fmt,
                  "--json", str(out)])  # fmt: skip
    if code != 0:
        raise SystemExit(f"vigie eval detect failed on {folder}")
    metrics = json.loads(out.read_text())["metrics"]
    return int(metrics["true_positives"]), int(metrics["ground_truth"])


def vehicle_scores(folder: Path, detector: OnnxDetector) -> tuple[int, int]:
    sequence = read_sequence(folder)
    found = {}
    for frame, image in sequence.read_images():
        dets = detector.detect(image)
        found[frame] = dets[np.isin(dets.class_ids, VEHICLE_CLASSES)]
    scores = evaluate_detection(sequence.ground_truth(), found, sequence.frames)
    return scores.true_positives, scores.ground_truth


def in_own_footage(cutouts: list[Cutout], frames: list[np.ndarray], detector: OnnxDetector) -> float:
    """Recall of the detector on the cut-outs' objects in the frames they were cut from (IoU ≥ 0.5, same kind)."""
    classes = (ObjectClass.PERSON,) if cutouts[0].kind == PERSON else VEHICLE_CLASSES
    hits = 0
    for cutout in cutouts:
        dets = detector.detect(frames[cutout.frame])
        boxes = dets.boxes[np.isin(dets.class_ids, classes)]
        x, y, w, h = cutout.box
        hits += bool(len(boxes)) and float(box_iou(boxes, np.array([[x, y, x + w, y + h]])).max()) >= 0.5
    return hits / len(cutouts)


def plaza_scene(root: Path, bank: PhotoBank) -> dict[tuple[str, str], float]:
    """The photo-real plaza scene rendered with its frames (``vigie sim render plaza --gt G --images
    --photoreal``), scored by ``vigie eval detect`` for persons and vehicles (every object of the ground truth,
    occluded or lying), and the same persons split: standing and at least half visible, or lying."""
    gt = root / "plaza"
    render_result = render(load_scene(builtin_scene_path("plaza")), root / "plaza.mp4", gt, bank, images=True)
    assert render_result.frames > 0
    out: dict[tuple[str, str], float] = {}
    for model, (path, fmt) in MODELS.items():
        for objects in ("person", "vehicle"):
            report = root / f"plaza-{model}-{objects}.json"
            code = vigie(["eval", "detect", str(gt), "--model", str(DATA / "models" / path), "--format", fmt,
                          "--objects", objects, "--json", str(report)])  # fmt: skip
            if code != 0:
                raise SystemExit(f"vigie eval detect failed on {gt}")
            out[(objects, model)] = float(json.loads(report.read_text())["metrics"]["recall"])
    rows = [line.split(",") for line in (gt / "gt" / "gt.txt").read_text().splitlines()]
    standing: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)
    lying: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)
    for row in rows:
        frame, x, y, w, h, cls, visibility = int(row[0]), *(int(v) for v in row[2:6]), row[7], float(row[8])
        if cls == "1" and visibility >= 0.5:
            (lying if w > h else standing)[frame].append((x - 1, y - 1, w, h))
    for model, (path, fmt) in MODELS.items():
        config = OnnxDetectorConfig.model_validate({"model_path": DATA / "models" / path, "format": fmt})
        detector = OnnxDetector(config)
        hits = {"standing": [0, 0], "lying": [0, 0]}
        for frame in range(1, render_result.frames + 1, 5):
            dets = detector.detect(np.asarray(cv2.imread(str(gt / "img1" / f"{frame:06d}.jpg")), np.uint8))
            boxes = dets.boxes[dets.class_ids == ObjectClass.PERSON]
            for name, truth in (("standing", standing[frame]), ("lying", lying[frame])):
                for x, y, w, h in truth:
                    found = len(boxes) and float(box_iou(boxes, np.array([[x, y, x + w, y + h]])).max()) >= 0.5
                    hits[name][0] += bool(found)
                    hits[name][1] += 1
        for name, (tp, n) in hits.items():
            out[(f"person_{name}_half_visible", model)] = tp / n if n else 0.0
    return out


def in_own_photo(cutouts: list[Cutout], detector: OnnxDetector) -> float:
    """Recall of the detector on the vehicles in the photos they were cut from (IoU ≥ 0.5, car/bus/truck)."""
    hits = 0
    for cutout in cutouts:
        name = cutout.source.split()[0]
        folder = next(DATA / f for f in PHOTO_VEHICLE_FOLDERS if (DATA / f / name).is_file())
        dets = detector.detect(np.asarray(cv2.imread(str(folder / name)), np.uint8))
        boxes = dets.boxes[np.isin(dets.class_ids, VEHICLE_CLASSES)]
        x, y, w, h = cutout.box
        hits += bool(len(boxes)) and float(box_iou(boxes, np.array([[x, y, x + w, y + h]])).max()) >= 0.5
    return hits / len(cutouts)


def situations_scene(root: Path, bank: PhotoBank) -> dict[tuple[str, str], float]:
    """Person recall on the built-in situations scene (every 10th frame, people at least half visible), drawn and
    ``--photoreal``, through ``vigie eval detect``."""
    scene = load_scene(builtin_scene_path("situations"))
    out: dict[tuple[str, str], float] = {}
    for style, renderer in (("sprite", SceneRenderer(scene)), ("photoreal", SceneRenderer(scene, bank))):
        frames, boxes = [], []
        for index in range(0, renderer.frame_count, 10):
            rendered = renderer.frame(index)
            frames.append(np.asarray(rendered.image, np.uint8))
            boxes.append(
                [(b.x, b.y, b.w, b.h) for b in rendered.boxes if b.kind is ActorKind.PERSON and b.visibility >= 0.5]
            )
        folder = write_mot_sequence(root / f"situations-{style}", frames, boxes)
        for model in MODELS:
            tp, n = person_scores(folder, model)
            out[(style, model)] = tp / n
    return out


def main() -> None:
    photo_bank = PhotoBank.from_data(DATA)
    bank = {"person": list(photo_bank.people), "vehicle": list(photo_bank.vehicles)}
    print(f"cut-outs: {len(bank['person'])} people (TUD-Campus), {len(bank['vehicle'])} vehicles (plate photos)")
    bgs = backgrounds()
    with tempfile.TemporaryDirectory() as tmp:
        scene_recall = situations_scene(Path(tmp), photo_bank)
        plaza_recall = plaza_scene(Path(tmp), photo_bank)
    detectors = {
        m: OnnxDetector(OnnxDetectorConfig.model_validate({"model_path": DATA / "models" / p, "format": f}))
        for m, (p, f) in MODELS.items()
    }
    totals: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    by_height: dict[tuple[str, str, str, int], list[int]] = defaultdict(lambda: [0, 0])
    by_background: dict[tuple[str, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    with tempfile.TemporaryDirectory() as tmp:
        for kind, style, bg_name, height, folder in build(Path(tmp), bank, bgs):
            for model in MODELS:
                tp, n = person_scores(folder, model) if kind == "person" else vehicle_scores(folder, detectors[model])
                by_background[(kind, style, model, bg_name)][0] += tp
                by_background[(kind, style, model, bg_name)][1] += n
                for cell in (totals[(kind, style, model)], by_height[(kind, style, model, height)]):
                    cell[0] += tp
                    cell[1] += n
    tud_frames = [np.zeros((1, 1, 3), np.uint8)] + [
        np.asarray(cv2.imread(str(p)), np.uint8) for p in sorted((DATA / "tracking/tud-campus/img1").glob("*.jpg"))
    ]
    own = {(PERSON, model): in_own_footage(bank[PERSON], tud_frames, detectors[model]) for model in MODELS}
    own |= {("vehicle", model): in_own_photo(bank["vehicle"], detectors[model]) for model in MODELS}
    print(f"\n{PER_CELL} objects per (background, height); backgrounds: {', '.join(bgs)}")
    print(f"{'kind':8} {'style':10} {'model':11} " + " ".join(f"h={h:>4}" for h in HEIGHTS["person"]) + "  (vehicles: "
          + ", ".join(str(h) for h in HEIGHTS["vehicle"]) + ")")  # fmt: skip
    for kind, style, model in sorted(totals):
        cells = [by_height[(kind, style, model, h)] for h in HEIGHTS[kind]]
        print(f"{kind:8} {style:10} {model:11} " + " ".join(f"{tp / n if n else 0:6.2f}" for tp, n in cells))
    print(f"\n{'kind':8} {'style':10} {'model':11} " + " ".join(f"{name:>8}" for name in bgs) + "  (all heights)")
    for kind, style, model in sorted(totals):
        cells = [by_background[(kind, style, model, name)] for name in bgs]
        print(f"{kind:8} {style:10} {model:11} " + " ".join(f"{tp / n if n else 0:8.2f}" for tp, n in cells))
    print()
    for (kind, style, model), (tp, n) in sorted(totals.items()):
        print(f"recall_{kind}_{style}_{model}: {tp / n:.3f}")
    for kind, style, model in sorted(totals):
        tall = [by_height[(kind, style, model, h)] for h in HEIGHTS[kind] if h >= 120]
        print(f"recall_{kind}_{style}_{model}_120px_up: {sum(t for t, _ in tall) / sum(n for _, n in tall):.3f}")
    for (style, model), value in sorted(scene_recall.items()):
        print(f"recall_person_situations_scene_{style}_{model}: {value:.3f}")
    for (what, model), value in sorted(plaza_recall.items()):
        print(f"recall_{what}_plaza_photoreal_{model}: {value:.3f}")
    for (kind, model), value in sorted(own.items()):
        print(f"recall_{kind}_in_own_footage_{model}: {value:.3f}")


if __name__ == "__main__":
    main()
