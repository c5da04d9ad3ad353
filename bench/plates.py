"""Cost of plate reading on one core (issue 18): the recogniser alone per plate, recognition of an annotated plate
box (``PlateReader.recognise``: small text detection + recognition), end to end per photo (``PlateReader.read`` as
``vigie eval plates`` runs it: detection at the photo's size between 1024 and 1440 px), per frame of a plate-reading
camera (a 640×360 lane view, detection enlarged to 1024 px and at its own size), and RapidOCR's own pipeline on the
same photos with the plate grammar applied to each line it reads (the option not taken), with its exact reads next
to ours.

Times are CPU seconds of the calling thread (``time.thread_time``) with onnxruntime on one intra-op thread, so a
busy machine does not inflate them (it still shares caches). Needs a folder in the format of ``vigie eval plates``
(default ``../shared/data/plates-fr-dev``).

    .venv/bin/python bench/plates.py [DIR] [--limit 30] [--no-rapidocr]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vigie.evaluation.plates import photo_reader, read_folder
from vigie.lpr import formats
from vigie.lpr.reader import PlateReader, _rectify

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "plates-fr-dev"


def cpu_ms(task: Callable[[], Any]) -> tuple[Any, float]:
    started = time.thread_time()
    result = task()
    return result, 1000 * (time.thread_time() - started)


def rapidocr_read(engine: Any, image: np.ndarray) -> set[str]:
    """Every plate the grammar finds in a line RapidOCR read (its own detection, angle classifier, recognition)."""
    result, _ = engine(image)
    found: set[str] = set()
    for _box, text, _score in result or []:
        for _left, _right, window in formats.windows(text):
            reading = formats.read(window)
            if reading is not None and reading.specific:
                found.add(reading.text)
                break
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--limit", type=int, default=30, help="photos measured (default 30)")
    parser.add_argument("--no-rapidocr", action="store_true", help="skip RapidOCR's pipeline")
    args = parser.parse_args()
    if not args.folder.is_dir():
        print(f"no folder {args.folder}: give one in the format of `vigie eval plates`", file=sys.stderr)
        return 2
    items = read_folder(args.folder)[: args.limit]
    reader = photo_reader(threads=1)  # as `vigie eval plates` reads photos
    lane1024_reader = PlateReader(threads=1, detect_side=1024)  # a 640×360 view enlarged for detection
    lane_reader = PlateReader(threads=1, detect_side=640)  # a 640×360 view read at its own size
    rec_ms: list[float] = []
    box_ms: list[float] = []
    read_ms: list[float] = []
    lane_ms: list[float] = []
    lane640_ms: list[float] = []
    exact = 0
    images = [(item, cv2.imread(str(item.image))) for item in items]
    reader.read(images[0][1])  # warm the sessions up
    for item, image in images:
        found, ms = cpu_ms(lambda image=image: reader.read(image))
        read_ms.append(ms)
        for plate in item.plates:
            exact += any(c.text == plate.text for c in found)
            x, y, w, h = plate.box
            crop = image[y : y + h, x : x + w]
            _, ms = cpu_ms(lambda crop=crop: reader.recognise(crop))
            box_ms.append(ms)
            quad = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
            line = _rectify(crop, quad, 0.0)
            _, ms = cpu_ms(lambda line=line: reader._line(line))
            rec_ms.append(ms)
            # A plate-reading camera's frame: a 640×360 view of one lane around the plate.
            cx, cy = x + w // 2, y + h // 2
            scale = 640 / max(1, 5 * w)
            view = cv2.resize(image, None, fx=scale, fy=scale)
            vx, vy = max(0, int(cx * scale) - 320), max(0, int(cy * scale) - 180)
            lane = view[vy : vy + 360, vx : vx + 640]
            _, ms = cpu_ms(lambda lane=lane: lane1024_reader.read(lane))
            lane_ms.append(ms)
            _, ms = cpu_ms(lambda lane=lane: lane_reader.read(lane))
            lane640_ms.append(ms)
    plates = sum(len(item.plates) for item, _ in images)
    print(f"{args.folder.name}: {len(images)} photos, {plates} plates, one onnxruntime thread, CPU ms per call")
    print(f"  reader: {exact}/{plates} plates read exactly")
    rapid_ms: list[float] = []
    if not args.no_rapidocr:
        from rapidocr_onnxruntime import RapidOCR

        engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
        rapid_exact = 0
        for item, image in images:
            found_texts, ms = cpu_ms(lambda image=image: rapidocr_read(engine, image))
            rapid_ms.append(ms)
            rapid_exact += sum(p.text in found_texts for p in item.plates)
        print(f"  RapidOCR pipeline + grammar: {rapid_exact}/{plates} plates read exactly")
    print(f"rec_ms_per_plate: {statistics.median(rec_ms):.1f}")
    print(f"recognise_ms_per_plate: {statistics.median(box_ms):.1f}")
    print(f"read_ms_per_photo: {statistics.median(read_ms):.1f}")
    print(f"lane_frame_ms_detect_side_1024: {statistics.median(lane_ms):.1f}")
    print(f"lane_frame_ms_detect_side_640: {statistics.median(lane640_ms):.1f}")
    print(f"cores_per_lpr_camera_at_10fps_detect_side_1024: {10 * statistics.median(lane_ms) / 1000:.2f}")
    print(f"cores_per_lpr_camera_at_10fps_detect_side_640: {10 * statistics.median(lane640_ms) / 1000:.2f}")
    if rapid_ms:
        print(f"rapidocr_ms_per_photo: {statistics.median(rapid_ms):.1f}")
        print(f"rapidocr_over_reader_ms: {statistics.median(rapid_ms) / statistics.median(read_ms):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
