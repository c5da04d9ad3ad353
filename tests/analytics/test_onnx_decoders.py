"""Decoding of each output layout on tiny hand-made tensors, and the yolov8 path end to end on a constant model."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tests.analytics.onnx_models import constant_model
from vigie.analytics.detect.classes import coco_lookup, kept_coco_ids
from vigie.analytics.detect.decoders import (
    FastestDetDecoder,
    GflDecoder,
    ModelFormatError,
    Yolov8Decoder,
    YoloxDecoder,
)
from vigie.analytics.detect.letterbox import FrameError, as_bgr, preprocess
from vigie.analytics.detect.nms import batched_nms
from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig, inspect_model
from vigie.domain.detections import ObjectClass

KEPT = kept_coco_ids(None, 80)


def test_coco_mapping_keeps_only_vigie_classes() -> None:
    table = coco_lookup(80)
    assert table[0] == ObjectClass.PERSON and table[7] == ObjectClass.TRUCK
    assert table[24] == table[26] == table[28] == ObjectClass.BAG
    assert table[16] == -1  # dog
    assert list(kept_coco_ids(frozenset({ObjectClass.CAR}), 80)) == [2]


def test_yolox_decodes_one_cell() -> None:
    out = np.zeros((52 * 52 + 26 * 26 + 13 * 13, 85), np.float32)
    row = 52 * 52 + 26 * 3 + 5  # stride 16, cell (x=5, y=3)
    out[row, :4] = [0.5, 0.25, math.log(2.0), 0.0]
    out[row, 4], out[row, 5 + 2] = 0.9, 0.8  # car
    out[0, 4], out[0, 5 + 16] = 1.0, 1.0  # a confident dog: dropped
    found = YoloxDecoder((416, 416), KEPT).decode([out], 0.3)
    assert list(found.coco_ids) == [2]
    assert found.scores[0] == pytest.approx(0.72)
    np.testing.assert_allclose(found.boxes[0], [88 - 16, 52 - 8, 88 + 16, 52 + 8], atol=1e-4)


def test_gfl_decodes_distribution_box() -> None:
    size, levels = (64, 64), 4
    cells = [math.ceil(64 / s) ** 2 for s in (8, 16, 32, 64)]
    scores = [np.zeros((n, 80), np.float32) for n in cells]
    boxes = [np.full((n, 32), -20.0, np.float32) for n in cells]
    scores[1][5, 0] = 0.9  # stride 16, cell (x=1, y=1): centre 16 + 7.5
    logits = np.full((4, 8), -20.0, np.float32)
    logits[:, 2] = 20.0  # each side = 2 bins · 16 px
    boxes[1][5] = logits.ravel()
    found = GflDecoder(size, KEPT, levels).decode([*scores, *boxes], 0.4)
    assert list(found.coco_ids) == [0]
    np.testing.assert_allclose(found.boxes[0], [23.5 - 32, 23.5 - 32, 23.5 + 32, 23.5 + 32], atol=1e-3)


def test_fastestdet_decodes_cell() -> None:
    out = np.zeros((85, 22, 22), np.float32)
    out[0, 4, 10] = 0.9
    out[3:5, 4, 10] = 0.0  # sigmoid → half the image
    out[5 + 3, 4, 10] = 0.8  # motorbike
    found = FastestDetDecoder((352, 352), KEPT).decode([out], 0.5)
    assert list(found.coco_ids) == [3]
    assert found.scores[0] == pytest.approx(0.9**0.6 * 0.8**0.4, rel=1e-5)
    cx, cy = 10 / 22 * 352, 4 / 22 * 352
    np.testing.assert_allclose(found.boxes[0], [cx - 88, cy - 88, cx + 88, cy + 88], atol=1e-3)


def test_yolov8_decodes_columns() -> None:
    out = np.zeros((84, 6), np.float32)
    out[:4, 2] = [100, 50, 20, 40]
    out[4 + 0, 2] = 0.7
    found = Yolov8Decoder((640, 640), KEPT).decode([out], 0.25)
    np.testing.assert_allclose(found.boxes[0], [90, 30, 110, 70])
    assert list(found.coco_ids) == [0]


def test_class_aware_nms() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10]], np.float32)
    kept = batched_nms(boxes, np.array([0.9, 0.8, 0.7], np.float32), np.array([0, 0, 2], np.int32), 0.5, 10)
    assert list(kept) == [0, 2]


def test_frames_are_normalised_or_refused() -> None:
    assert as_bgr(np.zeros((4, 6), np.uint8)).shape == (4, 6, 3)
    assert as_bgr(np.zeros((4, 6, 4), np.uint8)).shape == (4, 6, 3)
    with pytest.raises(FrameError, match="uint8"):
        as_bgr(np.zeros((4, 6, 3), np.float32))
    with pytest.raises(FrameError, match="channels"):
        as_bgr(np.zeros((4, 6, 2), np.uint8))
    tensor, transform = preprocess(np.zeros((100, 200, 3), np.uint8), "yolox", (416, 416))
    assert tensor[0, 300, 0] == 114.0 and transform.scale_x == pytest.approx(416 / 200)


def _yolov8_model(tmp_path: Path, batch: int | str) -> Path:
    out = np.zeros((4 + 3, 10), np.float32)  # 3 classes: person, bicycle, car
    out[:4, 1] = [320, 160, 64, 128]
    out[4, 1] = 0.9  # person
    out[:4, 7] = [322, 162, 64, 128]
    out[4, 7] = 0.5  # duplicate person: suppressed by NMS
    out[:4, 4] = [100, 500, 80, 40]
    out[6, 4] = 0.6  # car
    return constant_model(tmp_path / "v8.onnx", out, [batch, 3, 640, 640])


def test_yolov8_end_to_end_with_dynamic_batch(tmp_path: Path) -> None:
    path = _yolov8_model(tmp_path, "batch")
    info = inspect_model(path, "yolov8")
    assert info.batch_size is None and info.num_classes == 3 and info.input_size == (640, 640)
    detector = OnnxDetector(OnnxDetectorConfig(model_path=path, format="yolov8", providers=("cpu",)))
    frame = np.zeros((320, 320, 3), np.uint8)  # letterboxed ×2
    results = detector.detect_batch([frame, frame, frame])
    assert len(results) == 3
    dets = results[2]
    assert sorted(dets.class_ids.tolist()) == [ObjectClass.PERSON, ObjectClass.CAR]
    person = dets.boxes[dets.class_ids == ObjectClass.PERSON][0]
    np.testing.assert_allclose(person, [144, 48, 176, 112], atol=1e-3)
    only_cars = OnnxDetector(
        OnnxDetectorConfig(model_path=path, format="yolov8", classes=frozenset({ObjectClass.CAR}))
    ).detect(frame)
    assert only_cars.class_ids.tolist() == [ObjectClass.CAR]


def test_wrong_layout_is_refused_at_inspect_time(tmp_path: Path) -> None:
    path = _yolov8_model(tmp_path, 1)
    with pytest.raises(ModelFormatError, match=r"not a yolox model: expected one output \[batch, 8400"):
        inspect_model(path, "yolox")
    with pytest.raises(ModelFormatError, match="not a gfl model"):
        inspect_model(path, "gfl")
    with pytest.raises(ModelFormatError, match="not a fastestdet model"):
        inspect_model(path, "fastestdet")
    with pytest.raises(ModelFormatError, match="not found"):
        inspect_model(tmp_path / "missing.onnx", "yolov8")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelFormatError, match="cannot load"):
        inspect_model(tmp_path / "junk.onnx", "yolov8")


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError, match="unknown model format 'ssd'"):
        inspect_model(_yolov8_model(tmp_path, 1), "ssd")
