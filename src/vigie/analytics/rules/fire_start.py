"""``fire_start`` (décret 2023-828): a fire starting — flame colour that flickers and grows, or smoke that grows.

From colour and time, on a small picture (``process_width``):

- **flame colour** (Chen, Wu & Chiou, ICIP 2004): red above ``min_red``, red ≥ green > blue, and saturation high
  enough for that red; connected blobs of at least ``min_area`` of the image are candidates;
- **flicker**: a flame's outline never holds still — the fraction of a blob's pixels that change state from one
  frame to the next stays above ``min_flicker`` — while a lit shop sign or a painted facade holds still;
- **presence**: the blob is there in at least ``min_presence`` of the frames of the window, which an emergency
  vehicle's flashing light (on, off, on…) is not;
- **growth**: the blob's area at the end of the window is at least ``min_growth`` times its area at the start —
  a reflection flickering on a wet road or a window does not grow.

Smoke without visible flame is not detected yet (docs/event-modules.md says so).

A place (cell of a coarse grid) hits once, then re-arms after ``rearm_s`` without candidates.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import ClassVar

import cv2
import numpy as np
from pydantic import Field

from vigie.analytics.rules.base import RuleConfig, RuleHit, RuleInput
from vigie.domain.geometry import Box
from vigie.domain.ports import Frame


class FireStartConfig(RuleConfig):
    process_width: int = Field(default=160, ge=64, le=640, title="Width", description="Pixels wide analysed.")
    min_red: int = Field(default=170, ge=0, le=255, title="Red", description="Least red of a flame pixel.")
    saturation_gain: float = Field(
        default=0.5,
        ge=0.0,
        le=2.0,
        title="Saturation",
        description="How saturated a flame pixel must be for its red level (Chen's S ≥ (255 − R)·gain/min_red).",
    )
    min_area: float = Field(
        default=0.001, gt=0.0, le=0.5, title="Area", description="Smallest blob, as a fraction of the image."
    )
    window_s: float = Field(default=4.0, gt=0.5, le=60.0, title="Window", description="Seconds judged together.")
    min_flicker: float = Field(
        default=0.08,
        ge=0.0,
        le=1.0,
        title="Flicker",
        description="Mean fraction of a blob's pixels changing between frames.",
    )
    min_presence: float = Field(
        default=0.9,
        ge=0.0,
        le=1.0,
        title="Presence",
        description="Fraction of the window's frames in which the blob is seen.",
    )
    min_growth: float = Field(
        default=1.3,
        ge=1.0,
        le=100.0,
        title="Growth",
        description="Area at the end of the window over area at its start.",
    )
    rearm_s: float = Field(
        default=60.0,
        ge=0.0,
        le=3600.0,
        title="Re-arm",
        description="Seconds without candidates at a place before it can hit again.",
    )


@dataclass(slots=True)
class _Place:
    """History of flame-coloured pixels around one place of the picture."""

    samples: deque[tuple[float, np.ndarray | None]] = field(default_factory=deque)
    fired: bool = False
    last_candidate: float = 0.0


_GRID = 4
"""Places are cells of a 4×4 grid: one fire per cell at a time is plenty for alerting."""


class FireStart:
    module: ClassVar[str] = "fire_start"
    needs_frame: ClassVar[bool] = True
    kind: ClassVar[str] = "fire_start"

    def __init__(self, config: FireStartConfig) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        self._places: dict[tuple[int, int], _Place] = {}

    def flame_mask(self, frame: Frame) -> np.ndarray:
        """Flame-coloured pixels of a BGR frame at the processing size (grey frames have no flame colour)."""
        cfg = self.config
        width = cfg.process_width
        height = max(8, round(frame.shape[0] * width / frame.shape[1]))
        if frame.ndim == 2:
            return np.zeros((height, width), np.bool_)
        small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA).astype(np.int16)
        b, g, r = small[..., 0], small[..., 1], small[..., 2]
        top = np.maximum(np.maximum(r, g), b)
        bottom = np.minimum(np.minimum(r, g), b)
        saturation = (top - bottom) / np.maximum(top, 1)  # HSV saturation, 0..1
        need = (255 - r) * cfg.saturation_gain / max(cfg.min_red, 1)
        return np.asarray((r > cfg.min_red) & (r >= g) & (g > b) & (saturation >= need), np.bool_)

    def update(self, data: RuleInput) -> list[RuleHit]:
        if data.frame is None:
            raise ValueError("fire_start reads pixels: RuleInput.frame is required")
        cfg = self.config
        mask = self.flame_mask(data.frame)
        h, w = mask.shape
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
        min_px = cfg.min_area * h * w
        seen: dict[tuple[int, int], np.ndarray] = {}
        for label in range(1, count):
            x, y, bw, bh, area = (int(v) for v in stats[label])
            if area < min_px:
                continue
            cell = (min(_GRID - 1, (x + bw // 2) * _GRID // w), min(_GRID - 1, (y + bh // 2) * _GRID // h))
            blob = labels == label
            seen[cell] = blob if cell not in seen else seen[cell] | blob
        hits = []
        for cell in set(self._places) | set(seen):
            place = self._places.setdefault(cell, _Place())
            blob = seen.get(cell)
            place.samples.append((data.at, blob))
            while place.samples and data.at - place.samples[0][0] > cfg.window_s:
                place.samples.popleft()
            if blob is not None:
                place.last_candidate = data.at
            elif data.at - place.last_candidate >= cfg.rearm_s:
                place.fired = False
            if not place.fired and blob is not None and self._is_fire(place, data.at):
                place.fired = True
                region = _bounds(blob, w, h)
                hits.append(RuleHit(self.kind, region, 0.8))
            if blob is None and not place.fired and data.at - place.last_candidate > cfg.window_s:
                del self._places[cell]  # bounded: only places with recent candidates are kept
        return hits

    def _is_fire(self, place: _Place, now: float) -> bool:
        cfg = self.config
        samples = list(place.samples)
        if len(samples) < 4 or now - samples[0][0] < 0.75 * cfg.window_s:
            return False
        present = [blob for _, blob in samples if blob is not None]
        if len(present) / len(samples) < cfg.min_presence:
            return False
        changes = []
        for (_, a), (_, b) in itertools.pairwise(samples):
            if a is None or b is None:
                continue
            union = int((a | b).sum())
            changes.append(int((a ^ b).sum()) / max(union, 1))
        if not changes or float(np.mean(changes)) < cfg.min_flicker:
            return False
        third = max(1, len(present) // 3)
        start = float(np.mean([blob.sum() for blob in present[:third]]))
        end = float(np.mean([blob.sum() for blob in present[-third:]]))
        return end >= cfg.min_growth * max(start, 1.0)


def _bounds(blob: np.ndarray, w: int, h: int) -> Box:
    ys, xs = np.nonzero(blob)
    return Box(xs.min() / w, ys.min() / h, (xs.max() - xs.min() + 1) / w, (ys.max() - ys.min() + 1) / h)
