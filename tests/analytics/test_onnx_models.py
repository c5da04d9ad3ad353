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


def test_threads_sharing_a_detector_get_their_own_results(detector: OnnxDetector) -> None:
    """The input tensor is reused per thread: pipelines calling one detector from several threads must each get
    the detections of their own frame, as if alone."""
    from concurrent.futures import ThreadPoolExecutor

    frames = [cv2.imread(str(require(TUD / "img1" / f"{i:06d}.jpg"))) for i in (1, 30, 60)]
    alone = [detector.detect(f) for f in frames]
    with ThreadPoolExecutor(3) as pool:
        for _ in range(5):
            together = list(pool.map(detector.detect, frames * 4))
            for k, result in enumerate(together):
                expected = alone[k % 3]
                assert len(result) == len(expected)
                np.testing.assert_allclose(result.boxes, expected.boxes, atol=1e-3)


def test_padding_of_a_partial_batch_is_blank(detector: OnnxDetector) -> None:
    frame = cv2.imread(str(require(TUD / "img1" / "000001.jpg")))
    detector.prepare([frame, frame], 2)
    tensor, _ = detector.prepare([frame], 2)  # the reused buffer must not keep the second frame
    assert tensor[0].any() and not tensor[1].any()
