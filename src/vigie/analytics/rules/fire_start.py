"""``fire_start`` (décret 2023-828): a fire starting — flame colour that flickers and grows, or smoke that grows.

From colour and time, on a small picture (``process_width``):

- **flame colour** (Chen, Wu & Chiou, ICIP 2004): red above ``min_red``, red ≥ green > blue, and saturation high
  enough for that red; connected blobs of at least ``min_area`` of the image are candidates;
- **flicker**: a flame's outline never holds still — the fraction of a blob's pixels that change state from one
  frame to the next stays above ``min_flicker`` — while a lit shop sign or a painted facade holds still. Pixels
  must go out as well as come in: a patch that only spreads (a street light warming up) does not flicker;
- **presence**: the blob is there in at least ``min_presence`` of the frames of the window, which an emergency
  vehicle's flashing light (on, off, on…) is not;
- **persistence**: most of the blob's pixels of each second of the window are still flame-coloured now — a
  flame burns where it burnt, while a red car driving by (or two red cars one after the other, which a place
  would otherwise see as one blob that doubles) leaves the pixels it covered;
- **growth**: the blob's area grows at least ``min_growth`` times over a window — a reflection flickering on a
  wet road or a window does not grow. The rate is the trend of the area over the last two windows (a least-squares
  line through its logarithm), so one large or small frame does not make a growth, and a fire growing ×2 in 8 s
  shows its growth within a window (comparing the first and last thirds of one window, it would not).

A picture mostly flame-coloured (more than ``max_cover`` of it) says that the light is orange — sunset, sodium
street lights — not that something burns: such a frame brings no candidate.

Smoke without visible flame is not detected yet (docs/event-modules.md says so).

Places are the cells of a 4×4 grid. A blob belongs to the place whose last candidate it overlaps — a flame
dancing across a cell border stays one place instead of two that each see it half of the time — else to the cell
under its base, since a flame grows upwards from where it stands. A place hits once, then re-arms after
``rearm_s`` without candidates. Memory is bounded: at most 16 places, each with a few numbers per frame over two
windows and the pixels of its last candidate; a place without candidates for a window, and not waiting to
re-arm, is forgotten.
"""

from __future__ import annotations

import math
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
    max_cover: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        title="Cover",
        description="Above this fraction of the image flame-coloured, the light is orange (sunset, sodium lamps): "
        "the frame brings no candidate.",
    )
    window_s: float = Field(default=4.0, gt=0.5, le=60.0, title="Window", description="Seconds judged together.")
    min_flicker: float = Field(
        default=0.08,
        ge=0.0,
        le=1.0,
        title="Flicker",
        description="Mean fraction of a blob's pixels changing between frames (as many going out as coming in).",
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
        description="Factor by which the blob's area grows over one window (trend of the last two windows).",
    )
    max_base_drift: float = Field(
        default=1.0,
        ge=0.0,
        le=20.0,
        title="Base drift",
        description="How far the candidate's base may move over the window, in its own widths: a fire stays put, "
        "an orange coat walking by does not.",
    )
    min_persistence: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        title="Persistence",
        description="Least fraction, over the window (masks a second apart), of the candidate's earlier pixels "
        "still flame-coloured now: a flame burns where it burnt, red cars driving by do not.",
    )
    rearm_s: float = Field(
        default=60.0,
        ge=0.0,
        le=3600.0,
        title="Re-arm",
        description="Seconds without candidates at a place before it can hit again.",
    )


@dataclass(slots=True)
class _Sample:
    """One frame at one place: the candidate's area (0: none) and how it flickered since the frame before."""

    at: float
    area: int
    flicker: float | None
    """Two-sided change from the previous frame (None unless the candidate is in both)."""
    base: tuple[float, float, float] | None = None
    """Bottom centre (x, y) and width of the candidate, in pixels of the processed picture."""


@dataclass(slots=True)
class _Place:
    """What the module remembers of one place: numbers over two windows, and its last candidate's pixels only."""

    samples: deque[_Sample] = field(default_factory=deque)
    mask: np.ndarray | None = None
    """The last candidate seen here: a blob that overlaps it is this place's, wherever its base now is."""
    fired: bool = False
    last_candidate: float = 0.0
    history: deque[tuple[float, np.ndarray]] = field(default_factory=deque)
    """Candidate masks about one second apart (bit-packed: ~2 kB each at 160 px), for persistence."""

    def observe(self, at: float, blob: np.ndarray | None, keep_s: float) -> None:
        flicker = None
        if blob is not None and self.mask is not None and self.samples and self.samples[-1].area > 0:
            union = int(np.count_nonzero(self.mask | blob))
            came = int(np.count_nonzero(blob & ~self.mask))
            went = int(np.count_nonzero(self.mask & ~blob))
            flicker = 2.0 * min(came, went) / max(union, 1)
        self.samples.append(_Sample(at, 0 if blob is None else int(np.count_nonzero(blob)), flicker, _base(blob)))
        if blob is not None:
            self.mask = blob
            self.last_candidate = at
            if not self.history or at - self.history[-1][0] >= _HISTORY_EVERY_S:
                self.history.append((at, np.packbits(blob)))
        while at - self.samples[0].at > keep_s:
            self.samples.popleft()
        while self.history and at - self.history[0][0] > keep_s:
            self.history.popleft()

    def persistence(self, now: float, over_s: float) -> float:
        """The least fraction, over the candidate masks kept from the last ``over_s`` seconds (a second old at
        least), of their pixels still in the candidate now. The least, not one: a stream of red cars at one car's
        spacing puts a car now where another was a few seconds ago, never where one was every second before."""
        if self.mask is None:
            return 0.0
        fractions = []
        for at, packed in self.history:
            if _HISTORY_EVERY_S <= now - at <= over_s:
                before = np.unpackbits(packed, count=self.mask.size).reshape(self.mask.shape).astype(np.bool_)
                fractions.append(int(np.count_nonzero(before & self.mask)) / max(1, int(np.count_nonzero(before))))
        return min(fractions, default=0.0)


_GRID = 4
_HISTORY_EVERY_S = 1.0
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
        self._shape: tuple[int, ...] = ()

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
        if mask.shape != self._shape:  # another picture size: nothing remembered can be compared with it
            self.reset()
            self._shape = mask.shape
        h, w = mask.shape
        seen = self._candidates(mask)
        hits = []
        for cell in set(self._places) | set(seen):
            blob = seen.get(cell)
            place = self._places.setdefault(cell, _Place(last_candidate=data.at))
            place.observe(data.at, blob, 2 * cfg.window_s)
            if blob is None and data.at - place.last_candidate >= cfg.rearm_s:
                place.fired = False
            if not place.fired and blob is not None and self._is_fire(place, data.at):
                place.fired = True
                hits.append(RuleHit(self.kind, _bounds(blob, w, h), 0.8))
            if blob is None and not place.fired and data.at - place.last_candidate > cfg.window_s:
                del self._places[cell]  # bounded: only places with recent candidates are kept
        return hits

    def _candidates(self, mask: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
        """Flame-coloured blobs large enough, merged per place: the place whose last candidate the blob overlaps
        most, else the grid cell under the blob's base (bottom centre)."""
        cfg = self.config
        h, w = mask.shape
        if np.count_nonzero(mask) > cfg.max_cover * h * w:
            return {}
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
        kept = 1 + np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= cfg.min_area * h * w)
        if not len(kept):
            return {}
        x, y = stats[kept, cv2.CC_STAT_LEFT], stats[kept, cv2.CC_STAT_TOP]
        bw, bh = stats[kept, cv2.CC_STAT_WIDTH], stats[kept, cv2.CC_STAT_HEIGHT]
        row, col = np.minimum(_GRID - 1, (y + bh - 1) * _GRID // h), np.minimum(_GRID - 1, (x + bw // 2) * _GRID // w)
        target = row * _GRID + col
        best = np.zeros(len(kept), np.int64)
        for (c, r), place in self._places.items():
            if place.mask is not None:
                overlap = np.bincount(labels[place.mask], minlength=count)[kept]
                target[overlap > best] = r * _GRID + c
                best = np.maximum(best, overlap)
        place_of = np.full(count, -1, np.int64)
        place_of[kept] = target
        places = place_of[labels]
        return {(int(i) % _GRID, int(i) // _GRID): places == i for i in np.unique(target)}

    def _is_fire(self, place: _Place, now: float) -> bool:
        cfg = self.config
        if now - place.samples[0].at < 0.75 * cfg.window_s:
            return False
        window = [s for s in place.samples if now - s.at <= cfg.window_s]
        if len(window) < 4 or sum(s.area > 0 for s in window) < cfg.min_presence * len(window):
            return False
        flickers = [s.flicker for s in window if s.flicker is not None]
        if not flickers or sum(flickers) / len(flickers) < cfg.min_flicker:
            return False
        if _drift(window) > cfg.max_base_drift:
            return False
        if place.persistence(now, cfg.window_s) < cfg.min_persistence:
            return False
        return _growth(place.samples, cfg.window_s) >= cfg.min_growth


def _base(blob: np.ndarray | None) -> tuple[float, float, float] | None:
    if blob is None:
        return None
    ys, xs = np.nonzero(blob)
    return float(xs.mean()), float(ys.max()), float(xs.max() - xs.min() + 1)


def _drift(window: list[_Sample]) -> float:
    """How far the candidate's base moved over the window, in its median widths (at least 3 pixels): a fire
    stays where it started, while a person in orange clothes walking by — even towards the camera, growing — or
    a car's orange paint travels."""
    bases = [s.base for s in window if s.base is not None]
    if len(bases) < 2:
        return 0.0
    xs, ys, widths = (np.array(v) for v in zip(*bases, strict=True))
    travel = float(np.hypot(xs.max() - xs.min(), ys.max() - ys.min()))
    return travel / max(3.0, float(np.median(widths)))


def _growth(samples: deque[_Sample], over_s: float) -> float:
    """Factor by which the area grows in ``over_s`` — or in the time watched, when shorter: a trend is not
    stretched past what was seen — from a least-squares line through log(area) against time."""
    present = [(s.at, math.log(s.area)) for s in samples if s.area > 0]
    if len(present) < 4:
        return 1.0
    t, a = np.array(present).T
    span = float(t[-1] - t[0])
    t = t - t.mean()
    spread = float(np.dot(t, t))
    if spread <= 0.0:
        return 1.0
    slope = float(np.dot(t, a - a.mean())) / spread
    return math.exp(slope * min(span, over_s))


def _bounds(blob: np.ndarray, w: int, h: int) -> Box:
    ys, xs = np.nonzero(blob)
    x0, y0 = int(xs.min()), int(ys.min())
    return Box(x0 / w, y0 / h, (int(xs.max()) - x0 + 1) / w, (int(ys.max()) - y0 + 1) / h)
