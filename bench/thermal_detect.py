"""How a thermal camera's detectors read heat-shaped real silhouettes (vigie.sim.thermal): the three shared COCO
models on the grey picture (``ThermalPicture``, the production path of ``kind: model`` on a thermal camera), the
hot-blob detector (``kind: hot_blob``), and both at once (``hot_spots`` beside a model: ``HotSpotsBeside``).

Each cell (person height × excess heat) is one MOTChallenge folder of FRAMES frames, 640×480, over TUD-Campus's
median frame turned into a night thermal scene, with three walking people (real cut-outs), one vehicle (a real
cut-out seen from above, 2.2× the person's height long, its hood ``excess`` warm) and one small fire start
(+100 levels, about 36 px across). Persons are scored with ``evaluate_detection`` (PASCAL VOC matching, IoU ≥ 0.5,
the code ``vigie eval detect`` runs — checked against the command itself on one folder per model); vehicles the
same way on the models' car/bus/truck boxes, with a control: the same vehicle cut-outs pasted as grey photos; hot
spots at IoU ≥ 0.3 (a blob's box is grown by smoothing and morphology, and a fire's flickering outline moves it).

The hot-blob detector is warmed up on WARMUP empty frames of the scene first (a camera that has been running: its
background has learnt the warm road and walls), copied for every cell. Its person claims are its ``PERSON`` blobs
(shape rule); "any blob" counts a person found whatever class the blob got. Combined: the models' persons and
vehicles are unchanged; what the combination adds is hot spots, and "hot spots on people" counts the hot spots
lying on a person or a vehicle of the ground truth per frame, without and with the explained-blob rule.

    .venv/bin/python bench/thermal_detect.py [--out FOLDER]   (VIGIE_DATA, default /work/shared/data)
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig
from vigie.analytics.detect.thermal import ThermalDetector, ThermalPicture, explained, grey_picture, with_hot_spots
from vigie.analytics.track.matching import box_iou
from vigie.cli import main as vigie
from vigie.config.detectors import HotBlobDetectorSettings
from vigie.domain.detections import Detections, ObjectClass
from vigie.evaluation.detection import evaluate_detection
from vigie.evaluation.sequence import FrameTruth, MotSequence, read_sequence
from vigie.sim.cutouts import PhotoBank, composite
from vigie.sim.thermal import MOT_CAR, HotSpot, Placed, ThermalFrame, ThermalRenderer, write_thermal_sequence

DATA = Path(os.environ.get("VIGIE_DATA", "/work/shared/data"))
MODELS = {
    "yolox_nano": ("yolox_nano.onnx", "yolox"),
    "picodet_s": ("picodet_s_320_coco.onnx", "gfl"),
    "fastestdet": ("FastestDet.onnx", "fastestdet"),
}
HEIGHTS = (40, 60, 100, 160)
EXCESS = (20, 40, 80)
FRAMES = 10
WARMUP = 200
SPOT_IOU = 0.3
FIRE_RADIUS = 18
VEHICLES = (ObjectClass.CAR, ObjectClass.BUS, ObjectClass.TRUCK)
W, H = 640, 480


def cell_frames(renderer: ThermalRenderer, bank: PhotoBank, height: int, excess: int, start: int) -> list[ThermalFrame]:
    """FRAMES frames: three people walking (alternate directions), a vehicle, a fire start; distinct cut-outs."""
    rng = np.random.default_rng([height, excess])
    people = [bank.people[int(i)] for i in rng.choice(len(bank.people), 3, replace=False)]
    vehicle = bank.vehicles[int(rng.integers(len(bank.vehicles)))]
    foot_y = int(300 + 0.6 * height)
    frames = []
    for k in range(FRAMES):
        step = int(0.05 * height * k)  # all one way: nobody overlaps anybody
        walkers = [
            Placed(cutout, (int(x * W) + step, foot_y), height, excess)
            for cutout, x in zip(people, (0.1, 0.3, 0.5), strict=True)
        ]
        car = Placed(vehicle, (int(0.85 * W), min(H - 4, foot_y + 20)), min(300, int(2.2 * height)), excess)
        fire = HotSpot((int(0.4 * W), 110), FIRE_RADIUS, 100.0)
        frames.append(renderer.render(start + k, walkers, [car], [fire]))
    return frames


def photo_vehicles(bank: PhotoBank, height: int) -> tuple[dict[int, np.ndarray], dict[int, FrameTruth]]:
    """Control: every vehicle of the bank pasted as its own photo (grey) over the grey background photo, at two
    places, at the size the thermal cells give it; the truth is the pasted box. Tells the view (cars seen from
    above) from the heat look."""
    images: dict[int, np.ndarray] = {}
    truth: dict[int, FrameTruth] = {}
    for vehicle in bank.vehicles:
        for x in (0.7, 0.85):
            foot = (int(x * W), min(H - 4, int(300 + 0.6 * height) + 20))
            pasted = composite(bank.backdrop(W, H), vehicle, foot, min(300, int(2.2 * height)))
            bx, by, bw, bh = pasted.box
            frame = len(images) + 1
            images[frame] = grey_picture(np.asarray(pasted.frame))
            truth[frame] = FrameTruth(np.array([frame]), np.array([[bx, by, bx + bw, by + bh]], np.float64))
    return images, truth


def truth_of(sequence: MotSequence, mot_class: int) -> dict[int, FrameTruth]:
    t = sequence.truth
    rows = t.classes == mot_class
    return {f: FrameTruth(t.ids[rows & (t.frames == f)], t.boxes[rows & (t.frames == f)]) for f in sequence.frames}


def spot_truth(folder: Path) -> dict[int, np.ndarray]:
    out: dict[int, list[tuple[float, float, float, float]]] = defaultdict(list)
    for line in (folder / "gt" / "hot_spots.txt").read_text().split():
        f, _, x, y, w, h, _ = (float(v) for v in line.split(","))
        out[int(f)].append((x - 1, y - 1, x - 1 + w, y - 1 + h))
    return {f: np.array(boxes) for f, boxes in out.items()}


def spot_recall(found: dict[int, Detections], truth: dict[int, np.ndarray]) -> tuple[int, int]:
    tp = n = 0
    for frame, boxes in truth.items():
        dets = found[frame]
        spots = dets.boxes[dets.class_ids == ObjectClass.HOT_SPOT]
        n += len(boxes)
        if len(spots):
            tp += int((box_iou(boxes, spots).max(axis=1) >= SPOT_IOU).sum())
    return tp, n


def on_objects(found: dict[int, Detections], objects: dict[int, np.ndarray]) -> int:
    """Hot spots lying on a ground-truth person or vehicle (half their box or more): that object reported twice."""
    count = 0
    for frame, dets in found.items():
        spots = dets.boxes[dets.class_ids == ObjectClass.HOT_SPOT]
        count += int(explained(spots, objects[frame].astype(np.float32)).sum())
    return count


def of_classes(found: dict[int, Detections], classes: tuple[ObjectClass, ...]) -> dict[int, Detections]:
    return {f: d[np.isin(d.class_ids, [int(c) for c in classes])] for f, d in found.items()}


def as_class(found: dict[int, Detections], cls: ObjectClass) -> dict[int, Detections]:
    """Every detection relabelled ``cls`` (class-agnostic scoring: was the object found, whatever it was called)."""
    return {f: Detections.create(d.boxes, d.scores, np.full(len(d), int(cls))) for f, d in found.items()}


class Tally:
    def __init__(self) -> None:
        self.cells: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
        """key → [true positives, ground truth, claims]"""

    def add(self, key: tuple[str, ...], tp: int, n: int, claims: int) -> None:
        cell = self.cells[key]
        cell[0] += tp
        cell[1] += n
        cell[2] += claims

    def recall(self, key: tuple[str, ...]) -> float:
        tp, n, _ = self.cells[key]
        return tp / n if n else 0.0

    def precision(self, key: tuple[str, ...]) -> float:
        tp, _, claims = self.cells[key]
        return tp / claims if claims else 0.0


def score(tally: Tally, key: tuple[str, ...], truth: dict[int, FrameTruth], found: dict[int, Detections]) -> None:
    scores = evaluate_detection(truth, found, sorted(truth))
    tally.add(key, scores.true_positives, scores.ground_truth, scores.true_positives + scores.false_positives)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="keep the rendered MOTChallenge folders here")
    args = parser.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="vigie-thermal-"))
    bank = PhotoBank.from_data(DATA)
    renderer = ThermalRenderer(bank.background, (W, H), seed=20)
    warmed = ThermalDetector(HotBlobDetectorSettings())
    for k in range(WARMUP):
        warmed.detect(renderer.render(k).image)
    beside_settings = HotBlobDetectorSettings(classify_persons=False)
    warmed_beside = ThermalDetector(beside_settings)
    warmed_beside._background = None if warmed._background is None else warmed._background.copy()
    models = {
        name: ThermalPicture(OnnxDetector(OnnxDetectorConfig(model_path=DATA / "models" / file, format=fmt)))
        for name, (file, fmt) in MODELS.items()
    }
    tally = Tally()
    spot_cells: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0, 0])
    doubled: dict[tuple[str, str], int] = defaultdict(int)
    objects_seen: dict[str, int] = defaultdict(int)
    checked: dict[str, tuple[float, float]] = {}
    start = WARMUP
    for height in HEIGHTS:
        for excess in EXCESS:
            frames = cell_frames(renderer, bank, height, excess, start)
            start += FRAMES
            folder = write_thermal_sequence(root / f"thermal-h{height}-x{excess}", frames)
            sequence = read_sequence(folder)
            persons, vehicles, spots = sequence.ground_truth(), truth_of(sequence, MOT_CAR), spot_truth(folder)
            on = {"person": {f: persons[f].boxes for f in sequence.frames}}
            on["vehicle"] = {f: vehicles[f].boxes for f in sequence.frames}
            for kind, boxes in on.items():
                objects_seen[kind] += sum(len(b) for b in boxes.values())
            images = dict(sequence.read_images())
            cell = (str(height), str(excess))
            blobs = copy.deepcopy(warmed)
            found = {f: blobs.detect(images[f][..., 0]) for f in sequence.frames}
            score(tally, ("person", "hot_blob", *cell), persons, of_classes(found, (ObjectClass.PERSON,)))
            score(tally, ("person", "hot_blob_any", *cell), persons, as_class(found, ObjectClass.PERSON))
            score(tally, ("vehicle", "hot_blob_any", *cell), vehicles, as_class(found, ObjectClass.PERSON))
            for i, value in enumerate(spot_recall(found, spots)):
                spot_cells[("hot_blob", *cell)][i] += value
            beside = copy.deepcopy(warmed_beside)
            spots_alone = {f: beside.detect(images[f][..., 0]) for f in sequence.frames}
            for kind, boxes in on.items():
                doubled[(kind, "hot_spots_alone")] += on_objects(spots_alone, boxes)
            for name, model in models.items():
                seen = {f: model.detect(images[f]) for f in sequence.frames}
                score(tally, ("person", name, *cell), persons, of_classes(seen, (ObjectClass.PERSON,)))
                score(tally, ("vehicle", name, *cell), vehicles, of_classes(seen, VEHICLES))
                combined = {f: with_hot_spots(seen[f], spots_alone[f]) for f in sequence.frames}
                for kind, boxes in on.items():
                    doubled[(kind, name)] += on_objects(combined, boxes)
                for i, value in enumerate(spot_recall(combined, spots)):
                    spot_cells[(name, *cell)][i] += value
                if excess == EXCESS[0]:  # control, once per height: the same vehicles as grey photos, not heat
                    photos, truth = photo_vehicles(bank, height)
                    dets = of_classes({f: model.detect(image) for f, image in photos.items()}, VEHICLES)
                    score(tally, ("vehicle", f"{name}_grey_photo", str(height), "photo"), truth, dets)
                if height == 100 and excess == 40:
                    checked[name] = (tally.recall(("person", name, *cell)), eval_detect(folder, name))
    report(tally, spot_cells, doubled, objects_seen, checked, root)


def eval_detect(folder: Path, name: str) -> float:
    """Person recall by the ``vigie eval detect`` command itself on one folder."""
    file, fmt = MODELS[name]
    out = folder / f"eval-{name}.json"
    with contextlib.redirect_stdout(io.StringIO()):
        code = vigie(
            ["eval", "detect", str(folder), "--model", str(DATA / "models" / file), "--format", fmt, "--json", str(out)]
        )
    if code != 0:
        raise SystemExit(f"vigie eval detect failed on {folder}")
    return float(json.loads(out.read_text())["metrics"]["recall"])


def report(
    tally: Tally,
    spot_cells: dict[tuple[str, ...], list[int]],
    doubled: dict[tuple[str, str], int],
    objects_seen: dict[str, int],
    checked: dict[str, tuple[float, float]],
    root: Path,
) -> None:
    detectors = ("hot_blob", "hot_blob_any", *MODELS)
    print(f"\nfolders: {root}; {FRAMES} frames per cell, 3 persons + 1 vehicle + 1 fire start per frame")
    for kind in ("person", "vehicle"):
        print(f"\n{kind} recall / precision by height (rows) and excess heat (columns {EXCESS})")
        for det in detectors:
            if (kind == "vehicle" and det == "hot_blob") or not any(k[:2] == (kind, det) for k in tally.cells):
                continue
            for height in HEIGHTS:
                cells = [(kind, det, str(height), str(x)) for x in EXCESS]
                text = "  ".join(f"{tally.recall(c):.2f}/{tally.precision(c):.2f}" for c in cells)
                print(f"  {det:13} h={height:>3}  {text}")
    print(f"\nfire start (+100 levels, {2 * FIRE_RADIUS} px across) found as a hot spot, IoU ≥ {SPOT_IOU}, all cells")
    for det in ("hot_blob", *MODELS):
        cells = [v for k, v in spot_cells.items() if k[0] == det]
        print(f"  {det:13} {sum(c[0] for c in cells)}/{sum(c[1] for c in cells)}")
    print()
    for kind in ("person", "vehicle"):
        for det in detectors:
            keys = [k for k in tally.cells if k[:2] == (kind, det)]
            if not keys or (kind == "vehicle" and det == "hot_blob"):
                continue
            tp = sum(tally.cells[k][0] for k in keys)
            n = sum(tally.cells[k][1] for k in keys)
            claims = sum(tally.cells[k][2] for k in keys)
            print(f"recall_{kind}_{det}: {tp / n:.3f}")
            if det != "hot_blob_any":
                print(f"precision_{kind}_{det}: {tp / claims if claims else 0:.3f}")
            for height in (40, 160):
                tall = [tally.cells[k] for k in keys if k[2] == str(height)]
                print(f"recall_{kind}_{det}_h{height}: {sum(c[0] for c in tall) / sum(c[1] for c in tall):.3f}")
    for name in MODELS:
        keys = [k for k in tally.cells if k[:2] == ("vehicle", f"{name}_grey_photo")]
        tp, n = sum(tally.cells[k][0] for k in keys), sum(tally.cells[k][1] for k in keys)
        print(f"recall_vehicle_{name}_control_grey_photo: {tp / n:.3f}")
    for det in ("hot_blob", *MODELS):
        cells = [v for k, v in spot_cells.items() if k[0] == det]
        label = "hot_blob" if det == "hot_blob" else f"combined_{det}"
        print(f"recall_fire_start_{label}: {sum(c[0] for c in cells) / sum(c[1] for c in cells):.3f}")
    for kind in ("person", "vehicle"):
        alone = doubled[(kind, "hot_spots_alone")] / objects_seen[kind]
        print(f"hot_spots_per_{kind}_without_explained_rule: {alone:.3f}")
        for name in MODELS:
            print(f"hot_spots_per_{kind}_combined_{name}: {doubled[(kind, name)] / objects_seen[kind]:.3f}")
    for name, (bench, command) in checked.items():
        print(f"eval_detect_agrees_{name}_h100_x40: {int(abs(bench - command) < 1e-9)}")


if __name__ == "__main__":
    main()
