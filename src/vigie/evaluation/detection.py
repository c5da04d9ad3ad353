"""Detection metrics for persons: precision and recall at the detector's operating point, and AP at IoU 0.5.

Matching is the PASCAL VOC one: detections in decreasing score order, each takes the unmatched ground-truth box it
overlaps most if IoU ≥ 0.5; a detection on an ignore region is skipped. AP is the area under the interpolated
(monotone) precision–recall curve, all points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from vigie.analytics.track.matching import box_iou
from vigie.domain.detections import Detections
from vigie.evaluation.mot import MATCH_IOU, drop_ignored
from vigie.evaluation.sequence import FrameTruth


@dataclass(frozen=True, slots=True)
class DetectionScores:
    precision: float
    recall: float
    ap50: float
    true_positives: int
    false_positives: int
    ground_truth: int
    frames: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def evaluate_detection(
    truth: Mapping[int, FrameTruth], detections: Mapping[int, Detections], frames: Sequence[int]
) -> DetectionScores:
    """Score person detections (all of them: filter classes before calling) against ground truth."""
    scores: list[float] = []
    hits: list[bool] = []
    n_gt = 0
    for frame in frames:
        gt = truth.get(frame, FrameTruth())
        dets = drop_ignored(gt, detections.get(frame, Detections()))
        n_gt += len(gt.boxes)
        order = np.argsort(-dets.scores, kind="stable")
        iou = box_iou(dets.boxes[order], gt.boxes)
        taken = np.zeros(len(gt.boxes), bool)
        for k, det_index in enumerate(order):
            hit = False
            if iou.shape[1]:
                candidates = np.where(taken, -1.0, iou[k])
                best = int(candidates.argmax())
                if candidates[best] >= MATCH_IOU:
                    taken[best] = True
                    hit = True
            scores.append(float(dets.scores[det_index]))
            hits.append(hit)
    tp = int(sum(hits))
    fp = len(hits) - tp
    return DetectionScores(
        precision=tp / len(hits) if hits else 0.0,
        recall=tp / n_gt if n_gt else 0.0,
        ap50=average_precision(np.array(scores), np.array(hits, bool), n_gt),
        true_positives=tp,
        false_positives=fp,
        ground_truth=n_gt,
        frames=len(frames),
    )


def average_precision(scores: np.ndarray, hits: np.ndarray, n_gt: int) -> float:
    """All-point interpolated AP from per-detection scores and hit flags."""
    if n_gt == 0 or len(scores) == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(hits[order])
    fp = np.cumsum(~hits[order])
    recall = np.concatenate([[0.0], tp / n_gt, [1.0]])
    precision = np.concatenate([[0.0], tp / np.maximum(tp + fp, 1), [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum((recall[1:] - recall[:-1]) * precision[1:]))
