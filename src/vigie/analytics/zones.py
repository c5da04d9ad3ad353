"""Zones applied to detections: polygon membership, directed line crossings, time spent in a zone.

Small components in the supervision shape (``zone.trigger(detections, frame_size) -> mask``). Zones are drawn in
normalised coordinates (they survive a change of stream resolution); detections are in pixels of the analysed
frame, so each zone scales itself to the frame size at first use and caches the result for that size.

Every per-track memory here is bounded twice: a track not seen for ``forget_after_s`` seconds is forgotten, and
no more than ``max_tracks`` tracks are remembered (the least recently seen go first).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import cv2
import numpy as np

from vigie.config.zones import AnalysisZone, DirectedLineZone, LineDirection, PrivacyMaskZone
from vigie.domain.detections import BoolArray, Detections, FloatArray, ObjectClass
from vigie.domain.geometry import Box, Point
from vigie.domain.ports import Frame

FrameSize = tuple[int, int]
"""``(width, height)`` of the analysed frame, in pixels."""

Instant = float | datetime
"""When a frame was taken: seconds on any monotonic clock, or a timezone-aware datetime."""

DEFAULT_FORGET_AFTER_S = 10.0
DEFAULT_MAX_TRACKS = 4096


class Anchor(enum.StrEnum):
    """Which point of a box stands for the object when testing zones and lines."""

    BOTTOM_CENTER = "bottom_center"
    """Where a person or vehicle touches the ground: what a zone drawn on the ground means."""
    CENTER = "center"
    """The middle of the box: for regions with no ground contact (motion regions, hot spots)."""


def anchor_points(detections: Detections, anchor: Anchor | None = None) -> FloatArray:
    """N×2 anchor points in pixels; ``None`` picks per class (centre for motion and hot spots, else bottom centre)."""
    if anchor is Anchor.CENTER:
        return detections.centers
    bottom = detections.bottom_centers
    if anchor is Anchor.BOTTOM_CENTER or len(detections) == 0:
        return bottom
    ids = detections.class_ids
    use_center = (ids == int(ObjectClass.MOTION)) | (ids == int(ObjectClass.HOT_SPOT))
    if not use_center.any():
        return bottom
    return np.where(use_center[:, None], detections.centers, bottom).astype(np.float32)


def class_filter(detections: Detections, classes: frozenset[int] | None) -> BoolArray:
    """True for the detections whose class is in ``classes`` (every detection when ``classes`` is ``None``)."""
    if classes is None:
        return np.ones(len(detections), np.bool_)
    ids = detections.class_ids
    keep = np.zeros(len(ids), np.bool_)
    for class_id in classes:  # a handful of classes: cheaper than np.isin's sort on every frame
        keep |= ids == class_id
    return keep


def _class_set(classes: Iterable[ObjectClass] | None) -> frozenset[int] | None:
    return None if classes is None else frozenset(int(c) for c in classes)


def _seconds(at: Instant) -> float:
    return at.timestamp() if isinstance(at, datetime) else float(at)


class PolygonZone:
    """A polygon; ``trigger`` says which detections have their anchor inside it.

    Membership is read from the rasterised polygon (the same pixels ``mask`` returns), so a zone and its drawing
    on the console always agree, and testing N detections is one array lookup.
    """

    def __init__(
        self,
        polygon: Sequence[Point],
        classes: Iterable[ObjectClass] | None = None,
        anchor: Anchor | None = None,
    ) -> None:
        if len(polygon) < 3:
            raise ValueError(f"a polygon zone needs at least 3 points, got {len(polygon)}")
        self.polygon: tuple[Point, ...] = tuple((float(x), float(y)) for x, y in polygon)
        self.classes = _class_set(classes)
        self.anchor = anchor
        self._cached: tuple[FrameSize, BoolArray] | None = None

    @classmethod
    def from_config(
        cls,
        zone: AnalysisZone | PrivacyMaskZone,
        classes: Iterable[ObjectClass] | None = None,
        anchor: Anchor | None = None,
    ) -> PolygonZone:
        return cls(zone.points, classes, anchor)

    def mask(self, frame_size: FrameSize) -> BoolArray:
        """H×W boolean raster of the polygon at this frame size (cached; do not modify it)."""
        if self._cached is not None and self._cached[0] == frame_size:
            return self._cached[1]
        width, height = frame_size
        if width <= 0 or height <= 0:
            raise ValueError(f"frame size must be positive (width, height), got {frame_size}")
        raster = np.zeros((height, width), np.uint8)
        pts = np.array([[round(x * (width - 1)), round(y * (height - 1))] for x, y in self.polygon], np.int32)
        cv2.fillPoly(raster, [pts], 1)
        mask = raster.astype(np.bool_)
        mask.flags.writeable = False
        self._cached = (frame_size, mask)
        return mask

    def trigger(self, detections: Detections, frame_size: FrameSize) -> BoolArray:
        """One boolean per detection: of a watched class and anchored inside the polygon."""
        keep = class_filter(detections, self.classes)
        if not keep.any():
            return keep
        mask = self.mask(frame_size)
        width, height = frame_size
        points = anchor_points(detections, self.anchor)
        xs = np.clip(np.rint(points[:, 0]), 0, width - 1).astype(np.intp)
        ys = np.clip(np.rint(points[:, 1]), 0, height - 1).astype(np.intp)
        inside = mask[ys, xs]
        # Anchors outside the frame are outside the zone, whatever the clipped pixel says.
        in_frame = (points[:, 0] >= 0) & (points[:, 0] <= width) & (points[:, 1] >= 0) & (points[:, 1] <= height)
        return np.asarray(keep & inside & in_frame, np.bool_)


@dataclass(slots=True)
class _LineState:
    side: int
    """Last side the anchor was clearly on (outside the hysteresis band): -1 left, +1 right."""
    anchor: tuple[float, float]
    """Anchor (pixels) when it was last clearly on ``side``."""
    seen: float


class LineCounter:
    """Counts tracks crossing a directed segment, once per crossing.

    Sides follow :class:`vigie.config.zones.LineDirection`: from the first point looking at the second, "in" is a
    crossing from the left-hand side to the right-hand side, "out" the other way. ``direction`` says which are
    reported: ``left_to_right`` reports only "in", ``right_to_left`` only "out", ``both`` both.

    A track's side changes only when its anchor is farther than ``hysteresis`` (a fraction of the frame
    diagonal) from the line, so an anchor jittering on the line counts nothing, and a crossing counts only if
    the path from the last clear side to the new one passes between the segment's end points.
    """

    def __init__(
        self,
        line: tuple[Point, Point],
        direction: LineDirection = LineDirection.BOTH,
        *,
        classes: Iterable[ObjectClass] | None = None,
        anchor: Anchor | None = None,
        hysteresis: float = 0.01,
        forget_after_s: float = DEFAULT_FORGET_AFTER_S,
        max_tracks: int = DEFAULT_MAX_TRACKS,
    ) -> None:
        (x0, y0), (x1, y1) = line
        if abs(x1 - x0) < 1e-9 and abs(y1 - y0) < 1e-9:
            raise ValueError("a counting line needs two distinct points")
        if hysteresis < 0 or forget_after_s <= 0 or max_tracks < 1:
            raise ValueError("hysteresis must be ≥ 0, forget_after_s > 0 and max_tracks ≥ 1")
        self.line = ((float(x0), float(y0)), (float(x1), float(y1)))
        self.direction = LineDirection(direction)
        self.classes = _class_set(classes)
        self.anchor = anchor
        self.hysteresis = hysteresis
        self.forget_after_s = forget_after_s
        self.max_tracks = max_tracks
        self.in_count = 0
        self.out_count = 0
        self._size: FrameSize | None = None
        self._tracks: dict[int, _LineState] = {}
        """Ordered from least to most recently seen (entries are moved to the end on update)."""

    @classmethod
    def from_config(
        cls,
        zone: DirectedLineZone,
        classes: Iterable[ObjectClass] | None = None,
        anchor: Anchor | None = None,
        hysteresis: float = 0.01,
        forget_after_s: float = DEFAULT_FORGET_AFTER_S,
    ) -> LineCounter:
        return cls(
            zone.points,
            zone.direction,
            classes=classes,
            anchor=anchor,
            hysteresis=hysteresis,
            forget_after_s=forget_after_s,
        )

    @property
    def tracked(self) -> int:
        """How many track ids are remembered now (bounded by ``max_tracks``)."""
        return len(self._tracks)

    def _geometry(self, frame_size: FrameSize) -> tuple[np.ndarray, np.ndarray, float]:
        width, height = frame_size
        (x0, y0), (x1, y1) = self.line
        start = np.array([x0 * width, y0 * height], np.float64)
        end = np.array([x1 * width, y1 * height], np.float64)
        return start, end, self.hysteresis * float(np.hypot(width, height))

    def trigger(self, detections: Detections, frame_size: FrameSize, at: Instant) -> tuple[BoolArray, BoolArray]:
        """``(crossed_in, crossed_out)``: one boolean per detection, true on the frame where its track crossed.

        Detections without a track id (-1) or of an unwatched class are ignored.
        """
        now = _seconds(at)
        n = len(detections)
        crossed_in = np.zeros(n, np.bool_)
        crossed_out = np.zeros(n, np.bool_)
        if self._size != frame_size:
            self._tracks.clear()  # anchors are in pixels of the old size
            self._size = frame_size
        self._forget(now)
        candidates = np.flatnonzero(class_filter(detections, self.classes) & (detections.track_ids >= 0))
        if len(candidates) == 0:
            return crossed_in, crossed_out
        start, end, band = self._geometry(frame_size)
        along = end - start
        length = float(np.hypot(*along))
        points = anchor_points(detections, self.anchor)[candidates].astype(np.float64)
        rel = points - start
        # Signed distance to the line; image y grows downwards, so negative is the viewer's left.
        distance = (along[0] * rel[:, 1] - along[1] * rel[:, 0]) / length
        for k, index in enumerate(candidates):
            track_id = int(detections.track_ids[index])
            point = (float(points[k, 0]), float(points[k, 1]))
            d = float(distance[k])
            side = 0 if abs(d) <= band else (1 if d > 0 else -1)
            state = self._tracks.pop(track_id, None)
            if state is None:
                state = _LineState(side, point, now)
            elif side not in {0, state.side}:
                if state.side != 0 and self._within_segment(state.anchor, point, start, along):
                    if side > 0:
                        crossed_in[index] = True
                    else:
                        crossed_out[index] = True
                state.side = side
            if side != 0:
                state.anchor = point
            state.seen = now
            self._tracks[track_id] = state
        while len(self._tracks) > self.max_tracks:
            del self._tracks[next(iter(self._tracks))]
        if self.direction is LineDirection.LEFT_TO_RIGHT:
            crossed_out[:] = False
        elif self.direction is LineDirection.RIGHT_TO_LEFT:
            crossed_in[:] = False
        self.in_count += int(crossed_in.sum())
        self.out_count += int(crossed_out.sum())
        return crossed_in, crossed_out

    @staticmethod
    def _within_segment(
        before: tuple[float, float], after: tuple[float, float], start: np.ndarray, along: np.ndarray
    ) -> bool:
        """Whether the path before → after meets the line between its two end points (not beyond an end)."""
        p, q = np.asarray(before), np.asarray(after)
        dp = along[0] * (p[1] - start[1]) - along[1] * (p[0] - start[0])
        dq = along[0] * (q[1] - start[1]) - along[1] * (q[0] - start[0])
        if dp == dq:
            return False
        crossing = p + (q - p) * (dp / (dp - dq))
        t = float(np.dot(crossing - start, along) / np.dot(along, along))
        return 0.0 <= t <= 1.0

    def _forget(self, now: float) -> None:
        horizon = now - self.forget_after_s
        while self._tracks:
            oldest = next(iter(self._tracks))
            if self._tracks[oldest].seen >= horizon:
                break
            del self._tracks[oldest]


@dataclass(slots=True)
class _Stay:
    entered: float
    seen: float


class DwellTimer:
    """How long each track has been inside a polygon zone, continuously.

    A track seen outside the zone starts from zero when it comes back; a track that is not seen at all (missed
    detections, occlusion) keeps its time for up to ``forget_after_s`` seconds.
    """

    def __init__(
        self,
        zone: PolygonZone,
        forget_after_s: float = DEFAULT_FORGET_AFTER_S,
        max_tracks: int = DEFAULT_MAX_TRACKS,
    ) -> None:
        if forget_after_s <= 0 or max_tracks < 1:
            raise ValueError("forget_after_s must be > 0 and max_tracks ≥ 1")
        self.zone = zone
        self.forget_after_s = forget_after_s
        self.max_tracks = max_tracks
        self._stays: dict[int, _Stay] = {}
        """Ordered from least to most recently seen."""

    @classmethod
    def from_config(
        cls,
        zone: AnalysisZone,
        classes: Iterable[ObjectClass] | None = None,
        anchor: Anchor | None = None,
        forget_after_s: float = DEFAULT_FORGET_AFTER_S,
    ) -> DwellTimer:
        return cls(PolygonZone.from_config(zone, classes, anchor), forget_after_s)

    @property
    def tracked(self) -> int:
        """How many track ids are remembered now (bounded by ``max_tracks``)."""
        return len(self._stays)

    def update(self, detections: Detections, frame_size: FrameSize, at: Instant) -> dict[int, float]:
        """Seconds spent in the zone so far by every track inside it in this frame (keyed by track id)."""
        now = _seconds(at)
        horizon = now - self.forget_after_s
        while self._stays:
            oldest = next(iter(self._stays))
            if self._stays[oldest].seen >= horizon:
                break
            del self._stays[oldest]
        inside = self.zone.trigger(detections, frame_size)
        tracked = detections.track_ids >= 0
        for track_id in detections.track_ids[tracked & ~inside].tolist():
            self._stays.pop(int(track_id), None)
        dwell: dict[int, float] = {}
        for track_id in detections.track_ids[tracked & inside].tolist():
            stay = self._stays.pop(int(track_id), None) or _Stay(now, now)
            stay.seen = now
            self._stays[int(track_id)] = stay
            dwell[int(track_id)] = now - stay.entered
        while len(self._stays) > self.max_tracks:
            del self._stays[next(iter(self._stays))]
        return dwell


class ZoneLimit:
    """Where an activation limited to some zones lets a module look (issue #14, D5): pixels outside the union of
    the zones are blanked before the module reads the frame, detections anchored outside are dropped before it
    sees them, and a hit whose region's centre is outside is discarded. An empty limit (the activation's zones
    are not on this camera) lets nothing through."""

    def __init__(self, zones: Sequence[PolygonZone]) -> None:
        self.zones = tuple(zones)
        self._cached: tuple[FrameSize, BoolArray] | None = None

    def mask(self, frame_size: FrameSize) -> BoolArray:
        """H×W union of the zones at this size (cached; do not modify it)."""
        if self._cached is not None and self._cached[0] == frame_size:
            return self._cached[1]
        width, height = frame_size
        union = np.zeros((height, width), np.bool_)
        for zone in self.zones:
            union |= zone.mask(frame_size)
        self._cached = (frame_size, union)
        return union

    def frame(self, frame: Frame) -> Frame:
        """A copy of ``frame`` with every pixel outside the zones set to black."""
        inside = self.mask((frame.shape[1], frame.shape[0]))
        limited = np.zeros_like(frame)
        limited[inside] = frame[inside]
        return limited

    def detections(self, detections: Detections, frame_size: FrameSize) -> Detections:
        """The detections anchored inside one of the zones."""
        if not len(detections):
            return detections
        inside = np.zeros(len(detections), np.bool_)
        for zone in self.zones:
            inside |= zone.trigger(detections, frame_size)
        return detections[inside]

    def contains(self, region: Box, frame_size: FrameSize) -> bool:
        """Whether the centre of a normalised region lies inside the zones."""
        width, height = frame_size
        x = min(max(int((region.x + region.w / 2) * width), 0), width - 1)
        y = min(max(int((region.y + region.h / 2) * height), 0), height - 1)
        return bool(self.mask(frame_size)[y, x])


def zone_limit(zone_ids: Sequence[str], polygons: Mapping[str, PolygonZone]) -> ZoneLimit | None:
    """The limit of an activation's ``zone_ids`` on a camera whose analysis zones are ``polygons`` by id; None when
    the activation names no zone (the whole image)."""
    if not zone_ids:
        return None
    return ZoneLimit([polygons[z] for z in zone_ids if z in polygons])
