"""A recorded clip redacted to a new H.264 file with the real detector and tracker (people entering a room)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tests.analytics.onnx_models import DATA, MODELS, require
from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig
from vigie.analytics.track import ByteTracker, ByteTrackerConfig
from vigie.domain.detections import ObjectClass
from vigie.privacy import REDACTION_TRACKING, RedactionError, redact_file


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


@pytest.fixture(scope="module")
def room_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seconds 6 to 10 of one-by-one-person-detection.mp4 (768×432, 10 fps): a person walks in at about 7 s."""
    source = require(DATA / "video" / "one-by-one-person-detection.mp4")
    clip = tmp_path_factory.mktemp("room") / "room.mp4"
    with av.open(str(source)) as reader, av.open(str(clip), "w") as writer:
        out = writer.add_stream("libx264", rate=10, options={"crf": "12", "preset": "veryfast"})
        out.width, out.height, out.pix_fmt = 768, 432, "yuv420p"
        for index, picture in enumerate(p for p in reader.decode(video=0) if p.time is not None and 6 <= p.time < 10):
            frame = av.VideoFrame.from_ndarray(picture.to_ndarray(format="bgr24"), format="bgr24")
            frame.pts, frame.time_base = index, Fraction(1, 10)
            writer.mux(out.encode(frame))
        writer.mux(out.encode(None))
    return clip


def test_a_clip_is_redacted_to_a_file_of_the_same_frames_with_the_person_blurred(
    room_clip: Path, tmp_path: Path
) -> None:
    model = require(MODELS / "yolox_nano.onnx")
    detector = OnnxDetector(OnnxDetectorConfig(model_path=model, format="yolox", providers=("cpu",)))
    tracker = ByteTracker(ByteTrackerConfig(**REDACTION_TRACKING))  # type: ignore[arg-type]
    result = redact_file(room_clip, tmp_path / "redacted.mp4", detector, tracker, crf=12)

    source, redacted = decoded(room_clip), decoded(result.path)
    assert len(redacted) == len(source) == len(result.frames) == 40
    assert (result.width, result.height, result.fps) == (768, 432, Fraction(10))
    with av.open(str(result.path)) as container:
        assert [s.type for s in container.streams] == ["video"]
        assert container.streams.video[0].codec_context.name == "h264"
    persons = [f for f in result.frames if any(b.class_id == int(ObjectClass.PERSON) for b in f.boxes)]
    assert len(persons) >= 25  # walks in at about 7 s and stays: every frame from then on
    assert [f.index for f in persons] == list(range(persons[0].index, 40))
    frame = persons[-1]
    box = next(b for b in frame.boxes if b.class_id == int(ObjectClass.PERSON))
    before = source[frame.index].astype(np.int16)
    after = redacted[frame.index].astype(np.int16)
    inside = np.abs(after - before)[box.y1 : box.y2, box.x1 : box.x2].mean()
    far = np.abs(after - before)[:, : max(0, box.x1 - 100)].mean()  # the room's left, where nobody is
    # measured: 22 levels inside, 0.1 far (re-encoding only: pictures stay in I420 from decoder to encoder)
    assert inside > 12, f"the person's pixels barely changed ({inside:.1f} on average)"
    assert far < 1, f"pixels far from anyone changed by {far:.1f} on average (beyond re-encoding)"


def test_a_file_that_is_not_a_clip_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video")
    with pytest.raises(RedactionError, match="cannot read the clip"):
        redact_file(junk, tmp_path / "out.mp4", None, None)  # type: ignore[arg-type]


def test_a_failed_encoding_leaves_no_half_copy(room_clip: Path, tmp_path: Path) -> None:
    model = require(MODELS / "yolox_nano.onnx")
    detector = OnnxDetector(OnnxDetectorConfig(model_path=model, format="yolox", providers=("cpu",)))
    tracker = ByteTracker(ByteTrackerConfig(**REDACTION_TRACKING))  # type: ignore[arg-type]
    target = tmp_path / "redacted.mp4"
    with pytest.raises(RedactionError, match="preset 'no-such-preset'"):
        redact_file(room_clip, target, detector, tracker, preset="no-such-preset")
    assert not target.exists()
