"""Score the plate reader on folders of annotated photos (``vigie eval plates``).

A folder holds images and, for each, a ``.txt`` of the OpenALPR benchmark's format (``../shared/data/plates-dev``):
one plate per line, ``file<TAB>x<TAB>y<TAB>w<TAB>h<TAB>TEXT`` — the image's file name, the plate's box (top-left
corner and size, pixels) and its text without spaces or dashes. Several lines are several plates of that image.

Figures (one per plate unless said otherwise):
- ``localised_rate``: a candidate's box has IoU ≥ 0.5 with the plate's box;
- ``exact_rate``: end to end from the full image, the most confident candidate whose box meets the plate's box reads
  the whole text right;
- ``crop_exact_rate``: recognition alone on the annotated box;
- ``false_reads``: candidates (over all images) meeting no annotated plate — what an operator would see in excess;
- ``ms_per_image`` (end to end) and ``ms_per_crop`` (recognition alone), wall clock on the reader's threads.

The split (:func:`split`) keeps the images used to tune the reader apart from those that report its accuracy.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import cv2
import numpy as np

from vigie.lpr.formats import normalise
from vigie.lpr.reader import Box, PlateCandidate, iou

IMAGE_SUFFIXES: Final = (".jpg", ".jpeg", ".png", ".bmp")
LOCALISED_IOU: Final = 0.5


class PlateLabelError(ValueError):
    """A label file or its image is missing or malformed; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class PlateTruth:
    box: Box
    text: str


@dataclass(frozen=True, slots=True)
class LabelledImage:
    image: Path
    plates: tuple[PlateTruth, ...]


def read_labels(path: Path) -> LabelledImage:
    """One ``.txt`` file: its plates, and the image it names (next to it)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise PlateLabelError(f"{path}: cannot read: {err}") from err
    image_name: str | None = None
    plates: list[PlateTruth] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) != 6:
            raise PlateLabelError(
                f"{path}:{number}: expected 6 tab-separated fields file, x, y, w, h, TEXT; found {len(fields)}"
            )
        name, *numbers, text = fields
        try:
            x, y, w, h = (int(float(v)) for v in numbers)
        except ValueError as err:
            raise PlateLabelError(f"{path}:{number}: x, y, w, h must be numbers of pixels: {numbers}") from err
        if w <= 0 or h <= 0:
            raise PlateLabelError(f"{path}:{number}: the plate box has width {w} and height {h}; both must be > 0")
        clean = normalise(text)
        if not clean:
            raise PlateLabelError(f"{path}:{number}: the plate text {text!r} has no letter or digit")
        if image_name is not None and name != image_name:
            raise PlateLabelError(f"{path}:{number}: names image {name!r}, the lines above name {image_name!r}")
        image_name = name
        plates.append(PlateTruth((x, y, w, h), clean))
    if image_name is None:
        raise PlateLabelError(f"{path}: no plate line (file<TAB>x<TAB>y<TAB>w<TAB>h<TAB>TEXT)")
    image = path.parent / image_name
    if not image.is_file():
        raise PlateLabelError(f"{path}:1: the image {image_name!r} is not in {path.parent}")
    return LabelledImage(image, tuple(plates))


def read_folder(folder: Path) -> list[LabelledImage]:
    """Every labelled image of ``folder``, sorted by label file name."""
    if not folder.is_dir():
        raise PlateLabelError(f"{folder} is not a folder of images with one .txt label file each")
    labels = sorted(p for p in folder.glob("*.txt") if p.is_file())
    if not labels:
        raise PlateLabelError(f"{folder} has no .txt label file (file<TAB>x<TAB>y<TAB>w<TAB>h<TAB>TEXT per plate)")
    return [read_labels(p) for p in labels]


def split(images: Sequence[LabelledImage], part: str) -> list[LabelledImage]:
    """``tune``: the half the reader's settings were chosen on; ``held-out``: the other; ``all``: both. Halves are
    fixed by a hash of the file name, so that adding files does not move the others."""
    if part == "all":
        return list(images)
    if part not in ("tune", "held-out"):
        raise ValueError(f"unknown split {part!r}: tune, held-out or all")
    return [i for i in images if (_half(i.image.name) == 0) == (part == "tune")]


def _half(name: str) -> int:
    return hashlib.sha256(name.encode("utf-8")).digest()[0] % 2


@dataclass(slots=True)
class PlateResult:
    image: str
    truth: str
    read: str | None
    crop_read: str | None
    localised: bool
    iou: float


@dataclass(slots=True)
class PlateScores:
    results: list[PlateResult] = field(default_factory=list)
    false_reads: int = 0
    images: int = 0
    seconds_images: float = 0.0
    seconds_crops: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        n = max(1, len(self.results))
        exact = sum(r.read == r.truth for r in self.results)
        return {
            "plates": len(self.results),
            "localised_rate": round(sum(r.localised for r in self.results) / n, 4),
            "exact_reads": exact,
            "exact_rate": round(exact / n, 4),
            "crop_exact_rate": round(sum(r.crop_read == r.truth for r in self.results) / n, 4),
            "false_reads": self.false_reads,
            "ms_per_image": round(1000 * self.seconds_images / max(1, self.images), 1),
            "ms_per_crop": round(1000 * self.seconds_crops / n, 1),
        }

    def misses(self) -> list[PlateResult]:
        return [r for r in self.results if r.read != r.truth]


class Reader:
    """What the evaluation needs of a reader (:class:`vigie.lpr.reader.PlateReader`)."""

    read: Callable[[np.ndarray], list[PlateCandidate]]
    recognise: Callable[[np.ndarray], PlateCandidate | None]


def evaluate(reader: Any, images: Iterable[LabelledImage], *, crops: bool = True) -> PlateScores:
    """Run ``reader`` on each image (end to end) and on each annotated box (recognition alone)."""
    scores = PlateScores()
    for item in images:
        image = cv2.imread(str(item.image), cv2.IMREAD_COLOR)
        if image is None:
            raise PlateLabelError(f"{item.image}: not an image OpenCV can decode")
        started = time.perf_counter()
        found: list[PlateCandidate] = reader.read(image)
        scores.seconds_images += time.perf_counter() - started
        scores.images += 1
        matched: set[int] = set()
        for plate in item.plates:
            overlaps = [(iou(c.box, plate.box), i, c) for i, c in enumerate(found)]
            touching = [(o, i, c) for o, i, c in overlaps if o > 0.0]
            matched.update(i for _, i, _ in touching)
            best_iou = max((o for o, _, _ in overlaps), default=0.0)
            read = max(touching, key=lambda t: t[2].confidence)[2].text if touching else None
            crop_read = None
            if crops:
                x, y, w, h = plate.box
                crop = image[max(0, y) : y + h, max(0, x) : x + w]
                started = time.perf_counter()
                candidate = reader.recognise(crop) if crop.size else None
                scores.seconds_crops += time.perf_counter() - started
                crop_read = candidate.text if candidate is not None else None
            scores.results.append(
                PlateResult(item.image.name, plate.text, read, crop_read, best_iou >= LOCALISED_IOU, best_iou)
            )
        scores.false_reads += len(found) - len(matched)
    return scores
