"""``crowd_movement`` (décret 2023-828): a sudden collective movement — people scattering from, or rushing
towards, one place — from dense optical flow, compared with what is usual for this camera.

Each analysed frame: Farnebäck optical flow (OpenCV) against the previous frame, on a small grey picture
(``process_width``). Pixels moving faster than ``min_speed`` (image widths per second) are "moving"; of those, the
radial coherence is the mean of the unit flow projected on the unit vector from the centroid of the moving
pixels: +1 everyone scattering, −1 everyone converging, ≈ 0 for a flow of people or cars going one way
(which is a street, not a crowd movement). Coherence is computed over moving blobs (each person or group counts
once), needs at least ``min_movers`` of them (two people walking towards each other are not a crowd), and is
ignored when the blobs mostly go one common way (``max_alignment``). The signal is
``moving fraction × |coherence|``.

A hit needs the signal above both ``min_signal`` and the camera's usual level (running mean + ``k_sigma``
standard deviations, learnt with a time constant of ``baseline_s``) for ``min_duration_s``. Nothing is reported
during the first ``warmup_s`` (no baseline yet), and the module re-arms after ``rearm_s`` of calm.
"""

from __future__ import annotations

import math
from typing import ClassVar

import cv2
import numpy as np
from pydantic import Field

from vigie.analytics.rules.base import RuleConfig, RuleHit, RuleInput
from vigie.domain.geometry import Box
from vigie.domain.ports import Frame


class CrowdMovementConfig(RuleConfig):
    process_width: int = Field(
        default=160,
        ge=64,
        le=640,
        title="Flow width",
        description="Pixels wide of the picture the optical flow is computed on.",
    )
    min_speed: float = Field(
        default=0.03,
        gt=0.0,
        le=2.0,
        title="Speed",
        description="Image widths per second above which a pixel is moving.",
    )
    min_signal: float = Field(
        default=0.02,
        gt=0.0,
        le=1.0,
        title="Signal",
        description="Least moving fraction × coherence that can be a crowd movement.",
    )
    min_movers: int = Field(
        default=4,
        ge=2,
        le=1000,
        title="Movers",
        description="Least number of separate "
        "moving blobs: two people walking towards each other are not a crowd converging.",
    )
    min_coherence: float = Field(
        default=0.35,
        gt=0.0,
        le=1.0,
        title="Coherence",
        description="Least radial coherence (0 = no common centre, 1 = all radial).",
    )
    max_alignment: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        title="Alignment",
        description="Above this, the "
        "movers go one common way (length of their mean unit direction): a flow, not a crowd movement.",
    )
    k_sigma: float = Field(
        default=4.0,
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


class CrowdMovement:
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
        self._mean = 0.0
        self._var = 0.0
        self._above_since: float | None = None
        self._calm_since: float | None = None
        self._fired = False
        self.last_signal = 0.0
        self.last_coherence = 0.0
        self.last_alignment = 0.0

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
            return []
        flow = np.asarray(cv2.calcOpticalFlowFarneback(previous, grey, None, 0.5, 2, 9, 2, 5, 1.1, 0), np.float32)  # type: ignore[call-overload]
        speed = np.hypot(flow[..., 0], flow[..., 1]) / dt / grey.shape[1]
        moving = speed > cfg.min_speed
        fraction = float(moving.mean())
        signal, coherence, region = 0.0, 0.0, None
        movers = _movers(moving, flow)
        if len(movers) >= cfg.min_movers:
            centres = np.array([m[0] for m in movers])
            flows = np.array([m[1] for m in movers])
            outward = centres - centres.mean(axis=0)
            norms = np.linalg.norm(outward, axis=1) * np.linalg.norm(flows, axis=1) + 1e-6
            # Each moving blob (a person, a group) counts once, whatever its size on screen.
            coherence = float(np.mean(np.sum(outward * flows, axis=1) / norms))
            units = flows / (np.linalg.norm(flows, axis=1, keepdims=True) + 1e-6)
            self.last_alignment = float(np.linalg.norm(units.mean(axis=0)))
            # A stream of people or cars all going one way is a street, not a crowd scattering or converging.
            signal = fraction * abs(coherence) if self.last_alignment <= cfg.max_alignment else 0.0
            ys, xs = np.nonzero(moving)
            h, w = grey.shape
            region = Box(xs.min() / w, ys.min() / h, (xs.max() - xs.min() + 1) / w, (ys.max() - ys.min() + 1) / h)
        self.last_signal, self.last_coherence = signal, coherence
        usual = self._mean + cfg.k_sigma * math.sqrt(self._var)
        unusual = signal >= cfg.min_signal and abs(coherence) >= cfg.min_coherence and signal > usual
        warm = data.at - self._started >= cfg.warmup_s
        hits = []
        if unusual and warm:
            self._calm_since = None
            self._above_since = data.at if self._above_since is None else self._above_since
            if not self._fired and data.at - self._above_since >= cfg.min_duration_s and region is not None:
                self._fired = True
                hits.append(RuleHit(self.kind, region, round(min(1.0, signal / (2 * cfg.min_signal)), 3)))
        else:
            self._above_since = None
            self._calm_since = data.at if self._calm_since is None else self._calm_since
            if data.at - self._calm_since >= cfg.rearm_s:
                self._fired = False
        if not unusual:  # learn the usual level from ordinary frames only
            alpha = min(1.0, dt / cfg.baseline_s) if warm else min(1.0, dt / max(1.0, cfg.warmup_s))
            delta = signal - self._mean
            self._mean += alpha * delta
            self._var = (1 - alpha) * (self._var + alpha * delta * delta)
        return hits


def _movers(moving: np.ndarray, flow: np.ndarray) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """(centre, mean flow) of each connected blob of moving pixels bigger than a few pixels."""
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(moving.astype(np.uint8), connectivity=8)
    out = []
    for label in range(1, count):
        if stats[label, cv2.CC_STAT_AREA] < _MIN_BLOB_PX:
            continue
        mask = labels == label
        out.append(
            (
                (float(centroids[label][0]), float(centroids[label][1])),
                (float(flow[..., 0][mask].mean()), float(flow[..., 1][mask].mean())),
            )
        )
    return out


_MIN_BLOB_PX = 4
