"""Which boxes to blur on every frame of a clip, from detections made on a few of them.

The detector runs at a reduced rate (5 pictures a second by default); a person walking at 1.5 m/s crosses a good
part of their own width between two analysed pictures, so a box held still would leave them visible on the frames
in between. :class:`BoxPlanner` therefore keeps, per track, the boxes where it was seen ("sightings") and gives for
any frame instant:

- the box itself on an analysed frame (``detected``);
- between two sightings of the same track no more than ``max_gap`` seconds apart, the box **interpolated
  linearly** (corners) between them (``interpolated``);
- within ``hold`` seconds after a track's last sighting (or before its first), the last (first) box **united with
  the same box moved on** at the track's velocity from its two last (first) sightings (``held``): a person leaving
  or entering the picture, or a track the detector lost for a moment, stays covered;
- a detection the tracker gave no identity (a low score, a track too young) is held the same way on both sides.

Every box is grown by ``margin`` of its width (height) on each side, clipped to the picture. A reviewer's choices
come last: ``keep_clear`` removes the boxes of a track (by the number the planner reported) or those lying mostly
inside a box during a time range (the requester's own region), ``manual`` adds boxes during a time range; a manual
box always wins over a keep-clear choice.

Pure: no pixels, no detector; the streaming of frames around it is :mod:`vigie.privacy.redact`.

Written here rather than taken from a library: trackers (ByteTrack, norfair, supervision's) predict forward
only, and the offline interpolation of MOT toolkits (ByteTrack's ``tools/interpolation.py``) fills gaps of a
finished track file without the holding at track ends, the untracked detections, the growth and the reviewer's
choices that hiding people needs; what is left is a few lines over the tracker's output.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from vigie.domain.detections import Detections, ObjectClass

EPSILON = 1e-3
"""Seconds under which two instants are the same frame (timestamps of decoded frames are rounded)."""

REDACTED_CLASSES = frozenset(
    {
        ObjectClass.PERSON,
        ObjectClass.BICYCLE,
        ObjectClass.CAR,
        ObjectClass.MOTORCYCLE,
        ObjectClass.BUS,
        ObjectClass.TRUCK,
    }
)
"""Persons and every vehicle class the detector reports (COCO bicycle, car, motorcycle, bus, truck). A vehicle is
blurred whole, which covers its plate: no plate detector is needed for that (a dedicated one is future work, for
plates seen without their vehicle's box, e.g. a vehicle the detector missed)."""

Source = Literal["detected", "interpolated", "held", "manual"]


class RedactionError(ValueError):
    """Redaction asked with values that cannot work; the message names the value and what is accepted."""


def _finite(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise RedactionError(f"{name} must be a finite number (got {value})")


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Seconds from the clip's first frame, both ends included."""

    start: float
    end: float

    def __post_init__(self) -> None:
        _finite("time range start", self.start)
        _finite("time range end", self.end)
        if self.start < 0 or self.end < self.start:
            raise RedactionError(
                f"a time range needs 0 ≤ start ≤ end in seconds from the clip's start (got {self.start}–{self.end})"
            )

    def holds(self, at: float) -> bool:
        return self.start - EPSILON <= at <= self.end + EPSILON


@dataclass(frozen=True, slots=True)
class PixelBox:
    """A box in pixels of the clip's frames: left, top, right, bottom."""

    x1: float
    y1: float
    x2: float
    y2: float

    def __post_init__(self) -> None:
        for name in ("x1", "y1", "x2", "y2"):
            _finite(f"box {name}", getattr(self, name))
        if not (self.x2 > self.x1 and self.y2 > self.y1):
            raise RedactionError(
                f"a box needs x1 < x2 and y1 < y2 in pixels (got {self.x1}, {self.y1}, {self.x2}, {self.y2})"
            )


@dataclass(frozen=True, slots=True)
class KeepClear:
    """A reviewer's choice to leave someone unblurred (the requester): a track number the planner reported for
    this clip, during ``during`` or the whole clip; or a box, during ``during`` (required), whose blurred boxes are
    dropped when at least ``RedactionOptions.keep_overlap`` of their area lies inside it. Track numbers are those of
    a run with the same detector, options and clip (the planner is deterministic)."""

    track_id: int | None = None
    box: PixelBox | None = None
    during: TimeRange | None = None

    def __post_init__(self) -> None:
        if (self.track_id is None) == (self.box is None):
            raise RedactionError("a keep-clear choice names either a track_id or a box, not both and not neither")
        if self.track_id is not None and self.track_id < 0:
            raise RedactionError(f"track_id must be a track number the redaction reported (≥ 0), got {self.track_id}")
        if self.box is not None and self.during is None:
            raise RedactionError("a keep-clear box needs a time range (during): a region is never cleared for a clip")


@dataclass(frozen=True, slots=True)
class ManualBox:
    """A box a reviewer adds: blurred on every frame within ``during``, whatever was detected."""

    box: PixelBox
    during: TimeRange


@dataclass(frozen=True, slots=True)
class RedactionOptions:
    """How boxes are found and grown. Defaults: the issue's 5 analysed pictures a second, a 15 % margin."""

    detect_fps: float = 5.0
    """Pictures analysed per second of footage (0.5 to 60; above the clip's rate, every frame is analysed)."""
    margin: float = 0.15
    """Growth of each box on each side, as a fraction of its width (left, right) and height (top, bottom). 0.15
    rather than 0.10: on TUD-Campus, a small detector's person boxes miss swinging arms and legs, and 0.10 left
    2.8 % of the ground-truth persons less than 99 % covered where 0.15 leaves 0.8 % (docs/privacy.md)."""
    hold: float = 0.4
    """Seconds a track's box is held (and moved on at its velocity) after its last and before its first sighting."""
    max_gap: float = 1.0
    """Longest time between two sightings of a track across which its box is interpolated (≥ 1 / detect_fps)."""
    min_score: float = 0.0
    """Detections below this score are ignored (the detector's own threshold applies first)."""
    blocks: int = 8
    """Pixelation: at most this many blocks across each side of a box (1 to 8), then a blur of one block."""
    batch: int = 1
    """Analysed pictures per detector call (1 to 64): more suits a GPU, 1 a CPU core."""
    keep_overlap: float = 0.5
    """A keep-clear box removes blurred boxes having at least this fraction of their area inside it."""
    keep_clear: tuple[KeepClear, ...] = ()
    manual: tuple[ManualBox, ...] = ()
    classes: frozenset[ObjectClass] = field(default=REDACTED_CLASSES)
    """What is blurred: persons and vehicles; narrowing it is refused (nothing detected may be left visible)."""

    def __post_init__(self) -> None:
        checks = (
            ("detect_fps", self.detect_fps, 0.5, 60.0, "pictures a second"),
            ("margin", self.margin, 0.0, 1.0, "of a box's size"),
            ("hold", self.hold, 0.0, 5.0, "seconds"),
            ("max_gap", self.max_gap, 0.0, 10.0, "seconds"),
            ("min_score", self.min_score, 0.0, 1.0, ""),
            ("keep_overlap", self.keep_overlap, 0.01, 1.0, "of a box's area"),
        )
        for name, value, low, high, unit in checks:
            _finite(name, value)
            if not low <= value <= high:
                raise RedactionError(f"{name} must be between {low:g} and {high:g} {unit} (got {value})".rstrip())
        if self.max_gap + EPSILON < 1.0 / self.detect_fps:
            raise RedactionError(
                f"max_gap ({self.max_gap} s) is shorter than the time between analysed pictures "
                f"(1/{self.detect_fps:g} s): nothing could be interpolated; raise max_gap or detect_fps"
            )
        if not 1 <= self.blocks <= 8:
            raise RedactionError(f"blocks must be between 1 and 8 across a box (got {self.blocks})")
        if not 1 <= self.batch <= 64:
            raise RedactionError(f"batch must be between 1 and 64 pictures (got {self.batch})")
        if not self.classes >= REDACTED_CLASSES:
            missing = ", ".join(c.name.lower() for c in sorted(REDACTED_CLASSES - self.classes))
            raise RedactionError(f"classes must include every person and vehicle class (missing: {missing})")

    @property
    def horizon(self) -> float:
        """Seconds of footage after a frame that must be analysed before that frame's boxes are final."""
        return max(self.max_gap, self.hold)


@dataclass(frozen=True, slots=True)
class BlurBox:
    """A box blurred on one frame, in whole pixels (x2, y2 excluded), already grown and clipped."""

    x1: int
    y1: int
    x2: int
    y2: int
    source: Source
    track_id: int | None = None
    """The track's number within this clip (what a keep-clear choice names); None for a manual box or a detection
    the tracker gave no identity."""
    class_id: int | None = None
    """``ObjectClass`` of the detection; None for a manual box."""


@dataclass(frozen=True, slots=True)
class FrameBoxes:
    """The boxes blurred on one frame: what a reviewer checks frame by frame."""

    index: int
    time: float
    """Seconds from the clip's first frame."""
    boxes: tuple[BlurBox, ...]


@dataclass(slots=True)
class _Sighting:
    at: float
    box: np.ndarray  # x1, y1, x2, y2 float64


@dataclass(slots=True)
class _Track:
    class_id: int
    reported: bool
    """Whether the tracker named it (its number is shown); else a detection held alone."""
    sightings: list[_Sighting] = field(default_factory=list)


class BoxPlanner:
    """The boxes of every frame from sightings given in time order. Bounded: tracks and sightings older than the
    frames still asked for (``release``) are forgotten."""

    def __init__(self, options: RedactionOptions, width: int, height: int) -> None:
        if width < 1 or height < 1:
            raise RedactionError(f"frame size must be positive (got {width}×{height})")
        self.options, self.width, self.height = options, width, height
        self._tracks: dict[int, _Track] = {}
        self._orphans = 0
        self._last = -math.inf

    def add(self, at: float, found: Detections) -> None:
        """The detections of the picture analysed at ``at`` seconds; ``track_ids`` ≥ 0 for those the tracker
        named, -1 for the others (held alone). Instants must increase."""
        if at <= self._last:
            raise RedactionError(f"analysed pictures must come in time order ({at} s after {self._last} s)")
        self._last = at
        for box, class_id, track_id in zip(found.boxes, found.class_ids, found.track_ids, strict=True):
            if int(class_id) not in self.options.classes:
                continue
            if track_id >= 0:
                key, reported = int(track_id), True
            else:
                self._orphans += 1
                key, reported = -self._orphans, False
            track = self._tracks.setdefault(key, _Track(int(class_id), reported))
            track.sightings.append(_Sighting(at, np.asarray(box, np.float64).copy()))

    def release(self, before: float) -> None:
        """Frames before ``before`` will not be asked for again: drop what only they needed."""
        keep_from = before - self.options.horizon - EPSILON
        for key in list(self._tracks):
            sightings = self._tracks[key].sightings
            if sightings[-1].at < keep_from:
                del self._tracks[key]
                continue
            first_needed = max(0, bisect_right([s.at for s in sightings], keep_from) - 2)  # 2 kept for velocity
            del sightings[:first_needed]

    def boxes_at(self, index: int, at: float) -> FrameBoxes:
        opts = self.options
        out: list[BlurBox] = []
        for key, track in self._tracks.items():
            track_id = key if track.reported else None
            if track_id is not None and _cleared_track(opts.keep_clear, track_id, at):
                continue
            for raw, source in _track_boxes(track.sightings, at, opts):
                box = self._grown(raw)
                if box is not None and not _cleared_region(opts, box, at):
                    out.append(BlurBox(*box, source=source, track_id=track_id, class_id=track.class_id))
        for manual in opts.manual:
            if manual.during.holds(at):
                b = manual.box
                clipped = self._clipped(b.x1, b.y1, b.x2, b.y2)
                if clipped is not None:
                    out.append(BlurBox(*clipped, source="manual"))
        return FrameBoxes(index, at, tuple(out))

    def _grown(self, box: np.ndarray) -> tuple[int, int, int, int] | None:
        x1, y1, x2, y2 = (float(v) for v in box)
        dx, dy = (x2 - x1) * self.options.margin, (y2 - y1) * self.options.margin
        return self._clipped(x1 - dx, y1 - dy, x2 + dx, y2 + dy)

    def _clipped(self, x1: float, y1: float, x2: float, y2: float) -> tuple[int, int, int, int] | None:
        left, top = max(0, math.floor(x1)), max(0, math.floor(y1))
        right, bottom = min(self.width, math.ceil(x2)), min(self.height, math.ceil(y2))
        if right <= left or bottom <= top:
            return None
        return left, top, right, bottom


def _track_boxes(sightings: Sequence[_Sighting], at: float, opts: RedactionOptions) -> list[tuple[np.ndarray, Source]]:
    """The raw (not grown) boxes of one track at ``at``: none, one, or two (held from both sides of a long gap)."""
    i = bisect_right([s.at for s in sightings], at + EPSILON)
    before = sightings[i - 1] if i > 0 else None
    after = sightings[i] if i < len(sightings) else None
    if before is not None and at - before.at <= EPSILON:
        return [(before.box, "detected")]
    if before is not None and after is not None and after.at - before.at <= opts.max_gap + EPSILON:
        w = (at - before.at) / (after.at - before.at)
        return [(before.box + w * (after.box - before.box), "interpolated")]
    out: list[tuple[np.ndarray, Source]] = []
    if before is not None and at - before.at <= opts.hold + EPSILON:
        previous = sightings[i - 2] if i >= 2 else None
        out.append((_moved_on(before, previous, at, opts.max_gap), "held"))
    if after is not None and after.at - at <= opts.hold + EPSILON:
        following = sightings[i + 1] if i + 1 < len(sightings) else None
        out.append((_moved_on(after, following, at, opts.max_gap), "held"))
    return out


def _moved_on(end: _Sighting, other: _Sighting | None, at: float, max_gap: float) -> np.ndarray:
    """``end``'s box united with the same box moved to ``at`` at the velocity between ``other`` and ``end`` (when
    they are close enough in time to tell one): covers both where it was and where it was going."""
    if other is None or abs(end.at - other.at) > max_gap + EPSILON or end.at == other.at:
        return end.box
    centre = (end.box[[0, 1]] + end.box[[2, 3]]) / 2
    centre_other = (other.box[[0, 1]] + other.box[[2, 3]]) / 2
    shift = (centre - centre_other) / (end.at - other.at) * (at - end.at)
    moved = end.box + np.concatenate([shift, shift])
    return np.concatenate([np.minimum(end.box[:2], moved[:2]), np.maximum(end.box[2:], moved[2:])])


def _cleared_track(choices: Sequence[KeepClear], track_id: int, at: float) -> bool:
    return any(c.track_id == track_id and (c.during is None or c.during.holds(at)) for c in choices)


def _cleared_region(opts: RedactionOptions, box: tuple[int, int, int, int], at: float) -> bool:
    x1, y1, x2, y2 = box
    area = (x2 - x1) * (y2 - y1)
    for choice in opts.keep_clear:
        if choice.box is None or choice.during is None or not choice.during.holds(at):
            continue
        k = choice.box
        inside = max(0.0, min(x2, k.x2) - max(x1, k.x1)) * max(0.0, min(y2, k.y2) - max(y1, k.y1))
        if inside >= opts.keep_overlap * area:
            return True
    return False
