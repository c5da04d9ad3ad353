"""Motion detection by background subtraction (OpenCV MOG2).

The embedded default detector: it needs no model file and is cheap enough for hundreds of cameras per core at
analysis resolution. It reports regions of motion, not objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vigie.domain.geometry import Box, Point
from vigie.domain.ports import Frame

_SHADOW = 127  # MOG2 marks shadow pixels with this value; motion pixels are 255.
_SPECKLE = np.ones((2, 2), np.uint8)
"""Opening element: specks of one pixel go, at 160 px 4 source pixels. A 3×3 element (what 213 px needed) also
erased the thin outline MOG2 gives of a walking person: a quarter of TUD-Campus's persons lost (docs/benchmarks.md)."""


@dataclass(frozen=True, slots=True)
class MotionConfig:
    """Tuning of the motion detector."""

    min_area: float = 0.002
    """Smallest region kept, as a fraction of the frame area."""
    var_threshold: float = 16.0
    """MOG2 variance threshold: higher ignores more noise."""
    history: int = 200
    """Frames of background history."""
    global_change: float = 0.4
    """If more than this fraction of the frame changes at once, it is a lighting change, not motion."""
    warmup_frames: int = 10
    """Frames to learn the background before reporting anything."""
    process_width: int | None = 160
    """Frames wider than this are scaled down before background subtraction, by the smallest whole factor that
    brings them to this width or less (640 → 160, 704 → 140, 1920 → 160): MOG2's cost is per pixel, and at 160 px
    it is half of what it is at 213 (640 / 3), with as many moving objects found on real footage or more
    (docs/benchmarks.md, "Analysis density"). Whole factors keep OpenCV's pixel-area averaging exact and cheap, even
    factors cheapest of all (halvings, a quarter of the cost of one 4× area resize). Boxes stay normalised; motion
    regions need no more (Frigate detects motion at 100 px high). None keeps the full width."""


class MotionDetector:
    """Regions of motion in successive frames of one camera. One instance per camera: it holds the background."""

    def __init__(self, config: MotionConfig | None = None, privacy_masks: tuple[tuple[Point, ...], ...] = ()) -> None:
        self.config = config or MotionConfig()
        self._polygons = privacy_masks
        self._visible: Frame | None = None
        """255 outside the privacy masks, 0 inside, at the size of the last frame."""
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self.reset()

    def reset(self) -> None:
        """Forget the background (e.g. after the stream came back or analysis was switched off)."""
        self._frames = 0
        self._subtractor = cv2.createBackgroundSubtractorMOG2(
            history=self.config.history, varThreshold=self.config.var_threshold, detectShadows=True
        )

    def _apply_masks(self, frame: Frame) -> Frame:
        """Blank privacy-masked areas (L6) before anything looks at the pixels."""
        height, width = frame.shape[:2]
        if self._visible is None or self._visible.shape[:2] != (height, width):
            visible = np.full((height, width), 255, np.uint8)
            for polygon in self._polygons:
                pts = np.array([[round(x * width), round(y * height)] for x, y in polygon], np.int32)
                cv2.fillPoly(visible, [pts], 0)
            self._visible = visible
        # A new array, the caller's frame untouched; a fifth of the cost of a copy and a boolean-indexed fill.
        return np.asarray(cv2.bitwise_and(frame, frame, mask=self._visible), np.uint8)

    def _shrink(self, frame: Frame) -> tuple[Frame, float, float]:
        """The frame scaled down by a whole factor, and the fractions of its width and height that were kept (the
        last ``size % factor`` columns and rows are cropped so the factor is exact: at most a few pixels)."""
        width = self.config.process_width
        full_h, full_w = frame.shape[:2]
        if width is None or full_w <= width:
            return frame, 1.0, 1.0
        factor = -(-full_w // width)  # ceiling division
        out_w, out_h = max(1, full_w // factor), max(1, full_h // factor)
        small = frame[: out_h * factor, : out_w * factor]
        rest = factor
        while rest % 2 == 0 and small.shape[1] % 2 == 0 and small.shape[0] % 2 == 0:
            # Halving has OpenCV's fastest area path; means of means of equal blocks are the block means.
            half = (small.shape[1] // 2, small.shape[0] // 2)
            small = np.asarray(cv2.resize(small, half, interpolation=cv2.INTER_AREA), np.uint8)
            rest //= 2
        if rest > 1:
            small = np.asarray(cv2.resize(small, (out_w, out_h), interpolation=cv2.INTER_AREA), np.uint8)
        return small, out_w * factor / full_w, out_h * factor / full_h

    def detect(self, frame: Frame) -> list[tuple[Box, float]]:
        """Return motion regions as (normalised box, fill ratio) pairs, largest first."""
        if self._polygons:
            frame = self._apply_masks(frame)
        frame, kept_w, kept_h = self._shrink(frame)
        self._frames += 1
        fg = self._subtractor.apply(frame)
        if self._frames <= self.config.warmup_frames:
            return []
        _, binary = cv2.threshold(fg, _SHADOW, 255, cv2.THRESH_BINARY)
        # Opening by 2×2: the erosion looks up-left (anchor 1, 1), the dilation down-right, so nothing shifts.
        binary = cv2.dilate(cv2.erode(binary, _SPECKLE), _SPECKLE, anchor=(0, 0))
        binary = cv2.dilate(binary, self._kernel, iterations=2)
        height, width = binary.shape[:2]
        if cv2.countNonZero(binary) > self.config.global_change * width * height:
            # A global lighting change (cloud, street lights switching on): relearn quickly, report nothing.
            self._subtractor.apply(frame, learningRate=0.5)
            return []
        contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        min_px = self.config.min_area * width * height
        regions: list[tuple[Box, float]] = []
        for contour in contours:
            area = float(cv2.contourArea(contour))
            if area < min_px:
                continue
            x, y, w, h = cv2.boundingRect(contour)
            box = Box(x / width * kept_w, y / height * kept_h, w / width * kept_w, h / height * kept_h)
            regions.append((box, min(1.0, area / float(w * h))))
        regions.sort(key=lambda r: r[0].area, reverse=True)
        return regions
