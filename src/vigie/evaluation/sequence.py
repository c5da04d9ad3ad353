"""MOTChallenge sequence folders: ``img1/``, ``gt/gt.txt``, optional ``det/det.txt``, optional ``seqinfo.ini``.

Files are read by :mod:`vigie.evaluation.motfile` in whichever MOTChallenge layout they use (MOT15's 10 columns,
MOT16/17/20's 9-column ground truth, 7- or 6-column copies). Persons are what is evaluated: a ground-truth row counts
when its "consider" flag (column 7, where there is one) is not 0 and its class is 1 (pedestrian; files without a class
column hold pedestrians only). Rows of the classes MOTChallenge treats as distractors (person on vehicle, static
person, distractor, reflection) and persons marked not to consider become *ignore regions*: a detection on them is
neither a true nor a false positive. Other classes (vehicles, occluders) are dropped.

MOT16+ folders carry ``seqinfo.ini``; MOT15 folders often do not. Without it the frames are the images of ``img1/``,
or, with no images either (public detections need none), 1 to the last frame of the ground truth; the frame rate is
then taken as 25.
"""

from __future__ import annotations

import configparser
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from vigie.domain.detections import Detections, ObjectClass
from vigie.evaluation.motfile import PEDESTRIAN, MotFile, MotLayout, SequenceError, read_mot_file

__all__ = [
    "DEFAULT_FRAME_RATE",
    "DISTRACTOR_CLASSES",
    "OBJECTS",
    "PEDESTRIAN",
    "PERSONS",
    "VEHICLES",
    "FrameTruth",
    "MotLayout",
    "MotSequence",
    "SequenceError",
    "SequenceInfo",
    "read_sequence",
]

_Number = TypeVar("_Number", int, float)
DISTRACTOR_CLASSES = frozenset({2, 7, 8, 12})
CAR = 3
"""MOTChallenge's class of cars (the simulator's vehicles)."""
OTHER_VEHICLE_CLASSES = frozenset({4, 5, 6})
"""Bicycles, motorbikes, other vehicles: ignore regions when cars are scored."""
PERSONS = "person"
VEHICLES = "vehicle"
OBJECTS = (PERSONS, VEHICLES)
"""What ``vigie eval detect`` can score."""
DEFAULT_FRAME_RATE = 25.0
_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
TRUTH_FILE = "gt/gt.txt"
DETECTIONS_FILE = "det/det.txt"


@dataclass(frozen=True, slots=True)
class SequenceInfo:
    name: str
    frame_rate: float
    width: int
    """Image size in pixels; 0 when neither ``seqinfo.ini`` nor an image tells it."""
    height: int
    image_dir: str = "img1"
    from_seqinfo: bool = False
    """False when ``seqinfo.ini`` was absent and these values were guessed (frame rate defaults to 25)."""
    frames_from: str = "images"
    """What the frame list was read from: ``images``, ``seqinfo.ini`` (its seqLength) or ``gt/gt.txt``."""


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
    """Frame numbers (1-based), in order: one per image when there are images."""
    images: tuple[Path, ...]
    """Empty when the folder has no images (only public detections can then be scored)."""
    truth: MotFile
    """``gt/gt.txt``, read when the folder is opened so that a malformed file is refused before any work."""

    @property
    def period(self) -> float:
        return 1.0 / self.info.frame_rate

    @property
    def has_public_detections(self) -> bool:
        return (self.root / DETECTIONS_FILE).is_file()

    def ground_truth(self, objects: str = PERSONS) -> dict[int, FrameTruth]:
        """Ground truth per frame (every frame present, possibly empty): persons, or with ``objects="vehicle"``
        MOTChallenge's cars (class 3; bicycles, motorbikes and other vehicles become ignore regions)."""
        t = self.truth
        considered = t.confidence != 0
        if objects == VEHICLES:
            if self.truth.layout is not MotLayout.MOT16:
                raise SequenceError(
                    f"{self.root / TRUTH_FILE}: this ground truth has no class column (MOT15 layout: persons only), "
                    "so it cannot score vehicles; give a MOT16+ layout file (frame,id,x,y,w,h,conf,class,visibility)"
                )
            car = t.classes == CAR
            person = considered & car
            ignore = np.isin(t.classes, list(OTHER_VEHICLE_CLASSES)) | (car & ~considered)
        elif objects == PERSONS:
            pedestrian = t.classes == PEDESTRIAN
            person = considered & pedestrian
            ignore = np.isin(t.classes, list(DISTRACTOR_CLASSES)) | (pedestrian & ~considered)
        else:
            raise ValueError(f"objects must be {PERSONS!r} or {VEHICLES!r}, not {objects!r}")
        out: dict[int, FrameTruth] = {}
        for frame, rows in t.rows_by_frame(self.frames).items():
            counted, ignored = rows[person[rows]], rows[ignore[rows]]
            out[frame] = FrameTruth(t.ids[counted], t.boxes[counted], t.boxes[ignored])
        return out

    def read_public_detections(self) -> MotFile:
        """``det/det.txt`` as read (its layout included); any layout, identities -1."""
        if not self.has_public_detections:
            raise SequenceError(f"{self.root} has no public detections ({DETECTIONS_FILE})")
        return read_mot_file(self.root / DETECTIONS_FILE, truth=False)

    def public_detections(self) -> dict[int, Detections]:
        """``det/det.txt`` per frame, as person detections with the file's raw scores."""
        det = self.read_public_detections()
        out: dict[int, Detections] = {}
        for frame, rows in det.rows_by_frame(self.frames).items():
            out[frame] = Detections.create(
                det.boxes[rows], det.confidence[rows], np.full(len(rows), ObjectClass.PERSON)
            )
        return out

    def source_files(self, *, with_detections: bool) -> dict[str, MotFile]:
        """The files an evaluation read, by their path in the folder: what reports name with their layouts."""
        files = {TRUTH_FILE: self.truth}
        if with_detections:
            files[DETECTIONS_FILE] = self.read_public_detections()
        return files

    def read_images(self) -> Iterator[tuple[int, npt.NDArray[np.uint8]]]:
        """(frame number, BGR image) in order."""
        if not self.images:
            raise SequenceError(
                f"{self.root / self.info.image_dir} holds no images: a detector needs them "
                f"(only public detections, {DETECTIONS_FILE}, can be scored without)"
            )
        for frame, path in zip(self.frames, self.images, strict=True):
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise SequenceError(f"cannot decode {path}")
            yield frame, np.asarray(image, np.uint8)


def read_sequence(root: Path) -> MotSequence:
    """Open a sequence folder; ``seqinfo.ini`` is used when present, otherwise values are read from the images."""
    root = Path(root)
    if not (root / TRUTH_FILE).is_file():
        raise SequenceError(f"{root} is not a MOTChallenge sequence: {TRUTH_FILE} is missing")
    section = _read_seqinfo(root / "seqinfo.ini")
    image_dir = section.get("imDir", "img1") if section is not None else "img1"
    truth = read_mot_file(root / TRUTH_FILE, truth=True)
    images = _images(root / image_dir)
    length = _ini_number(section, "seqLength", int)
    frames, frames_from = _frames(root, image_dir, images, length, truth)
    _check_truth_frames(truth, frames, frames_from)
    width, height = _ini_number(section, "imWidth", int), _ini_number(section, "imHeight", int)
    if width is None or height is None:
        height, width = _image_size(images)
    frame_rate = _ini_number(section, "frameRate", float) or DEFAULT_FRAME_RATE
    name = section.get("name", root.name) if section is not None else root.name
    info = SequenceInfo(name, frame_rate, width, height, image_dir, section is not None, frames_from)
    return MotSequence(root, info, frames, images, truth)


def _read_seqinfo(path: Path) -> configparser.SectionProxy | None:
    if not path.is_file():
        return None
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as err:
        raise SequenceError(f"{path} is not a readable INI file: {err}") from err
    if not parser.has_section("Sequence"):
        raise SequenceError(f"{path} has no [Sequence] section")
    return parser["Sequence"]


def _ini_number(section: configparser.SectionProxy | None, key: str, kind: type[_Number]) -> _Number | None:
    """A positive number from ``seqinfo.ini``, or None when the key (or the file) is absent."""
    if section is None or not section.get(key, "").strip():
        return None
    text = section[key].strip()
    try:
        value = kind(text)
    except ValueError as err:
        raise SequenceError(f"seqinfo.ini: {key}={text!r} is not a {kind.__name__}") from err
    if value <= 0:
        raise SequenceError(f"seqinfo.ini: {key}={text!r} must be positive")
    return value


def _images(image_dir: Path) -> tuple[Path, ...]:
    return tuple(sorted(p for p in image_dir.glob("*") if p.suffix.lower() in _IMAGE_EXTENSIONS))


def _frames(
    root: Path, image_dir: str, images: tuple[Path, ...], length: int | None, truth: MotFile
) -> tuple[tuple[int, ...], str]:
    """The sequence's frames: its images' numbers, else seqinfo.ini's seqLength, else up to gt's last frame."""
    if images:
        try:
            frames = tuple(int(p.stem) for p in images)
        except ValueError as err:
            raise SequenceError(f"image names in {root / image_dir} must be frame numbers (000001.jpg)") from err
        if length is not None and length != len(images):
            raise SequenceError(
                f"{root}/seqinfo.ini says seqLength={length} but {root / image_dir} holds {len(images)}"
            )
        return frames, "images"
    if length is not None:
        return tuple(range(1, length + 1)), "seqinfo.ini"
    if len(truth) == 0:
        raise SequenceError(f"{root} has no images, no seqinfo.ini and an empty {TRUTH_FILE}: its length is unknown")
    return tuple(range(1, int(truth.frames.max()) + 1)), TRUTH_FILE


def _check_truth_frames(truth: MotFile, frames: tuple[int, ...], frames_from: str) -> None:
    """A gt row outside the sequence would silently not be scored: refuse it instead."""
    outside = ~np.isin(truth.frames, frames)
    if outside.any():
        number, text = truth.line_of(int(np.argmax(outside)))
        span = f", {frames[0]}–{frames[-1]}" if frames else ""
        raise SequenceError(
            f"{truth.path}, line {number}: frame {truth.frames[outside][0]} is outside the sequence "
            f"({len(frames)} frames from {frames_from}{span}): {text!r}"
        )


def _image_size(images: tuple[Path, ...]) -> tuple[int, int]:
    """(height, width) of the first image; (0, 0) when there is none."""
    if not images:
        return 0, 0
    first = cv2.imread(str(images[0]), cv2.IMREAD_COLOR)
    if first is None:
        raise SequenceError(f"cannot decode {images[0]}")
    height, width = first.shape[:2]
    return int(height), int(width)
