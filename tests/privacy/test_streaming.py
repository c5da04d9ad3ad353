"""Frames through ``plan_frames`` / ``redact_frames``: the detector at its reduced rate, every frame answered in
order, footage held only as long as the interpolation needs, bad frames refused."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pytest

from vigie.analytics.track import ByteTracker, ByteTrackerConfig
from vigie.domain.detections import Detections, ObjectClass
from vigie.privacy import REDACTION_TRACKING, RedactionError, RedactionOptions, plan_frames, redact_frames

FPS = 25.0


class WalkerDetector:
    """Stands for the ONNX detector (tests/privacy/test_redact_file.py runs the real one): a person walking right
    at 100 px/s, read from the frame number written in the picture's first pixel."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        out = []
        for frame in frames:
            index = int(frame[0, 0, 0])
            self.seen.append(index)
            x = 20 + 100 * index / FPS
            out.append(Detections.create([(x, 40, x + 20, 100)], [0.9], [int(ObjectClass.PERSON)]))
        return out


def clip(count: int, consumed: list[int] | None = None) -> Iterator[tuple[float, np.ndarray]]:
    for index in range(count):
        image = np.full((120, 320, 3), 128, np.uint8)
        image[0, 0, 0] = index
        if consumed is not None:
            consumed.append(index)
        yield index / FPS, image


def tracker() -> ByteTracker:
    return ByteTracker(ByteTrackerConfig(**REDACTION_TRACKING))  # type: ignore[arg-type]


def test_the_detector_runs_at_the_reduced_rate_and_every_frame_gets_its_walker_box() -> None:
    detector = WalkerDetector()
    planned = list(plan_frames(clip(50), detector, tracker(), RedactionOptions(margin=0.0)))
    assert detector.seen == list(range(0, 50, 5))  # 5 pictures a second of a 25 fps clip
    assert [boxes.index for boxes, _ in planned] == list(range(50))
    for boxes, _ in planned[:46]:  # up to the last analysed frame (45), then held
        walker = 20 + 100 * boxes.index / FPS
        assert len(boxes.boxes) == 1
        box = boxes.boxes[0]
        assert box.x1 <= walker + 1 and box.x2 >= walker + 19, boxes
        assert box.source == ("detected" if boxes.index % 5 == 0 else "interpolated")
    assert {b.boxes[0].source for b, _ in planned[46:]} == {"held"}


def test_frames_are_released_after_the_horizon_not_at_the_end_of_the_clip() -> None:
    consumed: list[int] = []
    stream = plan_frames(clip(200, consumed), WalkerDetector(), tracker(), RedactionOptions(max_gap=1.0, hold=0.4))
    first, _ = next(stream)
    assert first.index == 0
    assert len(consumed) <= 1 + 25 + 5  # one second of horizon, one analysed picture more


def test_redacted_frames_are_blurred_copies_where_the_boxes_are() -> None:
    images = list(clip(10))
    for image in (i for _, i in images):
        image[40:100, :, :] = np.tile((np.arange(320) * 37 % 256).astype(np.uint8)[None, :, None], (60, 1, 3))
    redacted = list(redact_frames(iter(images), WalkerDetector(), tracker()))
    for (boxes, out), (_, image) in zip(redacted, images, strict=True):
        box = boxes.boxes[0]
        assert not np.array_equal(out[box.y1 : box.y2, box.x1 : box.x2], image[box.y1 : box.y2, box.x1 : box.x2])
        assert np.array_equal(out[:, box.x2 :], image[:, box.x2 :])


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        ([(0.0, np.zeros((10, 10, 3), np.uint8)), (0.0, np.zeros((10, 10, 3), np.uint8))], "not after the previous"),
        ([(0.0, np.zeros((10, 10, 3), np.uint8)), (0.04, np.zeros((12, 10, 3), np.uint8))], "keeps one size"),
        ([(0.0, np.zeros((10, 10), np.uint8))], "H×W×3 BGR uint8"),
        ([(0.0, np.zeros((10, 10, 3), np.float32))], "H×W×3 BGR uint8"),
    ],
)
def test_bad_frames_are_refused(frames: list[tuple[float, np.ndarray]], message: str) -> None:
    class Nothing:
        def detect_batch(self, frames: Sequence[np.ndarray]) -> list[Detections]:
            return [Detections() for _ in frames]

    with pytest.raises(RedactionError, match=message):
        list(plan_frames(iter(frames), Nothing(), tracker()))
