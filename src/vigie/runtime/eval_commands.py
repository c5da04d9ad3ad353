"""``vigie eval mot`` and ``vigie eval detect``: score the detector + tracker on a MOTChallenge-format folder."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vigie.analytics.detect.motion import MotionDetector
from vigie.analytics.track import ByteTracker
from vigie.domain.detections import Detections, ObjectClass
from vigie.evaluation.detection import evaluate_detection
from vigie.evaluation.mot import evaluate_tracking, normalise_scores, track_sequence
from vigie.evaluation.report import files_json, format_files, format_table, write_json
from vigie.evaluation.sequence import MotSequence, SequenceError, read_sequence

DETECTORS = ("public", "motion", "onnx")
PUBLIC_DETECTIONS = "public det.txt"


class EvalUsageError(ValueError):
    """Arguments that do not name a usable detector."""


def eval_mot_command(
    seq_dir: Path,
    *,
    detector: str | None,
    model: Path | None,
    model_format: str | None,
    json_out: Path | None,
) -> int:
    """Detect (public det.txt, motion or ONNX), track with ByteTracker, print MOTA/IDF1/HOTA; 0 on success."""
    try:
        sequence = read_sequence(seq_dir)
        source, detections = _detections(sequence, detector, model, model_format)
        truth = sequence.ground_truth()
        tracked = track_sequence(normalise_scores(detections), sequence.frames, sequence.period, ByteTracker())
        scores = evaluate_tracking(truth, tracked, sequence.frames)
        files = sequence.source_files(with_detections=source == PUBLIC_DETECTIONS)
    except (SequenceError, EvalUsageError, FileNotFoundError) as err:
        print(f"vigie eval mot: {err}", file=sys.stderr)
        return 2
    values = scores.as_dict()
    print(format_table(f"{sequence.info.name} — tracking ({source}, persons)", values))
    print(format_files(files, sequence.info))
    if json_out is not None:
        report = {"sequence": sequence.info.name, "detections": source, "metrics": values}
        write_json(json_out, report | files_json(files, sequence.info))
    return 0


def eval_detect_command(seq_dir: Path, *, model: Path | None, model_format: str | None, json_out: Path | None) -> int:
    """Person precision, recall and AP@0.5 of an ONNX model (or of det/det.txt when no model is given)."""
    try:
        sequence = read_sequence(seq_dir)
        source, detections = _detections(sequence, "onnx" if model else None, model, model_format)
        scores = evaluate_detection(sequence.ground_truth(), detections, sequence.frames)
        files = sequence.source_files(with_detections=source == PUBLIC_DETECTIONS)
    except (SequenceError, EvalUsageError, FileNotFoundError) as err:
        print(f"vigie eval detect: {err}", file=sys.stderr)
        return 2
    values = scores.as_dict()
    print(format_table(f"{sequence.info.name} — detection ({source}, persons)", values))
    print(format_files(files, sequence.info))
    if json_out is not None:
        report = {"sequence": sequence.info.name, "detections": source, "metrics": values}
        write_json(json_out, report | files_json(files, sequence.info))
    return 0


def _detections(
    sequence: MotSequence, detector: str | None, model: Path | None, model_format: str | None
) -> tuple[str, dict[int, Detections]]:
    """Choose the detection source: an ONNX model when given, else det.txt when present, else motion."""
    if detector is not None and detector not in DETECTORS:
        raise EvalUsageError(f"unknown detector {detector!r}; choose one of {', '.join(DETECTORS)}")
    if model is not None or detector == "onnx":
        if model is None or model_format is None:
            raise EvalUsageError("an ONNX detector needs --model PATH and --format (yolox, gfl, fastestdet, yolov8)")
        if not model.is_file():
            raise FileNotFoundError(f"model file {model} does not exist")
        return f"onnx:{model.name}", _run_detector(sequence, _onnx_detect(model, model_format))
    if detector == "public" or (detector is None and sequence.has_public_detections):
        return PUBLIC_DETECTIONS, sequence.public_detections()
    return "motion", _run_detector(sequence, _motion_detect(sequence))


def _run_detector(sequence: MotSequence, detect: Callable[[np.ndarray], Detections]) -> dict[int, Detections]:
    out: dict[int, Detections] = {}
    for frame, image in sequence.read_images():
        found = detect(image)
        out[frame] = found[found.class_ids == ObjectClass.PERSON]
    return out


def _onnx_detect(model: Path, model_format: str) -> Callable[[np.ndarray], Detections]:
    from pydantic import ValidationError

    from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig  # heavy (onnxruntime): load lazily

    try:
        config = OnnxDetectorConfig.model_validate({"model_path": model, "format": model_format})
    except ValidationError as err:
        raise EvalUsageError(f"--format {model_format!r} is not one of yolox, gfl, fastestdet, yolov8") from err
    return OnnxDetector(config).detect


def _motion_detect(sequence: MotSequence) -> Callable[[np.ndarray], Detections]:
    """Motion regions, counted as persons (the motion detector claims no class): a baseline, not a person detector."""
    motion = MotionDetector()
    width, height = sequence.info.width, sequence.info.height

    def detect(image: np.ndarray) -> Detections:
        regions = motion.detect(image)
        boxes = [(b.x * width, b.y * height, (b.x + b.w) * width, (b.y + b.h) * height) for b, _ in regions]
        return Detections.create(np.array(boxes).reshape(-1, 4), np.ones(len(boxes)), np.zeros(len(boxes)))

    return detect
