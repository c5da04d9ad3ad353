"""Hot blobs on single-channel thermal frames (8-bit grey or 16-bit radiometric).

The detector keeps a running, per-pixel background of the *drift-compensated* frame: the frame's median is
subtracted first, so a global temperature change (sun on the scene, the camera's flat-field correction, night
falling) moves the median and not the residual. A pixel is hot when it exceeds its background by more than
``k_sigma`` times the frame's robust noise (1.4826 × median absolute deviation of the residual) and by at least
``min_contrast``. The background starts flat (the first frames are judged against the frame's median, so a
person already present is found at once) and then learns static warm structures (a sunny wall, a lamp), slowly
even under a blob, so a parked car's warm engine fades into the background after a few minutes.

Blobs are cleaned by morphology, filtered by area and reported as ``HOT_SPOT`` detections, or ``PERSON`` when
their size and aspect ratio fit an upright person (configurable; off with ``classify_persons: false``).

Beside an object detector on the same camera (:class:`HotSpotsBeside`), its blobs are hot spots only: persons and
vehicles come from the model, and a blob inside a box the model found is that object's warmth.

What it is for: heat itself — a fire start, a hot spot, a warm body on a cold, uniform scene. It finds persons
only as warm blobs of a plausible shape, and a real night street (warm roads and walls, low contrast, small
figures) defeats a threshold where a COCO detector reading the thermal picture still sees people: for persons
on a thermal camera, ``ThermalPicture`` puts an object detector in front of that picture instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from vigie.analytics.detect.gating import BoxDetector
from vigie.config.detectors import HotBlobDetectorSettings
from vigie.domain.detections import Detections, ObjectClass

_MAD_TO_SIGMA = 1.4826
_FOREGROUND_LEARNING = 0.05
"""Background learning under a hot blob, relative to ``1 / background_frames``: slow, but not never."""


ThermalConfig = HotBlobDetectorSettings
"""The hot-blob detector's settings: declared with the camera configuration (``analysis.detector`` with
``kind: hot_blob``), which cannot import analytics; this name is the plugin's view of them."""


Image = npt.NDArray[np.uint8] | npt.NDArray[np.uint16]


class ThermalDetector:
    """Hot blobs in successive thermal frames of one camera. One instance per camera: it holds the background."""

    def __init__(self, config: ThermalConfig | None = None) -> None:
        self.config = config or ThermalConfig()
        size = self.config.blur_size | 1
        self._blur = (size, size)
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
        self.reset()

    def reset(self) -> None:
        """Forget the background (stream restarted, analysis switched off)."""
        self._background: npt.NDArray[np.float32] | None = None

    def _to_float(self, frame: Image) -> tuple[npt.NDArray[np.float32], float]:
        """The frame in working units (grey levels or kelvin) and the minimum contrast in those units."""
        if frame.ndim == 3 and frame.dtype == np.uint8:
            frame = np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), np.uint8)
        if frame.ndim != 2:
            raise ValueError(f"thermal frames must be single-channel H×W, got shape {frame.shape}")
        if frame.dtype == np.uint8:
            return frame.astype(np.float32), self.config.min_contrast
        if frame.dtype == np.uint16:
            return frame.astype(np.float32) / self.config.counts_per_kelvin, self.config.min_contrast_kelvin
        raise ValueError(f"thermal frames must be uint8 or uint16, got {frame.dtype}")

    def hot_mask(self, frame: Image) -> npt.NDArray[np.uint8]:
        """Binary (0/255) mask of hot pixels after morphology; updates the background."""
        return self._threshold(frame)[0]

    def _threshold(self, frame: Image) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32], float]:
        values, min_contrast = self._to_float(frame)
        if self._blur[0] > 1:
            values = np.asarray(cv2.GaussianBlur(values, self._blur, 0), np.float32)
        sample = values[::4, ::4]
        values -= float(np.median(sample))
        if self._background is None or self._background.shape != values.shape:
            self._background = np.zeros_like(values)
        residual = values - self._background
        sample = residual[::4, ::4]
        noise = _MAD_TO_SIGMA * float(np.median(np.abs(sample - np.median(sample))))
        threshold = max(self.config.k_sigma * noise, min_contrast, 1e-6)
        hot = residual > threshold
        rate = 1.0 / self.config.background_frames
        weights = np.where(hot, rate * _FOREGROUND_LEARNING, rate).astype(np.float32)
        self._background += weights * residual
        opened = cv2.morphologyEx(hot.astype(np.uint8) * 255, cv2.MORPH_OPEN, self._open)
        binary = np.asarray(cv2.morphologyEx(opened, cv2.MORPH_CLOSE, self._close), np.uint8)
        return binary, residual, threshold

    def detect(self, frame: Image) -> Detections:
        """Hot blobs of this frame, boxes in pixels; score 0.5 at the threshold, towards 1 as the blob is hotter."""
        binary, residual, threshold = self._threshold(frame)
        height, width = binary.shape
        count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        min_px = self.config.min_area * width * height
        boxes: list[tuple[float, float, float, float]] = []
        scores: list[float] = []
        classes: list[int] = []
        for label in range(1, count):
            x, y, w, h, area = (int(v) for v in stats[label])
            if area < min_px:
                continue
            peak = float(residual[y : y + h, x : x + w][labels[y : y + h, x : x + w] == label].max())
            boxes.append((x, y, x + w, y + h))
            scores.append(peak / (peak + threshold))
            classes.append(int(self._classify(w, h, height)))
        return Detections.create(np.array(boxes, np.float32).reshape(-1, 4), scores, classes)

    def _classify(self, w: int, h: int, frame_height: int) -> ObjectClass:
        if not self.config.classify_persons:
            return ObjectClass.HOT_SPOT
        low_aspect, high_aspect = self.config.person_aspect
        low_height, high_height = self.config.person_height
        if low_aspect <= h / w <= high_aspect and low_height <= h / frame_height <= high_height:
            return ObjectClass.PERSON
        return ObjectClass.HOT_SPOT


def grey_picture(frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """A thermal frame as the three-channel picture a detector trained on colour reads: grey replicated.

    A palette (ironbow, rainbow) decoded in colour is brought back to its luminance first: the colours of a
    palette mean temperature, not what a COCO model learnt colour to mean."""
    if frame.dtype != np.uint8 or frame.ndim not in (2, 3):
        raise ValueError(f"thermal pictures for an object detector must be 8-bit H×W or H×W×3, got {frame.shape}")
    grey = frame if frame.ndim == 2 else np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), np.uint8)
    return np.asarray(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), np.uint8)


class ThermalPicture:
    """An object detector (``OnnxDetector``) reading a thermal camera's picture, grey replicated to three
    channels: the way to find persons on a thermal camera with the same COCO models as on the others."""

    def __init__(self, detector: BoxDetector) -> None:
        self.detector = detector

    def detect(self, frame: npt.NDArray[np.uint8]) -> Detections:
        return self.detector.detect(grey_picture(frame))

    def detect_batch(self, frames: Sequence[npt.NDArray[np.uint8]]) -> list[Detections]:
        return self.detector.detect_batch([grey_picture(f) for f in frames])


class _FindsObjects(Protocol):
    def detect(self, frame: npt.NDArray[np.uint8]) -> Detections: ...


EXPLAINED_OVERLAP = 0.5
"""A hot blob is explained by an object the model found when at least this share of its box lies in that box."""


class HotSpotsBeside:
    """Persons and vehicles from an object detector, hot spots from the hot-blob detector, on one thermal camera.

    The object detector (the model on the grey picture, motion-gated) answers for persons and vehicles; the hot-blob
    detector runs on every frame (a fire start or a hot spot need not move) with ``classify_persons`` off, and a
    blob whose box lies mostly in a box of the model's (``EXPLAINED_OVERLAP``) is dropped: a walker's body or a
    car's engine is that object's warmth, and one person is not reported twice, as a person and as a hot spot."""

    def __init__(self, objects: _FindsObjects, hot_blobs: ThermalDetector) -> None:
        if hot_blobs.config.classify_persons:
            raise ValueError("beside an object detector, the hot-blob detector must not classify persons")
        self.objects = objects
        self.hot_blobs = hot_blobs

    def detect(self, frame: npt.NDArray[np.uint8]) -> Detections:
        return with_hot_spots(self.objects.detect(frame), self.hot_blobs.detect(frame))

    def reset(self) -> None:
        """Forget the hot-blob background (analysis switched off: nothing learnt under it outlives it)."""
        self.hot_blobs.reset()


def with_hot_spots(objects: Detections, blobs: Detections) -> Detections:
    """The model's objects and the hot blobs none of them explains (``explained``), as hot spots."""
    blobs = blobs[~explained(blobs.boxes, objects.boxes)]
    if not len(blobs):
        return objects
    spots = np.full(len(blobs), int(ObjectClass.HOT_SPOT))
    return Detections.create(
        np.concatenate([objects.boxes, blobs.boxes]),
        np.concatenate([objects.scores, blobs.scores]),
        np.concatenate([objects.class_ids, spots]),
    )


def explained(blobs: npt.NDArray[np.float32], objects: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """For each blob box (x1, y1, x2, y2), whether an object box covers ``EXPLAINED_OVERLAP`` of its area or more.

    Intersection over the blob's own area, not IoU: a warm head or engine is a small part of its person or car."""
    if not len(blobs) or not len(objects):
        return np.zeros(len(blobs), bool)
    x1 = np.maximum(blobs[:, None, 0], objects[None, :, 0])
    y1 = np.maximum(blobs[:, None, 1], objects[None, :, 1])
    x2 = np.minimum(blobs[:, None, 2], objects[None, :, 2])
    y2 = np.minimum(blobs[:, None, 3], objects[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = np.maximum((blobs[:, 2] - blobs[:, 0]) * (blobs[:, 3] - blobs[:, 1]), 1e-6)
    covered: npt.NDArray[np.bool_] = (inter / area[:, None]).max(axis=1) >= EXPLAINED_OVERLAP
    return covered
