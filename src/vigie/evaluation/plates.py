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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import cv2
import numpy as np

from vigie.lpr.formats import normalise
from vigie.lpr.reader import Box, PlateCandidate, PlateReader, iou

IMAGE_SUFFIXES: Final = (".jpg", ".jpeg", ".png", ".bmp")
LOCALISED_IOU: Final = 0.5
PHOTO_DETECT_SIDES: Final = (1024, 1440)
"""The reader's detection sides for photos (``vigie eval plates`` on folders): small images enlarged to 1024 px,
large ones detected at their own size up to 1440 px (chosen on the tuning half: a 60–110 px plate in a 1440 px photo
is lost at 1024)."""


def photo_reader(threads: int = 1) -> PlateReader:
    """The reader as ``vigie eval plates`` runs it on photos."""
    side, max_side = PHOTO_DETECT_SIDES
    return PlateReader(threads=threads, detect_side=side, detect_max_side=max_side)


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
    vehicles: int = 0
    """Vehicles the detector found (the street camera's path only)."""

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
        } | ({"vehicles": self.vehicles} if self.vehicles else {})

    def misses(self) -> list[PlateResult]:
        return [r for r in self.results if r.read != r.truth]


def evaluate(
    reader: Any,
    images: Iterable[LabelledImage],
    *,
    crops: bool = True,
    detect: Callable[[np.ndarray], Any] | None = None,
    width: int | None = None,
) -> PlateScores:
    """Run ``reader`` on each image (end to end) and on each annotated box (recognition alone).

    With ``detect`` (a vehicle detector), the street camera's path instead of the whole picture: the detector's
    cars, trucks, buses and motorcycles, each vehicle's best plate read in its :func:`plate_search_area` (never its
    windows), as ``plate_reading`` does on one frame. ``width``: photos wider than this are first scaled down to it
    (a camera's ``analysis.width``), their annotated boxes with them."""
    from vigie.analytics.plates import plate_search_area
    from vigie.analytics.rules.base import VEHICLE_CLASSES

    vehicle_ids = np.array(sorted(int(c) for c in VEHICLE_CLASSES), np.int32)
    scores = PlateScores()
    for item in images:
        image = cv2.imread(str(item.image), cv2.IMREAD_COLOR)
        if image is None:
            raise PlateLabelError(f"{item.image}: not an image OpenCV can decode")
        scale = 1.0
        if width is not None and image.shape[1] > width:
            scale = width / image.shape[1]
            image = cv2.resize(image, (width, round(image.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        started = time.perf_counter()
        found: list[PlateCandidate] = []
        if detect is None:
            found = reader.read(image)
        else:
            vehicles = detect(image)
            vehicles = vehicles[np.isin(vehicles.class_ids, vehicle_ids)]
            scores.vehicles += len(vehicles.boxes)
            for x1, y1, x2, y2 in (tuple(float(v) for v in box) for box in vehicles.boxes):
                plates = reader.read(image, plate_search_area(x1, y1, x2, y2))
                if plates:
                    found.append(plates[0])
        scores.seconds_images += time.perf_counter() - started
        scores.images += 1
        matched: set[int] = set()
        for truth in item.plates:
            x, y, w, h = truth.box
            plate = replace(truth, box=(round(x * scale), round(y * scale), round(w * scale), round(h * scale)))
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


@dataclass(slots=True)
class TrackRead:
    track_id: int
    text: str
    confidence: float
    frames: int
    votes: int


@dataclass(slots=True)
class VideoScores:
    """Plates of a clip read track by track: the chain a camera runs (detector → tracker → reader → voter)."""

    tracks: list[TrackRead]
    truth: set[str] | None
    frames: int
    seconds: float
    vehicles: int = 0
    """Vehicle tracks the detector and tracker gave (with a detector), read or not."""

    def as_dict(self) -> dict[str, float | int]:
        values: dict[str, float | int] = {
            "frames": self.frames,
            "vehicle_tracks": self.vehicles,
            "tracks_read": len(self.tracks),
            "reads_per_track": round(sum(t.frames for t in self.tracks) / max(1, len(self.tracks)), 2),
            "ms_per_frame": round(1000 * self.seconds / max(1, self.frames), 1),
        }
        if self.truth is not None:
            texts = {t.text for t in self.tracks}
            values["truth_plates"] = len(self.truth)
            values["plates_found"] = len(self.truth & texts)
            values["found_rate"] = round(len(self.truth & texts) / max(1, len(self.truth)), 4)
            values["false_tracks"] = sum(t.text not in self.truth for t in self.tracks)
        return values


def read_plate_truth(path: Path) -> set[str]:
    """The plates of a simulator's ``gt/plates.txt`` (``frame,id,x,y,w,h,visibility,PLATE``) seen at least
    half-visible on some frame."""
    plates: set[str] = set()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise PlateLabelError(f"{path}: cannot read: {err}") from err
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != 8:
            raise PlateLabelError(f"{path}:{number}: expected frame,id,x,y,w,h,visibility,PLATE; found {len(fields)}")
        try:
            visibility = float(fields[6])
        except ValueError as err:
            raise PlateLabelError(f"{path}:{number}: visibility {fields[6]!r} is not a number") from err
        if visibility >= 0.5:
            plates.add(normalise(fields[7]))
    return plates


def evaluate_video(
    reader: Any,
    frames: Iterable[tuple[int, float, np.ndarray]],
    *,
    detect: Callable[[np.ndarray], Any] | None = None,
    truth: set[str] | None = None,
    track_end_s: float = 2.0,
) -> VideoScores:
    """Read the plates of a clip: vehicles from ``detect`` (tracked, each read in its box), or — a plate-reading
    camera without a detector — plates read on the whole frame and tracked themselves; one voted read per track."""
    from vigie.analytics.rules.base import VEHICLE_CLASSES
    from vigie.analytics.track.bytetrack import ByteTracker
    from vigie.lpr.vote import TrackVoter

    vehicles = np.array(sorted(int(c) for c in VEHICLE_CLASSES), np.int32)
    tracker, voter = ByteTracker(), TrackVoter(max_age_s=track_end_s)
    seen: set[int] = set()
    voted: list[tuple[int, Any]] = []
    count, seconds, previous, last = 0, 0.0, None, 0.0
    for _number, at, image in frames:
        started = time.perf_counter()
        period = at - previous if previous is not None else 0.2
        previous, last = at, at
        if detect is not None:
            found = detect(image)
            tracks = tracker.update(found[np.isin(found.class_ids, vehicles)], period)
            for box, track_id in zip(tracks.boxes, tracks.track_ids, strict=True):
                seen.add(int(track_id))
                x1, y1, x2, y2 = (int(v) for v in box)
                plates = reader.read(image, region=(x1, y1, x2 - x1, y2 - y1))
                if plates:
                    voter.add(int(track_id), plates[0], at)
        else:
            for candidate in reader.read(image):
                voter.add_by_text(candidate, at)
        voted.extend(voter.expire(at))
        seconds += time.perf_counter() - started
        count += 1
    voted.extend(voter.expire(last + track_end_s + 1.0))
    reads = [TrackRead(tid, v.text, v.confidence, v.frames, v.votes) for tid, v in sorted(voted, key=lambda t: t[0])]
    return VideoScores(reads, truth, count, seconds, len(seen))
