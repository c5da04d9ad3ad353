"""Tracking metrics: MOTA and IDF1 (py-motmetrics, the reference CLEAR-MOT/identity code) and HOTA.

HOTA follows Luiten et al., "HOTA: A Higher Order Metric for Evaluating Multi-Object Tracking" (IJCV 2020), as
implemented in TrackEval: per frame, a Hungarian matching that maximises IoU weighted by the global alignment of
each (gt id, track id) pair; then, for each α in 0.05, 0.10, …, 0.95, DetA = TP/(TP+FN+FP),
AssA = mean over TPs of TPA/(TPA+FNA+FPA), HOTA_α = √(DetA·AssA); HOTA is the mean over α.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import motmetrics as mm  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]

from vigie.analytics.track.bytetrack import ByteTracker
from vigie.analytics.track.matching import box_iou
from vigie.domain.detections import Detections
from vigie.evaluation.sequence import FrameTruth

ALPHAS = np.arange(0.05, 0.99, 0.05)
MATCH_IOU = 0.5
"""CLEAR-MOT and IDF1 count a match at IoU ≥ 0.5 (MOTChallenge)."""


@dataclass(frozen=True, slots=True)
class TrackingScores:
    mota: float
    idf1: float
    hota: float
    deta: float
    assa: float
    motp_iou: float
    """Mean IoU of CLEAR-MOT matches."""
    precision: float
    recall: float
    id_switches: int
    false_positives: int
    misses: int
    ground_truth: int
    frames: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def drop_ignored(truth: FrameTruth, hypotheses: Detections, min_iou: float = MATCH_IOU) -> Detections:
    """Remove hypotheses lying on ignore regions (distractors) rather than on a counted person."""
    if len(truth.ignore) == 0 or len(hypotheses) == 0:
        return hypotheses
    on_ignore = box_iou(hypotheses.boxes, truth.ignore).max(1)
    on_person = box_iou(hypotheses.boxes, truth.boxes).max(1) if len(truth.boxes) else np.zeros(len(hypotheses))
    return hypotheses[~((on_ignore >= min_iou) & (on_ignore > on_person))]


def evaluate_tracking(
    truth: Mapping[int, FrameTruth], hypotheses: Mapping[int, Detections], frames: Sequence[int]
) -> TrackingScores:
    """Score tracked detections (``track_ids`` ≥ 0) against ground truth over ``frames``."""
    accumulator = mm.MOTAccumulator(auto_id=True)
    pairs: list[tuple[FrameTruth, Detections]] = []
    for frame in frames:
        gt = truth.get(frame, FrameTruth())
        hyp = hypotheses.get(frame, Detections())
        hyp = drop_ignored(gt, hyp[hyp.track_ids >= 0])
        pairs.append((gt, hyp))
        distance = 1.0 - box_iou(gt.boxes, hyp.boxes)
        distance[distance > 1.0 - MATCH_IOU] = np.nan
        accumulator.update(gt.ids.tolist(), hyp.track_ids.tolist(), distance)
    summary = mm.metrics.create().compute(
        accumulator,
        metrics=[
            "mota",
            "idf1",
            "motp",
            "precision",
            "recall",
            "num_switches",
            "num_false_positives",
            "num_misses",
            "num_objects",
        ],
        name="seq",
    )
    row = summary.loc["seq"]
    hota, deta, assa = hota_score(pairs)
    motp = float(row["motp"])
    return TrackingScores(
        mota=_finite(row["mota"]),
        idf1=_finite(row["idf1"]),
        hota=hota,
        deta=deta,
        assa=assa,
        motp_iou=0.0 if np.isnan(motp) else 1.0 - motp,
        precision=_finite(row["precision"]),
        recall=_finite(row["recall"]),
        id_switches=int(row["num_switches"]),
        false_positives=int(row["num_false_positives"]),
        misses=int(row["num_misses"]),
        ground_truth=int(row["num_objects"]),
        frames=len(frames),
    )


def hota_score(pairs: Sequence[tuple[FrameTruth, Detections]]) -> tuple[float, float, float]:
    """(HOTA, DetA, AssA), each averaged over α; ``pairs`` is (truth, tracked hypotheses) per frame."""
    gt_index = _index({int(i) for gt, _ in pairs for i in gt.ids})
    tr_index = _index({int(i) for _, hyp in pairs for i in hyp.track_ids})
    n_gt, n_tr = len(gt_index), len(tr_index)
    gt_dets = sum(len(gt.ids) for gt, _ in pairs)
    tr_dets = sum(len(hyp) for _, hyp in pairs)
    if gt_dets == 0 or tr_dets == 0:
        return (1.0, 1.0, 1.0) if gt_dets == tr_dets else (0.0, 0.0, 0.0)
    frames = [
        (
            np.array([gt_index[int(i)] for i in gt.ids], np.intp),
            np.array([tr_index[int(i)] for i in hyp.track_ids], np.intp),
            box_iou(gt.boxes, hyp.boxes),
        )
        for gt, hyp in pairs
    ]
    alignment = _global_alignment(frames, n_gt, n_tr)
    tp = np.zeros(len(ALPHAS))
    matches = np.zeros((len(ALPHAS), n_gt, n_tr))
    for g, t, sim in frames:
        if len(g) == 0 or len(t) == 0:
            continue
        score = alignment[g[:, None], t[None, :]] * sim
        rows, cols = linear_sum_assignment(-score)
        for a, alpha in enumerate(ALPHAS):
            ok = sim[rows, cols] >= alpha - np.finfo(float).eps
            tp[a] += ok.sum()
            np.add.at(matches[a], (g[rows[ok]], t[cols[ok]]), 1)
    gt_count = np.zeros(n_gt)
    tr_count = np.zeros(n_tr)
    for g, t, _ in frames:
        np.add.at(gt_count, g, 1)
        np.add.at(tr_count, t, 1)
    deta = tp / (gt_dets + tr_dets - tp)
    assa = np.zeros(len(ALPHAS))
    for a in range(len(ALPHAS)):
        denom = gt_count[:, None] + tr_count[None, :] - matches[a]
        ass = np.divide(matches[a], denom, out=np.zeros_like(denom), where=denom > 0)
        assa[a] = (matches[a] * ass).sum() / max(tp[a], 1.0)
    hota = np.sqrt(deta * assa)
    return float(hota.mean()), float(deta.mean()), float(assa.mean())


def _global_alignment(
    frames: Sequence[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float64]]], n_gt: int, n_tr: int
) -> npt.NDArray[np.float64]:
    potential = np.zeros((n_gt, n_tr))
    gt_count = np.zeros(n_gt)
    tr_count = np.zeros(n_tr)
    for g, t, sim in frames:
        np.add.at(gt_count, g, 1)
        np.add.at(tr_count, t, 1)
        if len(g) == 0 or len(t) == 0:
            continue
        denom = sim.sum(0)[None, :] + sim.sum(1)[:, None] - sim
        sim_iou = np.divide(sim, denom, out=np.zeros_like(sim), where=denom > np.finfo(float).eps)
        np.add.at(potential, (g[:, None].repeat(len(t), 1), t[None, :].repeat(len(g), 0)), sim_iou)
    result: npt.NDArray[np.float64] = potential / (gt_count[:, None] + tr_count[None, :] - potential)
    return result


def _index(ids: set[int]) -> dict[int, int]:
    return {track_id: k for k, track_id in enumerate(sorted(ids))}


def _finite(value: object) -> float:
    number = float(value)  # type: ignore[arg-type]
    return 0.0 if np.isnan(number) else number


def track_sequence(
    detections: Mapping[int, Detections], frames: Sequence[int], period: float, tracker: ByteTracker
) -> dict[int, Detections]:
    """Run ``tracker`` over per-frame detections; frames absent from ``detections`` are empty."""
    return {frame: tracker.update(detections.get(frame, Detections()), period) for frame in frames}


def normalise_scores(detections: Mapping[int, Detections]) -> dict[int, Detections]:
    """Map raw scores of any scale (MOT15 public detections range 0–133) to [0, 1] by rank.

    A score becomes the fraction of the sequence's detections scoring at most as much, so the tracker's
    thresholds mean "the top half", "the bottom tenth"… whatever scale the file's detector used.
    """
    all_scores = np.sort(np.concatenate([d.scores for d in detections.values()] or [np.zeros(0, np.float32)]))
    if len(all_scores) == 0 or all_scores[-1] <= 1.0:
        return dict(detections)
    out = {}
    for frame, dets in detections.items():
        ranks = np.searchsorted(all_scores, dets.scores, side="right") / len(all_scores)
        out[frame] = Detections.create(dets.boxes, ranks, dets.class_ids, dets.track_ids)
    return out
