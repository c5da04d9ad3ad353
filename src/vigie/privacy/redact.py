"""Redaction of a clip: every person and vehicle blurred on every frame, the detector run on a few of them.

Frames come in time order as ``(timestamp in seconds, BGR picture)``. Every ``1 / detect_fps`` seconds of footage
a picture goes to the shared detector (``detect_batch``, as the forensic object search calls it); the persons and
vehicles it finds go to a tracker (``update(detections, period)``) that gives them track numbers; the
:class:`~vigie.privacy.boxes.BoxPlanner` turns those sightings into boxes on *every* frame (interpolated between
sightings, held at track ends). A frame is released once the footage ``horizon`` seconds after it was analysed,
so at most that much decoded footage (plus one detector batch) is held in memory.

Persons are detected as a class only, to hide them (L25, L26): no identity, no face, no appearance feature is
computed; what is returned beyond the pixels is the boxes, for the reviewer who checks the copy frame by frame.
Plates are covered because vehicles are blurred whole (a plate detector for plates seen without their vehicle is
future work). Audio is never copied into a redacted file (voices are personal data, and nothing here hides them).

The detector and the tracker are passed in (this package may not import ``vigie.analytics``): the production
ones are ``vigie.analytics.detect.onnx.OnnxDetector`` and ``vigie.analytics.track.ByteTracker`` built with
``ByteTrackerConfig(**REDACTION_TRACKING)``, a fresh tracker for each clip. Measured (docs/privacy.md), the
detector to give a redaction job is PicoDet-S at a 0.15 score threshold (≥ 99 % of the person area on TUD-Campus
and on the photo-real simulator, where YOLOX-nano at the live threshold misses a person lying on the ground): a
false positive costs a blurred patch of background, a miss exposes someone.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import av
import cv2
import numpy as np
import numpy.typing as npt

from vigie.domain.detections import Detections
from vigie.privacy.blur import blur_boxes, blur_planar_boxes
from vigie.privacy.boxes import EPSILON, BoxPlanner, FrameBoxes, RedactionError, RedactionOptions

Image = npt.NDArray[np.uint8]

REDACTION_TRACKING: dict[str, float | int] = {
    "high_score": 0.3,
    "new_track_score": 0.3,
    "low_score": 0.1,
    "min_hits": 1,
    "max_age": 1.0,
}
"""Tracker tuning for redaction (keywords of ``ByteTrackerConfig``): every confident detection starts a reported
track at once (``min_hits`` 1: a track's first sighting must be interpolated from too), and a track lost for up to
``max_age`` seconds (``RedactionOptions.max_gap``) keeps its number so its box is interpolated across the gap."""


class RedactionDetector(Protocol):
    """The shared detector (``OnnxDetector`` is one): boxes in the pictures' pixels, Vigie classes."""

    def detect_batch(self, frames: Sequence[Image]) -> list[Detections]: ...


class RedactionTracker(Protocol):
    """A tracker for one clip (``ByteTracker`` is one): returns the detections it names, ``track_ids`` set."""

    def update(self, detections: Detections, period: float) -> Detections: ...


def plan_frames(
    frames: Iterable[tuple[float, Image]],
    detector: RedactionDetector,
    tracker: RedactionTracker,
    options: RedactionOptions | None = None,
) -> Iterator[tuple[FrameBoxes, Image]]:
    """``(boxes to blur, original picture)`` for every frame of ``frames``, in order; nothing is blurred here."""
    return _planned(frames, detector, tracker, options or RedactionOptions(), _bgr_size)


def _planned(
    frames: Iterable[tuple[float, Image]],
    detector: RedactionDetector,
    tracker: RedactionTracker,
    opts: RedactionOptions,
    size_of: Callable[[int, Image], tuple[int, int]],
) -> Iterator[tuple[FrameBoxes, Image]]:
    """:func:`plan_frames` for pictures of any layout: ``size_of`` checks one and gives its width and height."""
    period = 1.0 / opts.detect_fps
    pending: deque[tuple[int, float, Image]] = deque()
    batch: list[tuple[float, Image]] = []
    planner: BoxPlanner | None = None
    origin = 0.0
    previous = -1.0
    due = 0.0
    analysed: float | None = None

    def analyse() -> None:
        nonlocal analysed
        if not batch or planner is None:
            return
        for (at, _), found in zip(batch, detector.detect_batch([image for _, image in batch]), strict=True):
            kept = found[np.isin(found.class_ids, [int(c) for c in opts.classes]) & (found.scores >= opts.min_score)]
            named = tracker.update(kept, period if analysed is None else at - analysed)
            planner.add(at, _with_orphans(kept, named))
            analysed = at
        batch.clear()

    def release(until: float) -> Iterator[tuple[FrameBoxes, Image]]:
        if planner is None:  # no frame came
            return
        while pending and pending[0][1] <= until + EPSILON:
            index, at, image = pending.popleft()
            yield planner.boxes_at(index, at), image
        if pending:
            planner.release(pending[0][1])

    for index, (stamp, image) in enumerate(frames):
        width, height = size_of(index, image)
        if planner is None:
            origin = float(stamp)
            planner = BoxPlanner(opts, width, height)
        elif (width, height) != (planner.width, planner.height):
            raise RedactionError(
                f"frame {index} is {width}×{height}, the clip's first frame {planner.width}×{planner.height}: "
                "a clip keeps one size"
            )
        at = float(stamp) - origin
        if at <= previous:
            raise RedactionError(f"frame {index} is at {at:.3f} s, not after the previous frame ({previous:.3f} s)")
        previous = at
        pending.append((index, at, image))
        if at >= due - EPSILON:
            batch.append((at, image))
            due = max(due + period, at)
            if len(batch) >= opts.batch:
                analyse()
                if analysed is not None:
                    yield from release(analysed - opts.horizon)
    analyse()
    yield from release(float("inf"))


def redact_frames(
    frames: Iterable[tuple[float, Image]],
    detector: RedactionDetector,
    tracker: RedactionTracker,
    options: RedactionOptions | None = None,
) -> Iterator[tuple[FrameBoxes, Image]]:
    """``(boxes blurred, redacted copy of the picture)`` for every frame of ``frames``, in order."""
    opts = options or RedactionOptions()
    for boxes, image in plan_frames(frames, detector, tracker, opts):
        yield boxes, blur_boxes(image, boxes.boxes, blocks=opts.blocks)


@dataclass(frozen=True, slots=True)
class RedactedFile:
    """A redacted copy written: its frames' boxes (for the reviewer), its rate and size (those of the source)."""

    path: Path
    frames: tuple[FrameBoxes, ...]
    fps: Fraction
    width: int
    height: int


def redact_file(
    source: Path,
    target: Path,
    detector: RedactionDetector,
    tracker: RedactionTracker,
    options: RedactionOptions | None = None,
    *,
    preset: str = "ultrafast",
    crf: int = 23,
    threads: int = 0,
) -> RedactedFile:
    """Redact the first video stream of ``source`` into a new H.264 file ``target`` (container from its suffix,
    e.g. ``.mp4``), same frame rate and size, no audio. ``threads`` limits decoding and encoding threads (0: FFmpeg
    decides); ``preset`` and ``crf`` are libx264's speed/size trade-off and quality."""
    try:
        reader = av.open(f"file:{source}", "r")
    except (OSError, av.FFmpegError) as err:
        raise RedactionError(f"cannot read the clip {source}: {err}") from err
    with reader:
        if not reader.streams.video:
            raise RedactionError(f"{source} holds no video stream to redact")
        stream = reader.streams.video[0]
        stream.thread_type = "AUTO" if threads != 1 else "SLICE"
        stream.codec_context.thread_count = threads
        fps = Fraction(stream.average_rate or stream.guessed_rate or 25)
        width, height = stream.codec_context.width, stream.codec_context.height
        if width % 2 or height % 2:
            raise RedactionError(f"{source} is {width}×{height}: H.264 (4:2:0) needs an even width and height")
        opts = options or RedactionOptions()
        pictures = _decoded(reader.decode(stream), fps)
        try:
            planned = _planned(pictures, _PlanarDetector(detector), tracker, opts, _planar_size)
            kept = _write(target, planned, opts=opts, fps=fps, size=(width, height), encoding=(preset, crf, threads))
        except BaseException:
            target.unlink(missing_ok=True)  # half a redacted copy must never pass for a whole one
            raise
    return RedactedFile(target, tuple(kept), fps, width, height)


def _write(
    target: Path,
    planned: Iterator[tuple[FrameBoxes, Image]],
    *,
    opts: RedactionOptions,
    fps: Fraction,
    size: tuple[int, int],
    encoding: tuple[str, int, int],
) -> list[FrameBoxes]:
    """Blur and encode the planned I420 pictures into ``target``; the boxes of every frame written."""
    preset, crf, threads = encoding
    try:
        writer = av.open(str(target), "w")
    except (OSError, av.FFmpegError) as err:
        raise RedactionError(f"cannot write the redacted copy {target}: {err}") from err
    kept: list[FrameBoxes] = []
    with writer:
        try:
            out = writer.add_stream("libx264", rate=fps, options={"preset": preset, "crf": str(crf)})
            out.width, out.height, out.pix_fmt = *size, "yuv420p"
            out.codec_context.thread_count = threads
            # Pictures stay in the codec's I420 layout from decoder to encoder (blurred there); only those the
            # detector reads are converted to BGR: two BGR conversions per frame cost more at 1080p on one core
            # than the detector at 5 pictures a second.
            for index, (boxes, planar) in enumerate(planned):
                blurred = blur_planar_boxes(planar, boxes.boxes, blocks=opts.blocks)
                frame = av.VideoFrame.from_ndarray(blurred, format="yuv420p")
                frame.pts, frame.time_base = index, 1 / fps
                writer.mux(out.encode(frame))
                kept.append(boxes)
            writer.mux(out.encode(None))
        except av.FFmpegError as err:
            raise RedactionError(
                f"H.264 encoding of {target} failed (libx264 preset {preset!r}, crf {crf}): {err}"
            ) from err
    return kept


def _decoded(pictures: Iterator[av.VideoFrame], fps: Fraction) -> Iterator[tuple[float, Image]]:
    """(seconds, I420 array) of decoded pictures; one without a timestamp is placed one frame after the last."""
    last: float | None = None
    try:
        for picture in pictures:
            at = float(picture.time) if picture.time is not None else None
            if at is None or (last is not None and at <= last):
                at = (last if last is not None else 0.0) + float(1 / fps)
            last = at
            yield at, np.asarray(picture.to_ndarray(format="yuv420p"), np.uint8)  # converted only if not I420
    except av.FFmpegError as err:
        raise RedactionError(f"the clip could not be decoded past {last or 0.0:.2f} s: {err}") from err


def _bgr_size(index: int, image: Image) -> tuple[int, int]:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        raise RedactionError(f"frame {index} must be an H×W×3 BGR uint8 array (got {type(image).__name__} {shape})")
    return image.shape[1], image.shape[0]


def _planar_size(index: int, planar: Image) -> tuple[int, int]:
    return planar.shape[1], planar.shape[0] * 2 // 3


class _PlanarDetector:
    """The detector given I420 pictures: only the analysed ones are converted to BGR (one in five at 5 fps of a
    25 fps clip), the others go from decoder to encoder in the codec's own layout."""

    def __init__(self, detector: RedactionDetector) -> None:
        self._detector = detector

    def detect_batch(self, frames: Sequence[Image]) -> list[Detections]:
        bgr = [np.asarray(cv2.cvtColor(f, cv2.COLOR_YUV2BGR_I420), np.uint8) for f in frames]
        return self._detector.detect_batch(bgr)


def _with_orphans(kept: Detections, named: Detections) -> Detections:
    """``kept`` with the track numbers the tracker gave (matched by box), -1 for the detections it did not name:
    they are blurred and held all the same."""
    ids = np.full(len(kept), -1, np.int32)
    by_box = {tuple(box.tolist()): int(t) for box, t in zip(named.boxes, named.track_ids, strict=True)}
    for i, box in enumerate(kept.boxes):
        ids[i] = by_box.get(tuple(box.tolist()), -1)
    return kept.with_track_ids(ids)
