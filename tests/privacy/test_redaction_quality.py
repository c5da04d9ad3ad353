"""Issue 23's redaction goal measured on TUD-Campus (71 frames, 640×480, 25 fps, 359 ground-truth person boxes):
the share of the persons' area blurred, on every frame, with YOLOX-nano at 5 pictures a second and the boxes
interpolated between them, and with the detector on every frame. Definitions in ``vigie.privacy.quality``.

Measured (docs/privacy.md): at 5 fps, area recall 0.9995, 99.2 % of the boxes ≥ 99 % covered, 99.7 % ≥ 90 %,
44 % of the picture blurred (the ground-truth persons alone cover 22 %: the scene is crowded); at every frame,
0.9987, 97.2 %, 99.4 %. The floors below leave room for onnxruntime's rounding on another CPU, not for a
regression.
"""

from __future__ import annotations

from tests.analytics.onnx_models import MODELS, TUD, require
from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig
from vigie.analytics.track import ByteTracker, ByteTrackerConfig
from vigie.evaluation.sequence import read_sequence
from vigie.privacy import REDACTION_TRACKING, RecallReport, RedactionOptions, plan_frames, redaction_recall


def measured(
    options: RedactionOptions, model: str = "yolox_nano.onnx", fmt: str = "yolox", threshold: float | None = None
) -> RecallReport:
    sequence = read_sequence(require(TUD))
    path = require(MODELS / model)
    config = OnnxDetectorConfig(model_path=path, format=fmt, providers=("cpu",), score_threshold=threshold)
    detector = OnnxDetector(config)
    tracker = ByteTracker(ByteTrackerConfig(**REDACTION_TRACKING))  # type: ignore[arg-type]
    first, rate = sequence.frames[0], sequence.info.frame_rate
    frames = (((number - first) / rate, image) for number, image in sequence.read_images())
    blurred = {boxes.index: boxes.boxes for boxes, _ in plan_frames(frames, detector, tracker, options)}
    truth = sequence.ground_truth()
    by_index = {index: truth[number].boxes for index, number in enumerate(sequence.frames)}
    return redaction_recall(by_index, blurred, sequence.info.width, sequence.info.height)


def test_persons_are_blurred_with_the_detector_at_5_fps_and_interpolation() -> None:
    report = measured(RedactionOptions())
    assert report.boxes == 359, report.summary()
    assert report.area_recall >= 0.999, report.summary()
    assert report.share_covered_99 >= 0.985, report.summary()
    assert report.share_covered_90 >= 0.995, report.summary()
    assert report.blurred_fraction <= 0.5, report.summary()  # persons blurred, not the whole picture


def test_persons_are_blurred_with_the_detector_on_every_frame() -> None:
    report = measured(RedactionOptions(detect_fps=25))
    assert report.area_recall >= 0.998, report.summary()
    assert report.share_covered_99 >= 0.965, report.summary()
    assert report.share_covered_90 >= 0.99, report.summary()


def test_the_detector_recommended_for_redaction_covers_every_person_of_tud_campus() -> None:
    """PicoDet-S at a 0.15 score threshold: what docs/privacy.md recommends for a redaction detector (it also finds
    the photo-real simulator's fallen person, which YOLOX-nano misses). Measured: 1.0000, 100 %, 100 %."""
    report = measured(RedactionOptions(), "picodet_s_320_coco.onnx", "gfl", 0.15)
    assert report.area_recall >= 0.9995, report.summary()
    assert report.share_covered_99 >= 0.99, report.summary()
    assert report.share_covered_90 >= 0.995, report.summary()


def test_without_margin_the_detector_boxes_alone_miss_limbs() -> None:
    """The margin is what brings the boxes covered ≥ 99 % from about two thirds to 99 %: a regression there shows."""
    report = measured(RedactionOptions(margin=0.0))
    assert report.share_covered_99 < 0.8, report.summary()
    assert report.area_recall >= 0.97, report.summary()
