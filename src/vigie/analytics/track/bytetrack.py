"""ByteTrack-style multi-object tracker: Kalman prediction, two-stage IoU association, per-class matching.

Zhang et al., "ByteTrack: Multi-Object Tracking by Associating Every Detection Box" (ECCV 2022). The idea kept:
low-score detections are not thrown away but matched, in a second stage, to tracks the high-score ones left
unmatched, which carries people through partial occlusion. What differs from the reference code:

- ``update(detections, period)`` takes the seconds since the last call; prediction scales with it, so a camera
  analysed at 5 fps, or a pipeline that dropped frames under load, keeps its tracks (norfair's contract).
- Ages are in seconds, not frames; tracks match only detections of their own class.
- Everything is bounded: at most ``max_tracks`` tracks, lost tracks removed after ``max_age`` seconds; the id
  counter belongs to the instance (one tracker per camera, no shared state).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vigie.analytics.track import kalman
from vigie.analytics.track.matching import assign, box_iou
from vigie.domain.detections import Detections

Array = kalman.Array


@dataclass(frozen=True, slots=True)
class ByteTrackerConfig:
    """Tuning of the tracker. Scores are a detector's confidences in [0, 1]."""

    high_score: float = 0.5
    """Detections at or above this score are matched first and may start tracks."""
    low_score: float = 0.1
    """Detections below this are ignored; between ``low_score`` and ``high_score`` they only extend tracks."""
    new_track_score: float = 0.6
    """A new track needs an unmatched detection at least this confident."""
    match_iou: float = 0.2
    """Minimum IoU between a predicted track box and a high-score detection (first stage)."""
    low_match_iou: float = 0.5
    """Minimum IoU for the second stage (low-score detections to the remaining tracks)."""
    tentative_match_iou: float = 0.3
    """Minimum IoU between a tentative track and a high-score detection."""
    min_hits: int = 2
    """Matches needed before a track is confirmed and reported."""
    max_age: float = 1.5
    """Seconds a lost track is kept (and can be recovered) before it is removed."""
    max_tracks: int = 256
    """Hard bound on the tracks held, whatever the detector sends."""
    max_period: float = 2.0
    """A longer gap (stream cut) is treated as this long: prediction beyond it is meaningless."""
    buffer: float = 0.5
    """Second-chance matching with buffered IoU (C-BIoU, Yang et al. WACV 2023): boxes grown by this fraction of
    their size on each side. Used for tentative tracks (no velocity yet) and for confirmed tracks the plain IoU
    stage left over, so that a small object moving more than its own width between analysed frames (a pedestrian
    at 5 fps) keeps its id. 0 disables it."""
    noise: kalman.KalmanNoise = field(default_factory=kalman.KalmanNoise)

    def __post_init__(self) -> None:
        if not 0 <= self.low_score <= self.high_score <= 1:
            raise ValueError("scores must satisfy 0 ≤ low_score ≤ high_score ≤ 1")
        if self.min_hits < 1 or self.max_tracks < 1 or self.max_age <= 0:
            raise ValueError("min_hits and max_tracks must be ≥ 1 and max_age > 0")


@dataclass(slots=True)
class _Track:
    track_id: int
    class_id: int
    mean: Array
    cov: Array
    hits: int = 1
    confirmed: bool = False
    lost_for: float = 0.0
    """Seconds since the last match (0 while tracked)."""


class ByteTracker:
    """Identities for the detections of one camera. Not thread-safe; one instance per camera."""

    def __init__(self, config: ByteTrackerConfig | None = None) -> None:
        self.config = config or ByteTrackerConfig()
        self._tracks: list[_Track] = []
        self._next_id = 1

    def reset(self) -> None:
        """Forget every track (ids keep increasing, so an old id never comes back for a new object)."""
        self._tracks = []

    @property
    def track_count(self) -> int:
        """Tracks held (tentative, tracked and lost)."""
        return len(self._tracks)

    def update(self, detections: Detections, period: float) -> Detections:
        """Advance by ``period`` seconds and associate this frame's detections.

        Returns the detections that belong to confirmed tracks, with their ``track_ids`` set (in input order);
        other detections (low-score leftovers, tentative tracks) are not returned.
        """
        if period < 0:
            raise ValueError(f"period must be ≥ 0 seconds, got {period}")
        cfg = self.config
        dt = min(period, cfg.max_period)
        self._predict(dt)
        scores = detections.scores
        high = np.flatnonzero(scores >= cfg.high_score)
        low = np.flatnonzero((scores >= cfg.low_score) & (scores < cfg.high_score))
        assigned = np.full(len(detections), -1, np.int64)  # detection → track index

        confirmed = [i for i, t in enumerate(self._tracks) if t.confirmed]
        rest_high = self._associate(detections, high, confirmed, cfg.match_iou, assigned)
        taken = set(assigned.tolist())
        tracked_left = [i for i in confirmed if i not in taken and self._tracks[i].lost_for == 0]
        self._associate(detections, low, tracked_left, cfg.low_match_iou, assigned)
        if cfg.buffer > 0:
            taken = set(assigned.tolist())
            confirmed_left = [i for i in confirmed if i not in taken]
            rest_high = self._associate(
                detections, rest_high, confirmed_left, cfg.match_iou, assigned, buffer=cfg.buffer
            )
        tentative = [i for i, t in enumerate(self._tracks) if not t.confirmed]
        rest_high = self._associate(
            detections, rest_high, tentative, cfg.tentative_match_iou, assigned, buffer=cfg.buffer
        )

        matched_tracks = set(assigned[assigned >= 0].tolist())
        self._correct(np.flatnonzero(assigned >= 0), assigned, detections)
        for i, track in enumerate(self._tracks):
            if i not in matched_tracks:
                track.lost_for += dt
        out_ids = np.full(len(detections), -1, np.int32)
        for det_index in np.flatnonzero(assigned >= 0):
            track = self._tracks[assigned[det_index]]
            if track.confirmed:
                out_ids[det_index] = track.track_id
        self._remove_stale(matched_tracks)
        self._start_tracks(detections, rest_high[scores[rest_high] >= cfg.new_track_score], out_ids)
        self._enforce_bound()
        keep = out_ids >= 0
        return detections[keep].with_track_ids(out_ids[keep])

    def _predict(self, dt: float) -> None:
        if not self._tracks:
            return
        means = np.stack([t.mean for t in self._tracks])
        covs = np.stack([t.cov for t in self._tracks])
        lost = np.fromiter((t.lost_for > 0 for t in self._tracks), np.bool_, len(self._tracks))
        means[lost, 7] = 0.0  # a lost box keeps its size, as in ByteTrack
        means, covs = kalman.predict(means, covs, dt, self.config.noise)
        for i, t in enumerate(self._tracks):
            t.mean, t.cov = means[i], covs[i]

    def _associate(
        self,
        detections: Detections,
        det_indices: np.ndarray,
        track_indices: list[int],
        min_iou: float,
        assigned: np.ndarray,
        *,
        buffer: float = 0.0,
    ) -> np.ndarray:
        """Match ``det_indices`` to ``track_indices`` of the same class; return the detections left over."""
        if len(det_indices) == 0 or not track_indices:
            return det_indices
        track_boxes = kalman.states_to_boxes(np.stack([self._tracks[i].mean for i in track_indices]))
        det_boxes = detections.boxes[det_indices]
        if buffer > 0:
            det_boxes, track_boxes = _grown(det_boxes, buffer), _grown(track_boxes, buffer)
        iou = box_iou(det_boxes, track_boxes)
        track_classes = np.array([self._tracks[i].class_id for i in track_indices])
        iou[detections.class_ids[det_indices][:, None] != track_classes[None, :]] = 0.0
        rows, cols = assign(iou, max(min_iou, 1e-6))
        for r, c in zip(rows, cols, strict=True):
            assigned[det_indices[r]] = track_indices[c]
        left = np.ones(len(det_indices), bool)
        left[rows] = False
        return det_indices[left]

    def _correct(self, det_indices: np.ndarray, assigned: np.ndarray, detections: Detections) -> None:
        """Kalman-correct every matched track with its detection, in one batched update."""
        if len(det_indices) == 0:
            return
        tracks = [self._tracks[assigned[d]] for d in det_indices]
        measurements = kalman.boxes_to_measurements(detections.boxes[det_indices])
        means, covs = kalman.update(
            np.stack([t.mean for t in tracks]), np.stack([t.cov for t in tracks]), measurements, self.config.noise
        )
        for k, track in enumerate(tracks):
            track.mean, track.cov = means[k], covs[k]
            track.hits += 1
            track.lost_for = 0.0
            if track.hits >= self.config.min_hits:
                track.confirmed = True

    def _remove_stale(self, matched: set[int]) -> None:
        """Unmatched tentative tracks die at once; lost confirmed tracks after ``max_age`` seconds."""
        self._tracks = [
            t for i, t in enumerate(self._tracks) if i in matched or (t.confirmed and t.lost_for <= self.config.max_age)
        ]

    def _start_tracks(self, detections: Detections, det_indices: np.ndarray, out_ids: np.ndarray) -> None:
        if len(det_indices) == 0:
            return
        means, covs = kalman.initiate(kalman.boxes_to_measurements(detections.boxes[det_indices]), self.config.noise)
        for k, det_index in enumerate(det_indices):
            track = _Track(self._next_id, int(detections.class_ids[det_index]), means[k], covs[k])
            self._next_id += 1
            if self.config.min_hits <= 1:
                track.confirmed = True
                out_ids[det_index] = track.track_id
            self._tracks.append(track)

    def _enforce_bound(self) -> None:
        """Over ``max_tracks``: drop the longest-lost, then the least-confirmed tracks first."""
        excess = len(self._tracks) - self.config.max_tracks
        if excess <= 0:
            return
        order = sorted(self._tracks, key=lambda t: (t.lost_for, not t.confirmed, -t.hits), reverse=True)
        dropped = {id(t) for t in order[:excess]}
        self._tracks = [t for t in self._tracks if id(t) not in dropped]


def _grown(boxes: np.ndarray, buffer: float) -> np.ndarray:
    """Boxes grown by ``buffer`` × their width/height on each side (buffered IoU)."""
    b = np.asarray(boxes, np.float64)
    dw = (b[:, 2] - b[:, 0]) * buffer
    dh = (b[:, 3] - b[:, 1]) * buffer
    return np.stack([b[:, 0] - dw, b[:, 1] - dh, b[:, 2] + dw, b[:, 3] + dh], 1)
