"""Motion in a region: when did the pixels inside a polygon drawn on a camera change, over recorded segments?

No detector, no object: grey levels inside the region are compared with a running background of that region, one
sample per ``step_seconds`` of footage, and runs of samples where enough of the region changed become time spans,
each with a score (the largest changed fraction seen) and a representative instant (when that was seen).

This module reads the files it is given and nothing else. It is one piece of the forensic search of issue 22, which
runs only within a case's scope (a requisition naming cameras, a period and a purpose): choosing the segments, checking
the case and auditing the search belong to the case service that calls it (later pieces), never to this module.

Speed (the issue's goal is ≥ 50× real time per core on 640×360 sub-streams; ``bench/forensic_motion.py``): the cost
is H.264 decoding, so the search decodes as little as it can:

- packets are demuxed (cheap: no decoding) and only those a sample needs are sent to the decoder: when keyframes come
  at least once per step, keyframes alone (intra pictures decode without references), otherwise per step either a
  keyframe inside the step or the chain from the last keyframe up to the first picture of the step;
- pictures decoded only as references for a later one are never converted or copied;
- a sample reads the luma plane in place (grey levels, no colour conversion), crops the region's bounding box and
  scales only that crop down, by area averaging, to at most ``_PATCH_SIDE`` pixels a side.
- not taken: skipping H.264's deblocking filter (``skip_loop_filter``) decodes a third faster, but pictures predicted
  from undeblocked references drift from what was recorded: up to 33 grey levels after scaling down on the
  simulator's street (``bench/forensic_motion.py`` footage), above the threshold of a sensitive search.

Lighting: a change that moves most of the region's grey levels together (a cloud, street lights, the camera's
exposure or day/night switch) is not motion. Each sample's difference to the background has its median removed
before thresholding, so a uniform shift of brightness over the region (and so over the whole picture) changes
nothing, while an object covering less than the whole region still stands out against the rest (and when it covers
more than half, the uncovered rest shows as changed: the span is still found). The background follows the footage
with a time constant of ``_BACKGROUND_SECONDS``, so something that arrives and stays (a parked car) is reported
while it is new, then absorbed.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt

from vigie.domain.geometry import Box, Point

_PATCH_SIDE = 80
"""Longest side, in pixels, of the region once scaled down. A changed fraction is a ratio of areas, which area
averaging preserves; at 80 px an object covering 1 % of the region is still some 60 cells, and the per-sample cost
(median, threshold) stays a few microseconds whatever the stream's resolution."""
_BACKGROUND_SECONDS = 30.0
"""Time constant of the running background: long enough that a person crossing the region is never learnt as
background while crossing, short enough that what stays (a parked car) stops being reported within a minute."""
_STRONGEST, _FAINTEST = 50.0, 6.0
"""Grey-level difference counted as changed at sensitivity 0 and at sensitivity 1 (linear in between). Below 6
the compression noise of a sub-stream at usual bit rates starts to count."""
_MAX_STEP = 600.0
_MIN_STEP = 0.04  # one picture at 25 fps: a finer step asks for pictures that do not exist
_LUMA_FIRST = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "gray"})
"""Pixel formats whose first plane is the luma (grey) picture itself: read in place, no conversion."""

Grey = npt.NDArray[np.uint8]
Float = npt.NDArray[np.float32]


class MotionSearchError(ValueError):
    """A search asked with parameters or a region that cannot work; the message says which and how to fix it."""


class SegmentUnreadableError(MotionSearchError):
    """A segment file that cannot be opened or holds no decodable picture (missing, corrupt, truncated before its
    first keyframe, not a video). The message names the file."""


@dataclass(frozen=True, slots=True)
class MotionSearchParams:
    """How a motion-in-region search samples and decides. Checked when built: a bad value raises
    :class:`MotionSearchError` naming the parameter, the value and the accepted range."""

    sensitivity: float = 0.5
    """0 to 1: how faint a change of grey level counts (0: only strong changes, 1: the faintest above noise)."""
    min_changed_fraction: float = 0.02
    """Above 0, at most 1: the fraction of the region that must change for a sample to count as motion."""
    min_span_seconds: float = 0.0
    """0 or more: spans shorter than this are left out (a bird crossing, a headlight sweep)."""
    step_seconds: float = 1.0
    """Time between samples, 0.04 to 600 s. A span's start is found within one step of the real start; a larger
    step is faster (with keyframes at least once per step, only keyframes are decoded)."""

    def __post_init__(self) -> None:
        _check("sensitivity", self.sensitivity, 0.0, 1.0, "0 reports only strong changes, 1 the faintest")
        _check("min_changed_fraction", self.min_changed_fraction, 0.0, 1.0, "e.g. 0.02 for 2 % of the region")
        if self.min_changed_fraction <= 0.0:
            raise MotionSearchError(
                f"min_changed_fraction must be above 0 (got {self.min_changed_fraction}): at 0 every sample would "
                "count as motion; use e.g. 0.02 for 2 % of the region"
            )
        _check("min_span_seconds", self.min_span_seconds, 0.0, math.inf, "0 keeps every span")
        _check("step_seconds", self.step_seconds, _MIN_STEP, _MAX_STEP, "e.g. 1 for one sample per second")

    @property
    def threshold(self) -> float:
        """Grey-level difference above which a pixel of the region counts as changed."""
        return _STRONGEST - (_STRONGEST - _FAINTEST) * self.sensitivity


def _check(name: str, value: float, low: float, high: float, hint: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MotionSearchError(f"{name} must be a finite number (got {value!r}); {hint}")
    if not low <= value <= high:
        bound = f"at least {low:g}" if math.isinf(high) else f"between {low:g} and {high:g}"
        raise MotionSearchError(f"{name} must be {bound} (got {value:g}); {hint}")


@dataclass(frozen=True, slots=True)
class RecordedFile:
    """One segment file to search and the wall-clock time of its first picture (the segment index's ``start``).

    A segment of a remote store (S3) has no file: ``fetch`` reads its bytes (a segment is a few megabytes, read
    whole when the search reaches it, so that the demuxer may seek in it), and ``path`` is its key, for messages."""

    path: Path
    start: datetime
    fetch: Callable[[], bytes] | None = None


def open_recorded(recorded: RecordedFile) -> Any:
    """The segment opened for demuxing (PyAV), from its file or from the bytes its store gives. Raises
    :class:`SegmentUnreadableError` naming the segment when it cannot be read."""
    try:
        if recorded.fetch is not None:
            return av.open(io.BytesIO(recorded.fetch()), "r")
        # "file:" so that no part of the path is read as a protocol name (as the segment writer does)
        return av.open(f"file:{recorded.path}", "r")
    except (OSError, av.FFmpegError) as err:
        raise SegmentUnreadableError(f"cannot open segment {recorded.path}: {err}") from err


@dataclass(frozen=True, slots=True)
class MotionSpan:
    """A time span where the region changed: ``score`` is the largest changed fraction seen in it (0 to 1),
    ``peak`` the instant of that sample (where playback should open)."""

    start: datetime
    end: datetime
    peak: datetime
    score: float


@dataclass(frozen=True, slots=True)
class MotionSearchResult:
    """The spans found, in time order, and what was read to find them."""

    spans: tuple[MotionSpan, ...]
    samples: int
    """Pictures compared with the background."""
    pictures_decoded: int
    """Pictures the decoder produced (samples and the references they needed)."""
    media_seconds: float
    """Footage covered, from each file's first picture to its last packet."""
    damaged_packets: int = 0
    """Packets the decoder refused (corruption inside a file); the search went on without them."""
    truncated: tuple[Path, ...] = ()
    """Files whose reading stopped early on damaged data; what came before was searched."""


def region_polygon(region: Box | Sequence[Point]) -> tuple[Point, ...]:
    """The region as a polygon in normalised coordinates, checked: a :class:`Box` or at least three (x, y) points,
    every coordinate within [0, 1], enclosing some area."""
    if isinstance(region, Box):
        x0, y0, x1, y1 = region.x, region.y, region.x + region.w, region.y + region.h
        points: list[Point] = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    else:
        points = [_point(p) for p in region]
    if len(points) < 3:
        raise MotionSearchError(f"the region needs at least 3 points (got {len(points)}): draw a box or a polygon")
    for x, y in points:
        if not (math.isfinite(x) and math.isfinite(y) and 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise MotionSearchError(
                f"region point ({x}, {y}) is outside the picture: coordinates are normalised, "
                "(0, 0) top-left to (1, 1) bottom-right"
            )
    xs, ys = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    area = 0.5 * abs(float(np.dot(xs, np.roll(ys, 1)) - np.dot(ys, np.roll(xs, 1))))
    if area < 1e-6:
        raise MotionSearchError("the region encloses no area (points on one line or one point): draw a larger region")
    return tuple((float(x), float(y)) for x, y in points)


def _point(value: object) -> Point:
    """One (x, y) pair of numbers, or a :class:`MotionSearchError` saying what was given instead."""
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        x, y = value
        if all(isinstance(c, int | float) and not isinstance(c, bool) for c in (x, y)):
            return float(x), float(y)
    raise MotionSearchError(f"region point {value!r} is not an (x, y) pair of numbers between 0 and 1")


class _RegionPatch:
    """The region's pixels of a picture: cropped to its bounding box, scaled down by a whole factor, masked to the
    polygon. Built for one picture size (a segment of another size builds another)."""

    def __init__(self, polygon: tuple[Point, ...], width: int, height: int) -> None:
        self.size = (width, height)
        xs = [x * width for x, _ in polygon]
        ys = [y * height for _, y in polygon]
        self.x0, self.y0 = max(0, math.floor(min(xs))), max(0, math.floor(min(ys)))
        x1, y1 = min(width, math.ceil(max(xs))), min(height, math.ceil(max(ys)))
        # A whole factor keeps OpenCV's area averaging an exact block mean (its fast path); the last few columns or
        # rows that do not fill a block are dropped, at most factor - 1 pixels.
        self.factor = max(1, math.ceil(max(x1 - self.x0, y1 - self.y0) / _PATCH_SIDE))
        self.out_w = max(1, (x1 - self.x0) // self.factor)
        self.out_h = max(1, (y1 - self.y0) // self.factor)
        self.x1, self.y1 = self.x0 + self.out_w * self.factor, self.y0 + self.out_h * self.factor
        mask = np.zeros((self.out_h, self.out_w), np.uint8)
        pts = [[(x - self.x0) / self.factor, (y - self.y0) / self.factor] for x, y in zip(xs, ys, strict=True)]
        cv2.fillPoly(mask, [np.round(np.array(pts)).astype(np.int32)], 1)
        if not mask.any():  # a sliver thinner than one cell: keep the cells its box covers
            mask[:] = 1
        self.mask = mask.astype(bool)
        self.cells = int(self.mask.sum())

    def of(self, picture: Any) -> Float:
        crop = _luma(picture)[self.y0 : self.y1, self.x0 : self.x1]
        if self.factor == 1:
            return np.asarray(crop, np.float32)
        return np.asarray(cv2.resize(crop, (self.out_w, self.out_h), interpolation=cv2.INTER_AREA), np.float32)


def _luma(picture: Any) -> Grey:
    """The grey picture: the luma plane read in place for YUV formats (no conversion, no copy), else converted."""
    if picture.format.name in _LUMA_FIRST:
        plane = picture.planes[0]
        rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        return rows[:, : plane.width]
    return np.asarray(picture.to_ndarray(format="gray"), np.uint8)


@dataclass(slots=True)
class _Background:
    """The running background of the region and the changed fraction of each new patch against it."""

    threshold: float
    mask: npt.NDArray[np.bool_]
    cells: int
    mean: Float | None = None
    last: float = 0.0

    def compare(self, patch: Float, at: float) -> float | None:
        """The fraction of the region changed at ``at`` (seconds), or None for the first patch (it starts the
        background). The background then learns the patch, weighted by the time since the last one."""
        if self.mean is None:
            self.mean, self.last = patch.copy(), at
            return None
        diff = patch - self.mean
        inside = diff[self.mask]
        # A change of lighting shifts all the region together: its median is that shift, removed (module docstring).
        changed = np.abs(inside - np.median(inside)) > self.threshold
        fraction = float(np.count_nonzero(changed)) / self.cells
        weight = 1.0 - math.exp(-max(at - self.last, 0.0) / _BACKGROUND_SECONDS)
        cv2.accumulateWeighted(patch, self.mean, weight)
        self.last = at
        return fraction


@dataclass(slots=True)
class _Tally:
    samples: int = 0
    decoded: int = 0
    media: float = 0.0
    damaged: int = 0
    truncated: list[Path] = field(default_factory=list)


def _plan(times: list[float], keys: list[bool], step: float) -> tuple[set[int], set[int]]:
    """Which packets (by decode-order index) to send to the decoder, and which of those give a sample, such that
    consecutive samples are never more than one step apart (so a change is found within one step of its start).

    With a keyframe at least once per step, keyframes alone, as few as keep samples a step apart: each decodes on
    its own, a few percent of the cost of the pictures between them. Otherwise one sample on each step of the grid
    (the first picture at or after k·step), decoded from the last keyframe before it: the fewest packets that
    decode it; packets after a sample and before the next keyframe needed are never sent."""
    slack = step * 1.001  # timestamps in 90 kHz ticks land on the grid give or take one
    key_indices = [index for index, key in enumerate(keys) if key]
    if key_indices and key_indices[0] == 0:
        horizons = [times[i] for i in key_indices[1:]] + [max(times)]
        if all(later - times[i] <= slack for i, later in zip(key_indices, horizons, strict=True)):
            chosen = [0]
            for n, index in enumerate(key_indices[1:], start=1):
                # keep this keyframe only if skipping it would leave more than a step after the last sample
                if horizons[n] - times[chosen[-1]] > slack:
                    chosen.append(index)
            return set(chosen), set(chosen)
    send: set[int] = set()
    targets: set[int] = set()
    last_key: int | None = None
    next_window = -1
    for index, (t, key) in enumerate(zip(times, keys, strict=True)):
        last_key = index if key else last_key
        window = math.floor(t / step + 1e-6)  # windows counted in whole steps: 0.3 / 0.1 is 2.9999…
        if window < next_window or last_key is None:
            continue  # this window already has its sample, or no keyframe yet to decode from
        send.update(range(last_key, index + 1))
        targets.add(index)
        next_window = window + 1
    return send, targets


def _packets(container: Any, stream: Any, path: Path, tally: _Tally) -> list[Any]:
    """The video packets of the file in decode order (demuxing only). A file cut mid-packet (a crash while
    recording) ends where the damage starts."""
    packets: list[Any] = []
    try:
        for packet in container.demux(stream):
            if packet.pts is not None and packet.size > 0:
                packets.append(packet)
    except av.FFmpegError:
        tally.truncated.append(path)
    return packets


def _samples(recorded: RecordedFile, step: float, tally: _Tally) -> Iterator[tuple[float, Any]]:
    """(seconds since the file's first picture, picture) for each sample of one file."""
    path = recorded.path
    container = open_recorded(recorded)
    with container:
        if not container.streams.video:
            raise SegmentUnreadableError(f"segment {path} holds no video stream: it is not a camera recording")
        stream = container.streams.video[0]
        # One decoding thread: searches run many segments side by side in worker processes, which scales with cores
        # without frame threading's added delay and per-thread picture buffers.
        stream.thread_type = "SLICE"
        stream.codec_context.thread_count = 1
        packets = _packets(container, stream, path, tally)
        if not packets:
            raise SegmentUnreadableError(f"segment {path} holds no video packet: it is empty or truncated")
        base = stream.time_base
        origin = min(p.pts for p in packets)
        times = [float((p.pts - origin) * base) for p in packets]
        tally.media += max(times) + float((packets[-1].duration or 0) * base)
        send, targets = _plan(times, [bool(p.is_keyframe) for p in packets], step)
        wanted = {packets[i].pts for i in targets}
        decoded = 0
        context = stream.codec_context
        for index in [*sorted(send), None]:  # None drains the decoder: with B-frames, pictures come out late
            # A picture decoded only on the way to a sample: the decoder may drop it if nothing refers to it
            # (a non-reference B-frame costs its whole decoding and nothing uses it).
            context.skip_frame = "NONREF" if index is not None and index not in targets else "DEFAULT"
            try:
                pictures = context.decode(None if index is None else packets[index])
            except av.FFmpegError:
                tally.damaged += 1
                continue
            for picture in pictures:
                decoded += 1
                if picture.pts in wanted:
                    yield float((picture.pts - origin) * base), picture
        tally.decoded += decoded
        if decoded == 0:
            raise SegmentUnreadableError(
                f"no picture could be decoded from segment {path}: it is corrupt or truncated before its first keyframe"
            )


def search_motion(
    files: Sequence[RecordedFile], region: Box | Sequence[Point], params: MotionSearchParams | None = None
) -> MotionSearchResult:
    """The spans where ``region`` changed in ``files`` (one camera's segments, in any order). Raises
    :class:`MotionSearchError` for a bad region and :class:`SegmentUnreadableError` for a file that cannot be read
    at all; damage inside a file is skipped and counted in the result."""
    params = params or MotionSearchParams()
    polygon = region_polygon(region)
    tally = _Tally()
    runs = _Runs(params)
    patch: _RegionPatch | None = None
    background: _Background | None = None
    previous_end: datetime | None = None
    for recorded in sorted(files, key=lambda f: f.start):
        if previous_end is not None and recorded.start - previous_end > timedelta(seconds=2 * params.step_seconds):
            background = None  # a hole in the recording: the scene may have changed, learn it again
            runs.close()
        for offset, picture in _samples(recorded, params.step_seconds, tally):
            if patch is None or patch.size != (picture.width, picture.height):
                patch = _RegionPatch(polygon, picture.width, picture.height)
                background = None
            if background is None:
                background = _Background(params.threshold, patch.mask, patch.cells)
            at = recorded.start + timedelta(seconds=offset)
            tally.samples += 1
            runs.add(at, background.compare(patch.of(picture), at.timestamp()))
            previous_end = at
    runs.close()
    return MotionSearchResult(
        spans=tuple(runs.spans),
        samples=tally.samples,
        pictures_decoded=tally.decoded,
        media_seconds=tally.media,
        damaged_packets=tally.damaged,
        truncated=tuple(tally.truncated),
    )


@dataclass(slots=True)
class _Runs:
    """Consecutive samples over the threshold joined into spans; a span ends one step after its last sample."""

    params: MotionSearchParams
    spans: list[MotionSpan] = field(default_factory=list)
    start: datetime | None = None
    last: datetime | None = None
    peak: datetime | None = None
    score: float = 0.0

    def add(self, at: datetime, fraction: float | None) -> None:
        if fraction is None or fraction < self.params.min_changed_fraction:
            self.close()
            return
        if self.start is None:
            self.start, self.peak, self.score = at, at, fraction
        elif fraction > self.score:
            self.peak, self.score = at, fraction
        self.last = at

    def close(self) -> None:
        if self.start is None or self.last is None or self.peak is None:
            return
        end = self.last + timedelta(seconds=self.params.step_seconds)
        if (end - self.start).total_seconds() >= self.params.min_span_seconds:
            self.spans.append(MotionSpan(self.start, end, self.peak, round(self.score, 4)))
        self.start = self.last = self.peak = None
        self.score = 0.0
