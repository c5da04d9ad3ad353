"""Tracking and detection metrics on tiny sequences whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from vigie.domain.detections import Detections
from vigie.evaluation.detection import evaluate_detection
from vigie.evaluation.mot import evaluate_tracking
from vigie.evaluation.sequence import FrameTruth

FRAMES = list(range(1, 11))


def _boxes(k: int) -> np.ndarray:
    return np.array([[10.0 + k, 10, 50 + k, 110], [200.0 - k, 10, 240 - k, 110]])


def _truth() -> dict[int, FrameTruth]:
    return {f: FrameTruth(np.array([1, 2]), _boxes(f)) for f in FRAMES}


def _tracks(ids: dict[int, list[int]] | None = None) -> dict[int, Detections]:
    return {f: Detections.create(_boxes(f), [0.9, 0.9], [0, 0], (ids or {}).get(f, [7, 8])) for f in FRAMES}


def test_perfect_tracking_scores_one() -> None:
    scores = evaluate_tracking(_truth(), _tracks(), FRAMES)
    assert scores.mota == pytest.approx(1.0)
    assert scores.idf1 == pytest.approx(1.0)
    assert scores.hota == pytest.approx(1.0)
    assert scores.id_switches == 0


def test_one_id_switch_costs_what_it_should() -> None:
    # Object 1 is followed by track 7 for frames 1–5 and by a new track 9 for frames 6–10.
    scores = evaluate_tracking(_truth(), _tracks({f: [9, 8] for f in FRAMES[5:]}), FRAMES)
    assert scores.id_switches == 1
    assert scores.mota == pytest.approx(1 - 1 / 20)
    assert scores.idf1 == pytest.approx(15 / 20)  # IDTP 15 of 20 gt and 20 hypotheses
    # DetA = 1; AssA = (10·1 + 5·0.5 + 5·0.5) / 20 = 0.75; HOTA = √0.75.
    assert scores.deta == pytest.approx(1.0)
    assert scores.assa == pytest.approx(0.75)
    assert scores.hota == pytest.approx(np.sqrt(0.75))


def test_missed_detections_lower_recall_and_mota() -> None:
    tracks = _tracks()
    for f in FRAMES[:5]:
        tracks[f] = tracks[f][np.array([False, True])]  # object 1 missed in the first half
    scores = evaluate_tracking(_truth(), tracks, FRAMES)
    assert scores.recall == pytest.approx(15 / 20)
    assert scores.mota == pytest.approx(15 / 20)
    assert scores.precision == pytest.approx(1.0)
    assert scores.hota < 1.0


def test_detection_precision_recall_and_ap() -> None:
    truth = _truth()
    dets = {}
    for f in FRAMES:
        boxes = np.vstack([_boxes(f)[:1], [[400, 400, 440, 500]]])  # one true box, one false positive
        dets[f] = Detections.create(boxes, [0.9, 0.1], [0, 0])
    scores = evaluate_detection(truth, dets, FRAMES)
    assert scores.recall == pytest.approx(0.5)
    assert scores.precision == pytest.approx(0.5)
    assert scores.ap50 == pytest.approx(0.5)  # precision 1 up to recall 0.5, never beyond


def test_detections_on_ignore_regions_are_not_false_positives() -> None:
    truth = {1: FrameTruth(np.array([1]), _boxes(1)[:1], np.array([[400.0, 400, 440, 500]]))}
    dets = {1: Detections.create([_boxes(1)[0], [400, 400, 440, 500]], [0.9, 0.8], [0, 0], [1, 2])}
    assert evaluate_detection(truth, dets, [1]).false_positives == 0
    assert evaluate_tracking(truth, dets, [1]).false_positives == 0
