"""MOTChallenge sequence folders: ``img1/``, ``gt/gt.txt``, optional ``det/det.txt``, optional ``seqinfo.ini``.

Rows are ``frame, id, bb_left, bb_top, bb_width, bb_height, conf[, class, visibility]`` (MOT15 ground truth stops
at 7 columns, MOT16+ adds class and visibility). Persons are what is evaluated: a ground-truth row counts when its
"consider" flag (column 7) is not 0 and, when there is a class column, its class is 1 (pedestrian). Rows of the
classes MOTChallenge treats as distractors (person on vehicle, static person, distractor, reflection) become
*ignore regions*: a detection on them is neither a true nor a false positive. Other classes are dropped.
"""

from __future__ import annotations

import configparser
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from vigie.domain.detections import Detections, ObjectClass

PEDESTRIAN = 1
DISTRACTOR_CLASSES = frozenset({2, 7, 8, 12})
DEFAULT_FRAME_RATE = 25.0
_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


class SequenceError(ValueError):
    """A folder that is not a readable MOTChallenge sequence; the message says what is missing."""


@dataclass(frozen=True, slots=True)
class SequenceInfo:
    name: str
    frame_rate: float
    width: int
    height: int
    image_dir: str = "img1"
    from_seqinfo: bool = False
    """False when ``seqinfo.ini`` was absent and these values were guessed (frame rate defaults to 25)."""


@dataclass(frozen=True, slots=True)
class FrameTruth:
    """Ground truth of one frame: person boxes (x1, y1, x2, y2) with identities, and ignore regions."""

    ids: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    boxes: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 4)))
    ignore: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 4)))


@dataclass(frozen=True, slots=True)
class MotSequence:
    root: Path
    info: SequenceInfo
    frames: tuple[int, ...]
    """Frame numbers (1-based), one per image, in order."""
    images: tuple[Path, ...]

    @property
    def period(self) -> float:
        return 1.0 / self.info.frame_rate

    @property
    def has_public_detections(self) -> bool:
        return (self.root / "det" / "det.txt").is_file()

    def ground_truth(self) -> dict[int, FrameTruth]:
        """Ground truth per frame (every frame present, possibly empty)."""
        rows = _load_rows(self.root / "gt" / "gt.txt")
        out: dict[int, FrameTruth] = {}
        for frame in self.frames:
            r = rows[rows[:, 0] == frame]
            consider = r[:, 6] != 0
            classes = r[:, 7] if r.shape[1] > 7 else np.full(len(r), PEDESTRIAN)
            person = consider & (classes == PEDESTRIAN)
            ignore = np.isin(classes, list(DISTRACTOR_CLASSES)) | ((classes == PEDESTRIAN) & ~consider)
            out[frame] = FrameTruth(
                r[person, 1].astype(np.int64), _xywh_to_xyxy(r[person, 2:6]), _xywh_to_xyxy(r[ignore, 2:6])
            )
        return out

    def public_detections(self) -> dict[int, Detections]:
        """``det/det.txt`` per frame, as person detections with the file's raw scores."""
        path = self.root / "det" / "det.txt"
        if not path.is_file():
            raise SequenceError(f"{self.root} has no public detections (det/det.txt)")
        rows = _load_rows(path)
        out: dict[int, Detections] = {}
        for frame in self.frames:
            r = rows[rows[:, 0] == frame]
            out[frame] = Detections.create(_xywh_to_xyxy(r[:, 2:6]), r[:, 6], np.full(len(r), ObjectClass.PERSON))
        return out

    def read_images(self) -> Iterator[tuple[int, npt.NDArray[np.uint8]]]:
        """(frame number, BGR image) in order."""
        for frame, path in zip(self.frames, self.images, strict=True):
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise SequenceError(f"cannot decode {path}")
            yield frame, np.asarray(image, np.uint8)


def read_sequence(root: Path) -> MotSequence:
    """Open a sequence folder; ``seqinfo.ini`` is used when present, otherwise values are read from the images."""
    root = Path(root)
    if not (root / "gt" / "gt.txt").is_file():
        raise SequenceError(f"{root} is not a MOTChallenge sequence: gt/gt.txt is missing")
    parser = configparser.ConfigParser()
    has_ini = bool(parser.read(root / "seqinfo.ini"))
    section = parser["Sequence"] if has_ini and parser.has_section("Sequence") else None
    image_dir = section.get("imDir", "img1") if section else "img1"
    images = sorted(p for p in (root / image_dir).glob("*") if p.suffix.lower() in _IMAGE_EXTENSIONS)
    if not images:
        raise SequenceError(f"{root / image_dir} holds no images")
    try:
        frames = tuple(int(p.stem) for p in images)
    except ValueError as err:
        raise SequenceError(f"image names in {root / image_dir} must be frame numbers (000001.jpg)") from err
    if section is not None and section.get("imWidth") and section.get("imHeight"):
        width, height = int(section["imWidth"]), int(section["imHeight"])
    else:
        first = cv2.imread(str(images[0]), cv2.IMREAD_COLOR)
        if first is None:
            raise SequenceError(f"cannot decode {images[0]}")
        height, width = first.shape[:2]
    frame_rate = float(section.get("frameRate", DEFAULT_FRAME_RATE)) if section else DEFAULT_FRAME_RATE
    name = section.get("name", root.name) if section else root.name
    info = SequenceInfo(name, frame_rate, width, height, image_dir, from_seqinfo=section is not None)
    return MotSequence(root, info, frames, tuple(images))


def _load_rows(path: Path) -> npt.NDArray[np.float64]:
    if not path.is_file():
        raise SequenceError(f"{path} is missing")
    try:
        rows = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64)
    except ValueError as err:
        raise SequenceError(f"{path} is not comma-separated MOTChallenge rows: {err}") from err
    if rows.size == 0:
        return np.zeros((0, 7))
    if rows.shape[1] < 7:
        raise SequenceError(f"{path} needs at least 7 columns (frame, id, x, y, w, h, conf), has {rows.shape[1]}")
    return rows


def _xywh_to_xyxy(xywh: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out = np.asarray(xywh, np.float64).reshape(-1, 4).copy()
    out[:, 2] += out[:, 0]
    out[:, 3] += out[:, 1]
    return out
