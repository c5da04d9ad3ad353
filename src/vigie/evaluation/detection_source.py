"""Where the detections of a MOTChallenge sequence come from when it is scored: an ONNX model, the sequence's own
public ``det/det.txt``, or the motion detector as a baseline (``vigie eval mot | detect``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from vigie.analytics.detect.motion import MotionDetector
from vigie.domain.detections import Detections, ObjectClass
from vigie.evaluation.sequence import PERSONS, VEHICLES, MotSequence

DETECTORS = ("public", "motion", "onnx")
PUBLIC_DETECTIONS = "public det.txt"


class EvalUsageError(ValueError):
    """Arguments that do not name a usable detector."""


VEHICLE_CLASSES = (ObjectClass.CAR, ObjectClass.BUS, ObjectClass.TRUCK)
"""The COCO classes a model's vehicle is found as, against MOTChallenge's cars."""


def choose_detections(
    sequence: MotSequence,
    detector: str | None,
    model: Path | None,
    model_format: str | None,
    objects: str = PERSONS,
) -> tuple[str, dict[int, Detections]]:
    """Choose the detection source: an ONNX model when given, else det.txt when present, else motion. ``objects``:
    the model's persons, or its cars, buses and trucks (``vehicle``: a model only)."""
    if objects == VEHICLES and model is None:
        raise EvalUsageError("vehicles are scored on a model's detections: give --model PATH and --format")
    if detector is not None and detector not in DETECTORS:
        raise EvalUsageError(f"unknown detector {detector!r}; choose one of {', '.join(DETECTORS)}")
    if model is not None or detector == "onnx":
        if model is None or model_format is None:
            raise EvalUsageError("an ONNX detector needs --model PATH and --format (yolox, gfl, fastestdet, yolov8)")
        if not model.is_file():
            raise FileNotFoundError(f"model file {model} does not exist")
        classes = VEHICLE_CLASSES if objects == VEHICLES else (ObjectClass.PERSON,)
        return f"onnx:{model.name}", _run_detector(sequence, _onnx_detect(model, model_format), classes)
    if detector == "public" or (detector is None and sequence.has_public_detections):
        return PUBLIC_DETECTIONS, sequence.public_detections()
    return "motion", _run_detector(sequence, _motion_detect(sequence))


def _run_detector(
    sequence: MotSequence,
    detect: Callable[[np.ndarray], Detections],
    classes: tuple[ObjectClass, ...] = (ObjectClass.PERSON,),
) -> dict[int, Detections]:
    out: dict[int, Detections] = {}
    for frame, image in sequence.read_images():
        found = detect(image)
        out[frame] = found[np.isin(found.class_ids, classes)]
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
