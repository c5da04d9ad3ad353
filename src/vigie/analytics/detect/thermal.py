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
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import Field

from vigie.config.fields import ConfigModel
from vigie.domain.detections import Detections, ObjectClass

_MAD_TO_SIGMA = 1.4826
_FOREGROUND_LEARNING = 0.05
"""Background learning under a hot blob, relative to ``1 / background_frames``: slow, but not never."""


class ThermalConfig(ConfigModel):
    """Tuning of the thermal hot-blob detector."""

    k_sigma: float = Field(
        default=5.0,
        gt=0,
        title="Noise multiple",
        description="A pixel is hot when it exceeds its background by this many times the frame's robust noise.",
    )
    min_contrast: float = Field(
        default=12.0,
        ge=0,
        title="Minimum contrast (8-bit)",
        description="Smallest excess over the background, in grey levels, for 8-bit frames.",
    )
    min_contrast_kelvin: float = Field(
        default=2.0,
        ge=0,
        title="Minimum contrast (radiometric)",
        description="Smallest excess over the background, in kelvin, for 16-bit radiometric frames.",
    )
    counts_per_kelvin: float = Field(
        default=100.0,
        gt=0,
        title="Radiometric resolution",
        description="Raw counts per kelvin of 16-bit radiometric frames (100 for cameras reporting 0.01 K).",
    )
    background_frames: int = Field(
        default=100,
        ge=1,
        title="Background memory",
        description="Frames over which the background adapts (a running mean with rate 1/background_frames).",
    )
    blur_size: int = Field(
        default=5,
        ge=1,
        le=31,
        title="Smoothing size",
        description="Odd size in pixels of the Gaussian smoothing applied before thresholding (1: none).",
    )
    min_area: float = Field(
        default=0.0015,
        gt=0,
        lt=1,
        title="Minimum blob area",
        description="Smallest hot blob kept, as a fraction of the frame area.",
    )
    classify_persons: bool = Field(
        default=True,
        title="Classify persons",
        description="Report blobs whose size and aspect ratio fit an upright person as `PERSON` instead of `HOT_SPOT`.",
    )
    person_aspect: tuple[float, float] = Field(
        default=(1.3, 4.5),
        title="Person aspect ratio",
        description="Range of box height / width of a blob reported as a person.",
    )
    person_height: tuple[float, float] = Field(
        default=(0.06, 0.9),
        title="Person height",
        description="Range of box height, as a fraction of the frame height, of a blob reported as a person.",
    )


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
