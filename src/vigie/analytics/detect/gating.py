"""Motion-gated deep detection: run the expensive detector only when, and optionally only where, things move.

Most street cameras show an empty or parked scene most of the time. MOG2 motion costs a fraction of a millisecond
per frame; a deep detector costs several. The gate runs the detector on frames with motion (in ``regions`` mode
only on crops around the moving areas, batched in one call), reuses the last detections for ``hold_s`` after
motion stops, and reports nothing once the scene has been still longer than that — unless ``refresh_s`` asks for
an occasional full-frame look, which modules that care about still objects (abandoned bag, stationary vehicle)
need. While the motion model is still learning the background, every frame goes to the detector.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from vigie.analytics.detect.motion import MotionDetector
from vigie.domain.detections import Detections
from vigie.domain.geometry import Box


class BoxDetector(Protocol):
    """What the gate needs from a deep detector (``OnnxDetector`` fits)."""

    def detect(self, frame_bgr: npt.NDArray[np.uint8]) -> Detections: ...

    def detect_batch(self, frames: Sequence[npt.NDArray[np.uint8]]) -> list[Detections]: ...


class MotionGateConfig(BaseModel):
    """When the deep detector runs on a motion-gated camera."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["frame", "regions"] = Field(
        default="frame",
        title="Gating mode",
        description="frame: run on the whole frame when anything moves; regions: run on crops around the moving "
        "areas only (batched in one call).",
    )
    hold_s: float = Field(
        default=2.0, ge=0.0, title="Hold time", description="Seconds the last detections are kept after motion stops."
    )
    refresh_s: float | None = Field(
        default=None,
        gt=0.0,
        title="Refresh period",
        description="Run on the full frame at least this often even without motion (None: never).",
    )
    crop_margin: float = Field(
        default=0.5,
        ge=0.0,
        title="Crop margin",
        description="regions mode: margin added around a motion box, as a fraction of its size on each side.",
    )
    min_crop_px: int = Field(
        default=160, ge=16, title="Minimum crop", description="regions mode: smallest crop side in pixels."
    )
    max_crops: int = Field(
        default=4, ge=1, title="Maximum crops", description="regions mode: above this many crops, use the full frame."
    )
    max_crop_fraction: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        title="Maximum crop area",
        description="regions mode: if the crops cover more than this fraction of the frame, use the full frame.",
    )


@dataclass(slots=True)
class GateStats:
    """Counters since the gate was built: frames seen, detector calls made, calls saved, crops analysed."""

    frames: int = 0
    calls_made: int = 0
    calls_saved: int = 0
    crops: int = 0

    @property
    def saved_ratio(self) -> float:
        return self.calls_saved / self.frames if self.frames else 0.0


Crop = tuple[int, int, int, int]
"""x1, y1, x2, y2 in frame pixels."""


def _crop_of(box: Box, width: int, height: int, config: MotionGateConfig) -> Crop:
    mw, mh = box.w * width * config.crop_margin, box.h * height * config.crop_margin
    x1, y1 = box.x * width - mw, box.y * height - mh
    x2, y2 = (box.x + box.w) * width + mw, (box.y + box.h) * height + mh
    side = min(config.min_crop_px, width, height)
    if x2 - x1 < side:
        cx = (x1 + x2) / 2
        x1, x2 = cx - side / 2, cx + side / 2
    if y2 - y1 < side:
        cy = (y1 + y2) / 2
        y1, y2 = cy - side / 2, cy + side / 2
    dx = max(0.0, -x1) - max(0.0, x2 - width)  # slide back inside the frame rather than shrink
    dy = max(0.0, -y1) - max(0.0, y2 - height)
    return (
        max(0, round(x1 + dx)),
        max(0, round(y1 + dy)),
        min(width, round(x2 + dx)),
        min(height, round(y2 + dy)),
    )


def merge_crops(crops: list[Crop]) -> list[Crop]:
    """Union overlapping crops until none overlap, so no object is analysed (and reported) twice."""
    merged = list(crops)
    changed = True
    while changed:
        changed = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                a, b = merged[i], merged[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    merged[i] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    del merged[j]
                    changed = True
                    break
            if changed:
                break
    return merged


def _concat(parts: Sequence[Detections]) -> Detections:
    if not parts:
        return Detections()
    return Detections.create(
        np.concatenate([p.boxes for p in parts]),
        np.concatenate([p.scores for p in parts]),
        np.concatenate([p.class_ids for p in parts]),
    )


class MotionGatedDetector:
    """A deep detector behind a motion gate, for one camera (it holds that camera's background and last result)."""

    def __init__(
        self,
        detector: BoxDetector,
        motion: MotionDetector,
        config: MotionGateConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.detector = detector
        self.motion = motion
        self.config = config or MotionGateConfig()
        self.stats = GateStats()
        self._clock = clock
        self._last = Detections()
        self._last_motion_s = -float("inf")
        self._last_full_s = -float("inf")

    def detect(self, frame_bgr: npt.NDArray[np.uint8], now_s: float | None = None) -> Detections:
        """Detections for this frame: fresh when there is motion (or a refresh is due), held, or none."""
        now = self._clock() if now_s is None else now_s
        self.stats.frames += 1
        regions = self.motion.detect(frame_bgr)
        learning = self.motion._frames <= self.motion.config.warmup_frames
        refresh = self.config.refresh_s is not None and now - self._last_full_s >= self.config.refresh_s
        if learning or refresh:
            return self._full(frame_bgr, now)
        if regions:
            self._last_motion_s = now
            if self.config.mode == "frame":
                return self._full(frame_bgr, now)
            return self._regions(frame_bgr, [box for box, _ in regions], now)
        self.stats.calls_saved += 1
        if now - self._last_motion_s > self.config.hold_s:
            self._last = Detections()
        return self._last

    def _full(self, frame: npt.NDArray[np.uint8], now: float) -> Detections:
        self.stats.calls_made += 1
        self._last_full_s = now
        self._last = self.detector.detect(frame)
        return self._last

    def _regions(self, frame: npt.NDArray[np.uint8], boxes: list[Box], now: float) -> Detections:
        height, width = frame.shape[:2]
        crops = merge_crops([_crop_of(b, width, height, self.config) for b in boxes])
        area = sum((c[2] - c[0]) * (c[3] - c[1]) for c in crops)
        if len(crops) > self.config.max_crops or area > self.config.max_crop_fraction * width * height:
            return self._full(frame, now)
        self.stats.calls_made += 1
        self.stats.crops += len(crops)
        found = self.detector.detect_batch([frame[y1:y2, x1:x2] for x1, y1, x2, y2 in crops])
        shifted = []
        for (x1, y1, _, _), dets in zip(crops, found, strict=True):
            offset = np.array([x1, y1, x1, y1], np.float32)
            shifted.append(Detections.create(dets.boxes + offset, dets.scores, dets.class_ids))
        self._last = _concat(shifted)
        return self._last
