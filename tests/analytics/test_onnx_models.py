"""The three real COCO models on a TUD-Campus frame (skipped when ../shared/data is absent)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.analytics.onnx_models import MODELS, REAL_MODELS, TUD, require
from vigie.analytics.detect.decoders import ModelFormatError
from vigie.analytics.detect.letterbox import ModelFormat
from vigie.analytics.detect.nms import box_iou
from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig, inspect_model
from vigie.domain.detections import ObjectClass

cv2 = pytest.importorskip("cv2")


@pytest.fixture(scope="module", params=sorted(REAL_MODELS))
def detector(request: pytest.FixtureRequest) -> OnnxDetector:
    fmt: ModelFormat = request.param
    path = require(MODELS / REAL_MODELS[fmt])
    return OnnxDetector(OnnxDetectorConfig(model_path=path, format=fmt, providers=("cpu",)))


def _gt_frame_1() -> np.ndarray:
    rows = np.loadtxt(require(TUD / "gt" / "gt.txt"), delimiter=",", ndmin=2)
    boxes = rows[rows[:, 0] == 1][:, 2:6].astype(np.float32)
    boxes[:, 2:] += boxes[:, :2]
    return boxes


def test_finds_the_people_of_tud_campus(detector: OnnxDetector) -> None:
    frame = cv2.imread(str(require(TUD / "img1" / "000001.jpg")))
    gt = _gt_frame_1()
    dets = detector.detect(frame)
    people = dets[dets.class_ids == ObjectClass.PERSON]
    assert len(people) >= len(gt) // 2
    matched = (box_iou(gt, people.boxes).max(axis=1) >= 0.5).sum()
    assert matched >= 0.6 * len(gt), f"{detector.config.format}: {matched}/{len(gt)} people found"
    assert (people.boxes[:, 2] <= frame.shape[1]).all() and (people.boxes[:, 3] <= frame.shape[0]).all()


def test_uniform_frame_gives_nothing(detector: OnnxDetector) -> None:
    assert len(detector.detect(np.full((480, 640, 3), 127, np.uint8))) == 0
    assert len(detector.detect(np.zeros((240, 320), np.uint8))) == 0  # grey accepted


def test_batch_of_static_batch_model_loops(detector: OnnxDetector) -> None:
    frame = cv2.imread(str(require(TUD / "img1" / "000001.jpg")))
    assert detector.batch_size == 1
    single = detector.detect(frame)
    both = detector.detect_batch([frame, np.full_like(frame, 127)])
    np.testing.assert_allclose(both[0].boxes, single.boxes)
    assert len(both[1]) == 0


@pytest.mark.parametrize(("fmt", "wrong"), [("yolox", "gfl"), ("gfl", "fastestdet"), ("fastestdet", "yolox")])
def test_real_model_declared_with_wrong_format(fmt: ModelFormat, wrong: ModelFormat) -> None:
    path = require(MODELS / REAL_MODELS[fmt])
    assert inspect_model(path, fmt).format == fmt
    with pytest.raises(ModelFormatError, match=f"not a {wrong} model"):
        inspect_model(path, wrong)
