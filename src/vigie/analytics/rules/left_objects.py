"""Objects left in the scene, found in the picture rather than by a detector: the candidate stage of
``abandoned_object``.

COCO detectors do not see a bag once it lies on the ground (not even at score 0.15, issue 20), so a module that
waits for a detector's "bag" waits for ever. This finds *static foreground* instead — the classic dual-background
method (Porikli; Lin et al., "Abandoned object detection via temporal consistency modeling and back-tracing
verification", IEEE TIFS 2015) — and lets the detector say what it is *not*:

- two backgrounds of the grey analysis picture (scaled to at most ``WORK_WIDTH`` px, blurred): a **long-term** one
  that learns slowly and only where the picture matches it (selective update, so an object that stays is never
  learnt into it), and a **short-term** one that follows the picture within about a second. A pixel that differs
  from the long-term background but matches the short-term one is *static foreground*: something new that stopped
  moving. Evidence accumulates per pixel; pixels static for ``stable_s`` are joined into blobs, kept when their area
  is within the frame-relative limits;
- **lighting**: the picture is divided by its global gain against the long-term background (the median ratio over
  the pixels free of people) before anything is compared, so a cloud or a street light switching on everywhere
  changes nothing; when more than ``RELEARN_FRACTION`` of the picture free of people still differs (a change too
  large to be an object), both backgrounds are learnt again from the current picture and the evidence is dropped; a
  local change (a lit shop window) is a blob nobody brought;
- **people and vehicles**: pixels inside a detected person's or vehicle's box (grown by a tenth of its size) in the
  last ``COVER_HOLD_S`` are never candidates: a person standing still for a minute, sitting or lying is a person;
- **back-tracing**: a blob is an object only if a tracked person brought it — the person whose box, grown by the
  module's ``owner_margin``, held the blob's place when it appeared (the pixels' first foreground time), or, when
  the detector missed them there, the one the movement leaving that place leads to (:meth:`StaticForeground.trace`)
  — and only if it is smaller than them. A blob nobody brought (a lighting patch, a shadow, a car parking), a blob
  that *is* that person (its box overlaps theirs by ``SELF_IOU``: someone the detector lost for a while) and a
  *ghost* (an object taken away: the outline has edges in the background and none in the picture) are learnt into
  the long-term background and forgotten. (The decisions are the module's: ``abandoned_object``.) A blob inside a
  foreground region larger than ``max_area`` is no candidate either: a piece of a lying person the detector does not
  see, cut off by a passer-by's box (seen on the photo-real plaza, issue 20), is not an object.

Why running averages rather than OpenCV's MOG2/KNN subtractors: those learn at a per-frame rate with no mask, so a
bag left long enough is learnt into the long-term model whatever one does, their rate depends on the analysis fps,
and their gain handling is their own; here both rates are in seconds (a camera at 2 or 10 fps behaves the same),
the long-term model skips the foreground, and the whole stage is a few array operations on ≈ 320×180 pixels
(``bench/event_modules.py`` measures it).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from vigie.domain.ports import Frame

WORK_WIDTH = 320
"""Pixels across the picture the stage works on (analysis frames are 320–640 px wide)."""
LONG_TAU_S = 120.0
"""Time constant of the long-term background where the picture matches it."""
SHORT_TAU_S = 1.0
"""Time constant of the short-term background: what stays still for about this long is part of it."""
DIFF = 18.0
"""Grey levels (of 255, after gain normalisation and a 5×5 blur) between a picture and a background that count as
different; ``RELATIVE_DIFF`` of the background's level when that is more."""
RELATIVE_DIFF = 0.12
WARM_UP_S = 2.0
"""The long-term background of a pixel is learnt quickly (as a mean) during its first seconds free of people and
vehicles; it cannot be a candidate before."""
RELEARN_FRACTION = 0.3
"""More of the picture than this differing from the long-term background at once is a lighting change."""
COVER_HOLD_S = 1.0
"""Seconds after a person's or vehicle's box last covered a pixel during which it cannot be a candidate."""
SELF_IOU = 0.4
"""A blob that overlaps its back-traced person's box this much is that person, not something they left."""
TRAIL_S = 12.0
"""Seconds of moving-foreground masks (half the work scale) kept for back-tracing by movement."""
TRACE_S = 8.0
"""How long after an object appeared its carrier is followed, by movement, to a tracked person."""
TRACE_GAP_S = 1.0
"""The carrier's movement, followed frame after frame, may vanish this long (a frame or two at 5 fps), no more."""
HISTORY_S = 30.0
"""How far back the people's boxes are kept for back-tracing."""


@dataclass(frozen=True, slots=True)
class Blob:
    """A static-foreground blob: box in pixels of the analysis frame, since when its pixels differ from the
    long-term background, and its pixel mask (work scale) to forget it with."""

    box: np.ndarray
    onset: float
    rows: slice
    cols: slice
    mask: np.ndarray


@dataclass(frozen=True, slots=True)
class People:
    """The boxes (analysis-frame pixels) and track ids of the people of one frame, for back-tracing."""

    at: float
    boxes: np.ndarray
    track_ids: np.ndarray


class StaticForeground:
    """Dual-background static foreground of one camera's analysis pictures, in blobs (see the module's doc)."""

    def __init__(self, *, stable_s: float = 2.0, min_area: float = 0.0003, max_area: float = 0.05) -> None:
        self.stable_s = stable_s
        self.min_area = min_area
        self.max_area = max_area
        self._long: np.ndarray | None = None
        self._short = np.zeros((0, 0), np.float32)
        self._evidence = np.zeros((0, 0), np.float32)
        self._fg_since = np.zeros((0, 0), np.float64)
        self._covered = np.zeros((0, 0), np.float64)
        self._learnt = np.zeros((0, 0), np.float32)
        """Seconds each pixel was seen free of people and vehicles, up to the warm-up."""
        self._last = 0.0
        self._scale = 1.0
        self._trail: deque[tuple[float, np.ndarray]] = deque()
        """(time, moving foreground) of the last ``TRAIL_S`` seconds, for back-tracing by movement."""
        self.relearnt = 0
        """Times a lighting change made the backgrounds learn again (for tests and diagnostics)."""

    def update(self, frame: Frame, at: float, covers: np.ndarray) -> list[Blob]:
        """One analysis picture at ``at``; ``covers``: boxes (analysis-frame pixels) of people and vehicles.
        Returns the blobs static for ``stable_s``, within the size limits, not under a recent cover."""
        picture = self._prepare(frame)
        if self._long is None or self._long.shape != picture.shape or at < self._last:
            self._start(picture, at)
            return []
        dt = min(at - self._last, 2.0)
        self._last = at
        self._cover(covers, at)
        long = self._long
        uncovered = self._covered < at - COVER_HOLD_S
        # The global gain against the long-term background: the median ratio over the pixels free of people (every
        # 4th row and column is enough); objects are a small part of the picture, so they do not move the median.
        sample = uncovered[::4, ::4] & (long[::4, ::4] > 8)
        if sample.sum() > 0.1 * sample.size:
            gain = float(np.median(picture[::4, ::4][sample] / long[::4, ::4][sample]))
            if abs(gain - 1.0) > 0.02:
                picture = picture / max(gain, 1e-3)
        background = np.abs(picture - long) < np.maximum(DIFF, RELATIVE_DIFF * long)
        if (~background & uncovered).sum() > RELEARN_FRACTION * max(1, uncovered.sum()):  # lighting, not an object
            self.relearnt += 1
            self._start(picture, at)
            return []
        # Each pixel's first WARM_UP_S seconds free of people and vehicles: the long-term background is their mean
        # (someone in the picture when it starts is not learnt into it), and the pixel cannot be a candidate yet.
        learning = uncovered & (self._learnt < WARM_UP_S)
        self._learnt += np.where(uncovered, np.float32(dt), np.float32(0))
        weight = np.where(learning, dt / np.maximum(self._learnt, dt), 0).astype(np.float32)
        long += (picture - long) * weight
        background |= learning
        long += np.where(background & ~learning, (picture - long) * np.float32(1 - math.exp(-dt / LONG_TAU_S)), 0)
        short = self._short
        short += (picture - short) * np.float32(1 - math.exp(-dt / SHORT_TAU_S))
        still = np.abs(picture - short) < np.maximum(DIFF, RELATIVE_DIFF * short)
        foreground = ~background
        self._fg_since = np.where(foreground, np.minimum(self._fg_since, at), np.inf)
        static = foreground & still & uncovered
        evidence = self._evidence
        evidence += np.where(static, np.float32(dt), np.float32(-dt))
        np.clip(evidence, 0, 10 * self.stable_s, out=evidence)
        evidence[background] = 0
        moving = foreground & ~still
        self._trail.append((at, moving[::2, ::2].copy()))
        while self._trail and self._trail[0][0] < at - TRAIL_S:
            self._trail.popleft()
        return self._blobs(evidence >= self.stable_s, picture, foreground)

    def trace(self, blob: Blob, people: PeopleHistory) -> tuple[int, np.ndarray] | None:
        """Who carried the blob's object away from it when it appeared, when the detector did not see them at its
        place (a weak detector sees a walking person more easily than one bending down): the moving foreground
        touching the blob at its onset, followed frame after frame while it moves off, until a tracked person's
        box meets it. Returns that track id and its box then, or None."""
        if not self._trail:
            return None
        height, width = self._trail[0][1].shape
        scale = self._scale / 2
        x1, y1, x2, y2 = (blob.box * scale).tolist()
        grow = max(2.0, (y2 - y1) / 2)
        region = np.zeros((height, width), np.uint8)
        region[max(0, int(y1 - grow)) : math.ceil(y2 + grow), max(0, int(x1 - grow)) : math.ceil(x2 + grow)] = 1
        kernel = np.ones((5, 5), np.uint8)
        touched = blob.onset - 0.5
        for at, moving in self._trail:
            if at < blob.onset - 0.5:
                continue
            if at > blob.onset + TRACE_S or at - touched > TRACE_GAP_S:
                break  # the movement stopped: whoever comes by later did not carry it
            _, labels = cv2.connectedComponents(moving.astype(np.uint8), connectivity=8)
            touching = np.unique(labels[(region > 0) & moving])
            touching = touching[touching > 0]
            if not len(touching):
                continue  # nothing moving there in this frame: keep the region for the next one
            touched = at
            region = np.asarray(cv2.dilate(np.isin(labels, touching).astype(np.uint8), kernel), np.uint8)
            frame = people.at_time(at)
            if frame is None or not len(frame.boxes):
                continue
            for k, box in enumerate(frame.boxes * scale):
                c1, r1 = max(0, int(box[0])), max(0, int(box[1]))
                if region[r1 : math.ceil(box[3]), c1 : math.ceil(box[2])].any():
                    return int(frame.track_ids[k]), frame.boxes[k]
        return None

    def forget(self, blob: Blob) -> None:
        """Learn the blob's pixels into both backgrounds: it is not an object (nobody brought it, a ghost)."""
        assert self._long is not None
        area = (blob.rows, blob.cols)
        picture = self._short[area]
        self._long[area] = np.where(blob.mask, picture, self._long[area])
        self._evidence[area][blob.mask] = 0

    def edges_now_and_before(self, blob: Blob) -> tuple[float, float]:
        """Mean gradient on the blob's outline in the current picture and in the long-term background: an object
        put down has its outline in the picture, a ghost (an object taken away) in the background."""
        assert self._long is not None
        rows = slice(max(0, blob.rows.start - 2), blob.rows.stop + 2)
        cols = slice(max(0, blob.cols.start - 2), blob.cols.stop + 2)
        mask = np.zeros(self._long[rows, cols].shape, np.uint8)
        r0, c0 = blob.rows.start - rows.start, blob.cols.start - cols.start
        mask[r0 : r0 + blob.mask.shape[0], c0 : c0 + blob.mask.shape[1]] = blob.mask
        kernel = np.ones((3, 3), np.uint8)
        outline = (cv2.dilate(mask, kernel) - cv2.erode(mask, kernel)).astype(bool)

        def edges(image: np.ndarray) -> float:
            gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3)
            gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3)
            return float(np.hypot(gx, gy)[outline].mean()) if outline.any() else 0.0

        return edges(self._short[rows, cols]), edges(self._long[rows, cols])

    def reset(self) -> None:
        self._long = None
        self._trail.clear()

    def _prepare(self, frame: Frame) -> np.ndarray:
        image = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        height, width = image.shape[:2]
        self._scale = min(1.0, WORK_WIDTH / width)
        if self._scale < 1.0:
            size = (round(width * self._scale), max(1, round(height * self._scale)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        return np.asarray(cv2.GaussianBlur(image, (5, 5), 0), np.float32)

    def _start(self, picture: np.ndarray, at: float) -> None:
        self._long, self._short = picture.copy(), picture.copy()
        self._evidence = np.zeros(picture.shape, np.float32)
        self._fg_since = np.full(picture.shape, np.inf)
        self._covered = np.full(picture.shape, -np.inf)
        self._learnt = np.zeros(picture.shape, np.float32)
        self._trail.clear()
        self._last = at

    def _cover(self, boxes: np.ndarray, at: float) -> None:
        height, width = self._covered.shape
        for x1, y1, x2, y2 in (boxes * self._scale).tolist():
            gx, gy = 0.1 * (x2 - x1), 0.1 * (y2 - y1)
            c1, c2 = max(0, int(x1 - gx)), min(width, math.ceil(x2 + gx))
            r1, r2 = max(0, int(y1 - gy)), min(height, math.ceil(y2 + gy))
            self._covered[r1:r2, c1:c2] = at

    def _blobs(self, candidates: np.ndarray, picture: np.ndarray, foreground: np.ndarray) -> list[Blob]:
        if not candidates.any():
            return []
        count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates.astype(np.uint8), connectivity=8)
        area = picture.size
        # The whole foreground region each candidate lies in, people and passers-by included: a piece of something
        # larger than an object (a lying person the detector does not see, cut in two by someone walking past and
        # by the hold on their box) is not an object, however small the piece.
        _, regions, region_stats, _ = cv2.connectedComponentsWithStats(foreground.astype(np.uint8), connectivity=8)
        blobs = []
        for label in range(1, count):
            x, y, w, h, pixels = (int(v) for v in stats[label])
            if not self.min_area * area <= pixels <= self.max_area * area:
                continue
            inside = regions[y : y + h, x : x + w][labels[y : y + h, x : x + w] == label]
            if int(region_stats[int(np.bincount(inside).argmax()), cv2.CC_STAT_AREA]) > self.max_area * area:
                continue
            rows, cols = slice(y, y + h), slice(x, x + w)
            mask = labels[rows, cols] == label
            onset = float(np.median(self._fg_since[rows, cols][mask]))
            box = np.array([x, y, x + w, y + h], np.float64) / self._scale
            blobs.append(Blob(box, onset, rows, cols, mask))
        return blobs


class PeopleHistory:
    """The people's boxes of the last ``HISTORY_S`` seconds, to find who brought an object (back-tracing)."""

    def __init__(self, history_s: float = HISTORY_S) -> None:
        self.history_s = history_s
        self._frames: deque[People] = deque(maxlen=2048)

    def add(self, people: People) -> None:
        while self._frames and self._frames[0].at < people.at - self.history_s:
            self._frames.popleft()
        self._frames.append(people)

    def owner(self, box: np.ndarray, onset: float, margin: float) -> tuple[int, np.ndarray] | None:
        """The track whose box (grown by ``margin`` of its height) held the centre of ``box`` closest to
        ``onset`` (within a second before it to three after), with that box; None when nobody did."""
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        best: tuple[float, int, np.ndarray] | None = None
        for frame in self._frames:
            if not onset - 1.0 <= frame.at <= onset + 3.0 or not len(frame.boxes):
                continue
            near = _within(frame.boxes, cx, cy, margin)
            if not near.any():
                continue
            k = int(np.flatnonzero(near)[0])
            if near.sum() > 1:  # several: the one whose centre is closest
                centres = (frame.boxes[near][:, :2] + frame.boxes[near][:, 2:]) / 2
                k = int(np.flatnonzero(near)[int(np.hypot(centres[:, 0] - cx, centres[:, 1] - cy).argmin())])
            gap = abs(frame.at - onset)
            if best is None or gap < best[0]:
                best = (gap, int(frame.track_ids[k]), frame.boxes[k])
        return None if best is None else (best[1], best[2])

    def at_time(self, at: float) -> People | None:
        for frame in reversed(self._frames):
            if frame.at == at:
                return frame
            if frame.at < at:
                return None
        return None

    def last_near(self, box: np.ndarray, since: float, margin: float) -> float | None:
        """The last time since ``since`` someone's box (grown by ``margin``) held the centre of ``box``."""
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        for frame in reversed(self._frames):
            if frame.at < since:
                return None
            if len(frame.boxes) and _within(frame.boxes, cx, cy, margin).any():
                return frame.at
        return None

    def clear(self) -> None:
        self._frames.clear()


def _within(boxes: np.ndarray, cx: float, cy: float, margin: float) -> np.ndarray:
    """Which boxes, grown by ``margin`` of their height, contain the point — the module's rule of attendance."""
    grow = margin * (boxes[:, 3] - boxes[:, 1])
    inside = (boxes[:, 0] - grow <= cx) & (cx <= boxes[:, 2] + grow)
    return np.asarray(inside & (boxes[:, 1] - grow <= cy) & (cy <= boxes[:, 3] + grow), np.bool_)
