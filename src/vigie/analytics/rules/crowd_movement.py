"""``crowd_movement`` (décret 2023-828): a sudden collective movement — people scattering from, or rushing
towards, one place — from dense optical flow, compared with what is usual for this camera.

Each analysed frame: Farnebäck optical flow (OpenCV) against the previous frame, on a small grey picture
(``process_width``). What the decision rests on, and why:

- **moving pixels**: flow faster than ``min_speed`` *and* a grey level that changed (by more than a few levels, or
  next to one that did). Farnebäck smooths the flow over a window wider than a person at this resolution; without
  the second test the flow of people a few metres apart merges into one blob whose mean cancels out. A thin border
  is ignored: the flow of someone entering or leaving the picture is unreliable there;
- **movers**: connected moving pixels going the same way (one of eight directions), so that the parts of a group
  that splits up are separate movers even while their silhouettes still touch;
- **new movers**: a mover is *new* when nothing moved where it came from (its position minus its velocity ×
  ``onset_s``, give or take ``_BACK_PX``) in the frames of ``onset_s`` to ``onset_s + _ORIGIN_SLACK_S`` before:
  it has just started. This is what *sudden* means here. People who were
  standing and start running together are new; walkers passing one another on a pavement, a flow meeting someone
  walking against it, cars in traffic, people walking into the picture have been moving all along, and are not.
  The radial pattern of two people crossing is the same as that of a group scattering; what differs is that the
  group was still a moment before;
- **radial flux around a place**: for every candidate centre on a grid, Σ over the movers within about
  ``radius`` (Gaussian weight) of area × speed × cos(direction, away from the centre), over the picture area: > 0
  scattering, < 0 converging. It is local because a crowd movement starts from one place: movers at the other end
  of the picture say nothing about it. Over *all* movers, the same window gives the **coherence** (flux over the
  total area × speed: 1 = all radial) and the **alignment** (length of the weighted mean direction, 1 = everyone
  going one way: a flow, not a crowd movement); over the *new* movers it gives the **signal**;
- **accumulated over** ``smoothing_s``: the maps are averaged over the last frames before deciding, so one bad
  flow frame (small people moving about their own width per frame at 5 fps) neither makes nor breaks an incident,
  and a flickering light — whose edges look like an expansion, then a contraction, frame after frame — cancels
  out.

The signal is the largest |accumulated new-mover flux| among the places whose accumulated coherence and alignment
pass. A hit needs it above both ``min_signal`` and the camera's usual level (running mean + ``k_sigma`` standard
deviations, learnt with a time constant of ``baseline_s``) for ``min_duration_s``, with the same sign throughout
(a crowd that keeps scattering, not one that scatters then gathers); frames within ``_GAP_S`` of the last unusual
one keep the run going. Nothing is reported during the first ``warmup_s``, which are all taken as usual; after it,
the frames of a candidate incident are not learnt (an incident must not raise the level it is compared with). The
module re-arms after ``rearm_s`` of calm.

Known limits: at 160 px a person is a few pixels wide, so the module does not count people; two people who start
running towards each other from a standstill look like a small group converging. Motion towards or away from the
camera is foreshortened and counts for less than motion across the picture. A gathering that builds up as people
arrive one by one is not sudden, and is not reported.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import ClassVar

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import Field

from vigie.analytics.rules.base import RuleConfig, RuleHit, RuleInput
from vigie.domain.geometry import Box
from vigie.domain.ports import Frame

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class CrowdMovementConfig(RuleConfig):
    """Defaults chosen on the simulator's street (640×360 analysed at 5 fps, a person 16 % of the frame height, the
    picture about 20 m across): they tell six to twelve people who start running from streets where nobody does,
    with margin, on reseeded scenes (``tests/analytics/rules/test_crowd_movement.py``). Speeds, ``radius`` and the
    flux are in image units, so a camera much closer to or further from people needs them scaled accordingly."""

    process_width: int = Field(
        default=160,
        ge=64,
        le=640,
        title="Flow width",
        description="Pixels wide of the picture the optical flow is computed on.",
    )
    min_speed: float = Field(
        default=0.05,
        gt=0.0,
        le=2.0,
        title="Speed",
        description="Image widths per second above which a pixel is moving (slower: people standing, noise).",
    )
    onset_s: float = Field(
        default=0.8,
        gt=0.0,
        le=10.0,
        title="Onset",
        description="A mover is new (it has just started) when nothing moved where it came from this long before.",
    )
    radius: float = Field(
        default=0.15,
        gt=0.0,
        le=1.0,
        title="Radius",
        description="Size, in image widths, of the place people scatter from or converge to.",
    )
    min_signal: float = Field(
        default=0.0004,
        gt=0.0,
        le=1.0,
        title="Signal",
        description="Least radial flux of new movers (fraction of the picture × radial speed in image widths per "
        "second) that can be a crowd movement.",
    )
    min_coherence: float = Field(
        default=0.35,
        gt=0.0,
        le=1.0,
        title="Coherence",
        description="Least radial coherence (0 = no common centre, 1 = all radial).",
    )
    max_alignment: float = Field(
        default=0.6,
        ge=0.0,
        le=1.0,
        title="Alignment",
        description="Above this, the "
        "movers go one common way (length of their mean unit direction): a flow, not a crowd movement.",
    )
    smoothing_s: float = Field(
        default=0.8,
        ge=0.0,
        le=10.0,
        title="Smoothing",
        description="Seconds over which the flow is accumulated before deciding (0 = each frame alone).",
    )
    k_sigma: float = Field(
        default=5.0,
        ge=0.0,
        le=20.0,
        title="Above usual",
        description="Standard deviations above the camera's usual signal.",
    )
    min_duration_s: float = Field(
        default=0.8, ge=0.0, le=60.0, title="Duration", description="Seconds the signal must hold."
    )
    baseline_s: float = Field(
        default=300.0, gt=1.0, le=86400.0, title="Baseline", description="Time constant of the usual level (seconds)."
    )
    warmup_s: float = Field(
        default=10.0, ge=0.0, le=3600.0, title="Warm-up", description="Seconds learnt before any hit."
    )
    rearm_s: float = Field(
        default=10.0, ge=0.0, le=3600.0, title="Re-arm", description="Seconds of calm before another hit."
    )


@dataclass(frozen=True, slots=True)
class Measure:
    """What the accumulated flow says at the chosen place (see the module docstring); for diagnostics."""

    flux: float = 0.0
    """Accumulated radial flux of the new movers: > 0 scattering, < 0 converging."""
    coherence: float = 0.0
    alignment: float = 0.0
    region: Box | None = None


@dataclass(frozen=True, slots=True)
class _Movers:
    """The movers of one frame, in pixels of the flow picture; velocities in image widths per second."""

    centres: FloatArray = field(default_factory=lambda: np.zeros((0, 2)))
    velocities: FloatArray = field(default_factory=lambda: np.zeros((0, 2)))
    areas: FloatArray = field(default_factory=lambda: np.zeros(0))
    boxes: npt.NDArray[np.int32] = field(default_factory=lambda: np.zeros((0, 4), np.int32))
    """``x, y, w, h`` of each mover."""


class CrowdMovement:
    """One camera's crowd-movement detector (see the module docstring). ``last``, ``last_signal`` and
    ``usual_level`` expose its latest reading, for calibration and tests."""

    module: ClassVar[str] = "crowd_movement"
    needs_frame: ClassVar[bool] = True
    kind: ClassVar[str] = "crowd_movement"

    def __init__(self, config: CrowdMovementConfig) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        self._previous: np.ndarray | None = None
        self._previous_at = 0.0
        self._started: float | None = None
        self._history: deque[tuple[float, BoolArray]] = deque()
        """(time, moving mask grown by ``_BACK_PX``) of the last frames, to tell new movers from old ones."""
        self._grid: FloatArray = np.zeros((0, 2))
        self._grid_size = (0, 0)
        self._flux: FloatArray = np.zeros(0)
        self._new_flux: FloatArray = np.zeros(0)
        self._direction: FloatArray = np.zeros((0, 2))
        self._total: FloatArray = np.zeros(0)
        self._learnt = 0
        self._mean = 0.0
        self._var = 0.0
        self._above_since: float | None = None
        self._above_sign = 0.0
        self._last_unusual = 0.0
        self._calm_since: float | None = None
        self._fired = False
        self.last = Measure()
        self.last_signal = 0.0

    @property
    def last_coherence(self) -> float:
        return self.last.coherence

    @property
    def last_alignment(self) -> float:
        return self.last.alignment

    @property
    def usual_level(self) -> float:
        """The level the signal must exceed to be unusual for this camera (before the ``min_signal`` floor)."""
        return self._mean + self.config.k_sigma * math.sqrt(self._var)

    def _grey(self, frame: Frame) -> np.ndarray:
        grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        width = self.config.process_width
        height = max(8, round(grey.shape[0] * width / grey.shape[1]))
        return np.asarray(cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA), np.uint8)

    def update(self, data: RuleInput) -> list[RuleHit]:
        if data.frame is None:
            raise ValueError("crowd_movement reads pixels: RuleInput.frame is required")
        cfg = self.config
        grey = self._grey(data.frame)
        previous, dt = self._previous, data.at - self._previous_at
        self._previous, self._previous_at = grey, data.at
        if self._started is None:
            self._started = data.at
        if previous is None or previous.shape != grey.shape or dt <= 0:
            self._history.clear()
            return []
        movers, moving = _find_movers(previous, grey, dt, cfg.min_speed)
        new = self._new(movers, data.at, grey.shape[1])
        self._history.append((data.at, cv2.dilate(moving.astype(np.uint8), _BACK_KERNEL) > 0))
        while self._history and self._history[0][0] < data.at - cfg.onset_s - _HISTORY_SLACK_S:
            self._history.popleft()
        measure = self._accumulate(movers, new, grey.shape, dt)
        signal = abs(measure.flux)
        self.last, self.last_signal = measure, signal
        return self._decide(data.at, dt, measure, signal)

    def _new(self, movers: _Movers, at: float, width: int) -> BoolArray:
        """Which movers have just started: nothing moved, ``onset_s`` ago, where each came from.

        Movers whose origin lies outside the picture were moving before they came into view; before the module has
        ``onset_s`` of history (start, reset, a cut in the stream), nobody is new.
        """
        new = np.zeros(len(movers.areas), np.bool_)
        start, end = at - self.config.onset_s - _ORIGIN_SLACK_S - 1e-6, at - self.config.onset_s + 1e-6
        then = [mask for time, mask in self._history if start <= time <= end]
        if not then or len(new) == 0:
            return new
        mask = np.logical_or.reduce(then)
        height = mask.shape[0]
        origin = np.rint(movers.centres - movers.velocities * width * self.config.onset_s).astype(np.int64)
        inside = (
            (origin[:, 0] >= _BORDER_PX)
            & (origin[:, 0] < width - _BORDER_PX)
            & (origin[:, 1] >= _BORDER_PX)
            & (origin[:, 1] < height - _BORDER_PX)
        )
        rows, cols = np.clip(origin[:, 1], 0, height - 1), np.clip(origin[:, 0], 0, width - 1)
        return np.asarray(inside & ~mask[rows, cols], np.bool_)

    def _accumulate(self, movers: _Movers, new: BoolArray, shape: tuple[int, ...], dt: float) -> Measure:
        """Add this frame's maps to the running averages, and read the place with the strongest new radial flux."""
        cfg = self.config
        height, width = shape[0], shape[1]
        radius = cfg.radius * width
        if self._grid_size != (width, height):
            step = max(1.0, radius / 2)
            gx, gy = np.meshgrid(np.arange(step / 2, width, step), np.arange(step / 2, height, step))
            self._grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
            self._grid_size = (width, height)
            cells = len(self._grid)
            self._flux, self._new_flux, self._total = np.zeros(cells), np.zeros(cells), np.zeros(cells)
            self._direction = np.zeros((cells, 2))
        maps = _maps(movers, new, self._grid, radius, height * width)
        beta = min(1.0, dt / cfg.smoothing_s) if cfg.smoothing_s > 0 else 1.0
        self._flux += beta * (maps.flux - self._flux)
        self._new_flux += beta * (maps.new_flux - self._new_flux)
        self._direction += beta * (maps.direction - self._direction)
        self._total += beta * (maps.total - self._total)
        tiny = 1e-12
        coherence = self._flux / (self._total + tiny)
        alignment = np.linalg.norm(self._direction, axis=1) / (self._total + tiny)
        passes = (np.abs(coherence) >= cfg.min_coherence) & (alignment <= cfg.max_alignment) & (self._total > tiny)
        if not passes.any():
            return Measure()
        best = int(np.argmax(np.where(passes, np.abs(self._new_flux), -1.0)))
        value = float(self._new_flux[best])
        region = None
        if len(movers.areas):
            region = _region(movers, maps.cos[best], maps.kernel[best], value, (width, height))
        if region is None:  # nobody moves this frame (the accumulated flux lingers): the window itself
            cx, cy = (float(v) for v in self._grid[best])
            region = _clip_box((cx - radius, cy - radius, cx + radius, cy + radius), (width, height))
        return Measure(value, float(coherence[best]), float(alignment[best]), region)

    def _decide(self, at: float, dt: float, measure: Measure, signal: float) -> list[RuleHit]:
        """Edge-triggered hit once the signal has been unusual, one way, for ``min_duration_s``."""
        cfg = self.config
        unusual = signal >= cfg.min_signal and signal > self.usual_level
        warm = self._started is not None and at - self._started >= cfg.warmup_s
        if unusual and warm:
            sign = math.copysign(1.0, measure.flux)
            if self._above_since is None or sign != self._above_sign:
                self._above_since, self._above_sign = at, sign
            self._last_unusual = at
        elif self._above_since is not None and at - self._last_unusual > _GAP_S:
            self._above_since = None
        hits = []
        if unusual and warm:
            self._calm_since = None
            since = at if self._above_since is None else self._above_since
            if not self._fired and at - since >= cfg.min_duration_s - 1e-9 and measure.region is not None:
                self._fired = True
                hits.append(RuleHit(self.kind, measure.region, round(min(1.0, signal / (2 * cfg.min_signal)), 3)))
        else:
            self._calm_since = at if self._calm_since is None else self._calm_since
            if at - self._calm_since >= cfg.rearm_s:
                self._fired = False
            self._learn(signal, dt)  # learn the usual level from ordinary frames only
        return hits

    def _learn(self, signal: float, dt: float) -> None:
        """Exact mean and variance of the first frames, then an exponential forgetting over ``baseline_s``."""
        self._learnt += 1
        alpha = max(1.0 / self._learnt, min(1.0, dt / self.config.baseline_s))
        delta = signal - self._mean
        self._mean += alpha * delta
        self._var = (1 - alpha) * (self._var + alpha * delta * delta)


_GAP_S = 0.45
"""A candidate incident survives this long without an unusual frame (the flow on small people flickers)."""
_SECTORS = 8
"""Directions movers are split into (45° each, centred on the image axes)."""
_MIN_BLOB_PX = 4
"""Smaller groups of moving pixels are flow noise."""
_CHANGE = 8
"""Grey levels (of the reduced picture, where sensor noise averages out) a moving pixel, or a neighbour, changed by."""
_BORDER_PX = 4
"""Ignored border of the flow picture, half Farnebäck's window: entering or leaving, the flow there is unreliable."""
_BACK_PX = 2
"""Tolerance, in pixels, on where a mover came from (its speed is read about a quarter low)."""
_HISTORY_SLACK_S = 0.5
_ORIGIN_SLACK_S = 0.2
"""Frames before ``onset_s`` also looked at: where a mover came from, one bad flow frame may have missed it."""
"""Masks kept beyond ``onset_s`` (frames do not come at exact times)."""
_RADIAL_COS = 0.5
"""cos (60°) from which a mover counts as going radially, for the region reported."""
_IN_WINDOW = 0.1
"""Gaussian weight from which a mover counts as inside the window, for the region reported."""
_KERNEL = np.ones((3, 3), np.uint8)
_BACK_KERNEL = np.ones((2 * _BACK_PX + 1, 2 * _BACK_PX + 1), np.uint8)


def _find_movers(previous: np.ndarray, grey: np.ndarray, dt: float, min_speed: float) -> tuple[_Movers, BoolArray]:
    """The movers between two grey pictures ``dt`` seconds apart, and the moving mask (see the module docstring)."""
    width = grey.shape[1]
    flow = cv2.calcOpticalFlowFarneback(previous, grey, None, 0.5, 2, 9, 2, 5, 1.1, 0)
    scale = 1.0 / (dt * width)  # pixels per frame → image widths per second
    fx, fy = np.asarray(flow[..., 0], np.float64) * scale, np.asarray(flow[..., 1], np.float64) * scale
    changed = cv2.dilate((cv2.absdiff(previous, grey) > _CHANGE).astype(np.uint8), _KERNEL) > 0
    moving = np.asarray((np.hypot(fx, fy) > min_speed) & changed, np.bool_)
    border = _BORDER_PX
    moving[:border], moving[-border:], moving[:, :border], moving[:, -border:] = False, False, False, False
    if not moving.any():
        return _Movers(), moving
    where = np.flatnonzero(moving)  # only the moving pixels are labelled and summed: a few hundred of 14 400
    mx, my = fx.ravel()[where], fy.ravel()[where]
    flat_sectors = np.full(moving.size, _SECTORS, np.uint8)  # _SECTORS: not moving
    flat_sectors[where] = np.rint(np.arctan2(my, mx) * (_SECTORS / (2 * math.pi))).astype(np.int64) % _SECTORS
    sectors = flat_sectors.reshape(moving.shape)
    labels = np.zeros(moving.shape, np.int32)
    boxes = [np.zeros((1, 4), np.int32)]  # label 0: not moving
    count = 1
    for index in range(_SECTORS):
        mask = (sectors == index).astype(np.uint8)
        found, part, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_32S)
        if found > 1:
            inside = part > 0
            labels[inside] = part[inside] + (count - 1)
            boxes.append(np.asarray(stats[1:, :4], np.int32))
            count += found - 1
    label = labels.ravel()[where]
    area = np.bincount(label, minlength=count).astype(np.float64)
    sums = [np.bincount(label, weights=v, minlength=count) for v in (where % width, where // width, mx, my)]
    keep = area >= _MIN_BLOB_PX
    keep[0] = False
    safe = np.maximum(area, 1.0)[:, None]
    centres = np.stack([sums[0], sums[1]], axis=1) / safe
    velocities = np.stack([sums[2], sums[3]], axis=1) / safe
    return _Movers(centres[keep], velocities[keep], area[keep], np.concatenate(boxes)[keep]), moving


@dataclass(frozen=True, slots=True)
class _Maps:
    """Per candidate centre: radial flux (all movers, new movers), weighted direction sum, total weight; and per
    (centre, mover) the cos of the direction away from the centre and the Gaussian weight."""

    flux: FloatArray
    new_flux: FloatArray
    direction: FloatArray
    total: FloatArray
    cos: FloatArray
    kernel: FloatArray


def _maps(movers: _Movers, new: BoolArray, grid: FloatArray, radius: float, picture: int) -> _Maps:
    cells = len(grid)
    if len(movers.areas) == 0:
        empty = np.zeros(cells)
        return _Maps(empty, empty, np.zeros((cells, 2)), empty, np.zeros((cells, 0)), np.zeros((cells, 0)))
    speed = np.linalg.norm(movers.velocities, axis=1) + 1e-12
    direction = movers.velocities / speed[:, None]
    weight = movers.areas * speed / picture
    offset = movers.centres[None, :, :] - grid[:, None, :]
    distance = np.linalg.norm(offset, axis=2) + 1e-9
    cos = np.sum(offset * direction[None, :, :], axis=2) / distance
    kernel = np.exp(-0.5 * (distance / radius) ** 2)
    weighted = kernel * weight
    radial = weighted * cos
    return _Maps(
        radial.sum(axis=1), radial[:, new].sum(axis=1), weighted @ direction, weighted.sum(axis=1), cos, kernel
    )


def _region(movers: _Movers, cos: FloatArray, kernel: FloatArray, flux: float, size: tuple[int, int]) -> Box | None:
    """Box around this frame's movers that go the accumulated way (away from or towards the centre)."""
    chosen = (math.copysign(1.0, flux) * cos >= _RADIAL_COS) & (kernel >= _IN_WINDOW)
    if not chosen.any():
        return None
    boxes = movers.boxes[chosen]
    x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
    x1, y1 = (boxes[:, 0] + boxes[:, 2]).max(), (boxes[:, 1] + boxes[:, 3]).max()
    return _clip_box((float(x0), float(y0), float(x1), float(y1)), size)


def _clip_box(corners: tuple[float, float, float, float], size: tuple[int, int]) -> Box:
    """Pixel corners ``x0, y0, x1, y1`` of the flow picture as a normalised box inside it."""
    width, height = size
    x0, y0 = max(0.0, corners[0]) / width, max(0.0, corners[1]) / height
    x1, y1 = min(float(width), corners[2]) / width, min(float(height), corners[3]) / height
    return Box(x0, y0, x1 - x0, y1 - y0)
