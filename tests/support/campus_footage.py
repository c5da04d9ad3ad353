"""TUD-Campus (MOT15: 71 frames, 640×480, 25 fps, walking persons with ground-truth boxes) recorded as a camera's
footage: encoded to H.264 with a keyframe every second, cut into MPEG-TS segments as the recorder writes them,
put in a segment store and indexed, the way ``vigie serve`` reads recordings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tests.analytics.onnx_models import TUD, require
from tests.support.clip_segments import cut_segments
from vigie.domain.recording import Segment, SegmentIndex, SegmentState, SegmentStore
from vigie.evaluation.sequence import read_sequence

FPS = 25
FRAMES = 71
WIDTH, HEIGHT = 640, 480


@dataclass(frozen=True)
class Campus:
    truth: dict[int, np.ndarray]
    """Ground-truth person boxes (x1, y1, x2, y2) by frame index from the first recorded frame."""
    ids: dict[int, np.ndarray]
    """The ground-truth identity of each of those boxes."""
    pictures: list[np.ndarray]
    """The sequence's own pictures (BGR), by frame index."""


def record_campus(directory: Path, camera_id: str, start: datetime, index: SegmentIndex, store: SegmentStore) -> Campus:
    """Record the sequence for ``camera_id`` from ``start`` (segments of about 1 s) into ``store`` and ``index``;
    skip when the development data is absent."""
    sequence = read_sequence(require(TUD))
    directory.mkdir(parents=True, exist_ok=True)
    clip = directory / "campus.mp4"
    pictures = [image for _, image in sequence.read_images()]
    with av.open(str(clip), "w") as writer:
        out = writer.add_stream("libx264", rate=FPS, options={"crf": "12", "preset": "veryfast", "g": str(FPS)})
        out.width, out.height, out.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for number, image in enumerate(pictures):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts, frame.time_base = number, Fraction(1, FPS)
            writer.mux(out.encode(frame))
        writer.mux(out.encode(None))
    (directory / "cut").mkdir(exist_ok=True)
    cut = cut_segments(clip, directory / "cut", start, seconds=1.0, limit=10.0)
    ends = [f.start for f in cut[1:]] + [start + timedelta(seconds=len(pictures) / FPS)]
    for file, end in zip(cut, ends, strict=True):
        key = f"{camera_id}/{file.start:%Y%m%dT%H%M%S.%fZ}.ts"
        size = store.put(key, file.path)
        digest = hashlib.sha256(file.path.read_bytes()).hexdigest()
        index.add(Segment(camera_id, key, file.start, end, size, digest, SegmentState.COMPLETE))
    truth = sequence.ground_truth()
    return Campus(
        {i: truth[n].boxes for i, n in enumerate(sequence.frames)},
        {i: truth[n].ids for i, n in enumerate(sequence.frames)},
        pictures,
    )


def detail(picture: np.ndarray) -> float:
    """Mean absolute difference between neighbouring pixels: what blurring removes."""
    picture = picture.astype(np.float32)
    return float(np.abs(np.diff(picture, axis=0)).mean() + np.abs(np.diff(picture, axis=1)).mean())


def region(picture: np.ndarray, box: np.ndarray | tuple[float, ...], inset: int = 0) -> np.ndarray:
    """The part of ``picture`` in ``box`` (pixels, clipped to the picture), ``inset`` pixels in from its edges."""
    height, width = picture.shape[:2]
    x1, y1, x2, y2 = (round(float(v)) for v in box)
    x1, y1 = max(0, x1) + inset, max(0, y1) + inset
    x2, y2 = min(width, x2) - inset, min(height, y2) - inset
    return picture[y1:y2, x1:x2]


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24").astype(np.float32) for f in container.decode(video=0)]
