"""Finding one designated target again in each frame of a moving dome: appearance template, ego-motion compensated.

The target is what the operator boxed, nothing more: the colours of the box against those around it (a ratio
histogram, Swain and Ballard's colour indexing) turn each picture into a map of "colours of the target, not of its
surroundings" (a back-projection), and the box's pattern in that map (a template) is matched by normalised
cross-correlation (``cv2.matchTemplate``). Matching the map rather than the raw pixels keeps the background out of
the template: with raw pixels a template refreshed while the dome turns slides onto the background behind the
target (tried: on the simulated dome it locked onto the pavement within 2 s). The pattern is the designated one,
never refreshed from later frames (refreshing it let the box creep up a walker by 2° in 60 s: tried); the
surroundings' histogram is refreshed every few frames, as the target walks past other backgrounds. Never a person
recognised — no learned model, no descriptor of anyone, nothing kept once the track ends (L25: no
re-identification, no biometrics). It is followed in *world* angles
(pan and tilt of the box's centre, and its angular size): each frame comes with the dome's reported position, so
the target's predicted direction (last direction plus its angular velocity times the time since) is projected
through the shared projection (:func:`vigie.domain.ptz.project`) into the current view, and the template, rescaled
by the ratio of focal lengths (zoom), is searched only around that point. The dome's own motion therefore never
looks like the target's. A frame without a match good enough counts as a miss; after ``lost_after`` misses in a
row the target is lost (the prediction coasts meanwhile).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from vigie.domain.ptz import View, project, unproject, wrap_deg

Image = npt.NDArray[np.uint8]
MIN_TEMPLATE_PX = 6
"""A template narrower or shorter than this (a target far away at a wide zoom) is too small to be matched."""
BINS = (16, 8, 8)
"""Hue, saturation and value bins of the colour histograms (value too: dark or grey clothes have no reliable hue)."""
HISTOGRAM_SIZE = BINS[0] * BINS[1] * BINS[2]
RATIO_FLOOR = 1e-3
"""Added to a colour's share around the target: a colour absent from the surroundings is distinctive, not
infinitely so (a few antialiased edge pixels must not outweigh the target's body)."""
BACKGROUND_EVERY = 10
"""Frames between two updates of the surroundings' histogram (the background changes as the target walks on)."""
ALPHA, BETA = 0.85, 0.25
"""Gains of the alpha-beta filter on the target's world direction: how much of a measured residual corrects the
position, and (per second) its angular velocity. The match is good to a pixel; the velocity is smoothed over a few
frames so a pixel's jitter does not swing the dome."""


@dataclass(frozen=True, slots=True)
class Sighting:
    """Where the target is in one frame: its centre's world direction, its box in the frame's pixels
    (x, y, w, h), the match score (None when it was not found and this is the prediction)."""

    pan_deg: float
    tilt_deg: float
    pan_rate_deg_s: float
    tilt_rate_deg_s: float
    box: tuple[float, float, float, float]
    score: float | None

    @property
    def found(self) -> bool:
        return self.score is not None


class TargetTracker:
    """One target on one dome's frames (not thread-safe; one per tracking session, forgotten with it)."""

    def __init__(
        self,
        *,
        min_score: float = 0.5,
        lost_after: int = 15,
        search_margin: float = 1.5,
    ) -> None:
        self.min_score = min_score
        self.lost_after = lost_after
        self.search_margin = search_margin
        """The search window reaches this many box sizes around the prediction on each side."""
        self._target_hist: npt.NDArray[np.float64] | None = None
        self._ratio: Image | None = None
        """Flat lookup from colour bin to likelihood (0..255)."""
        self._template: Image | None = None
        """The box's pattern in the colour-likelihood map."""
        self._template_focal = 1.0
        self._size_rad = (0.0, 0.0)
        """The box's angular width and height (radians at the centre of the view), fixed by the designation."""
        self._pan = self._tilt = 0.0
        self._pan_rate = self._tilt_rate = 0.0
        self._at = 0.0
        self._found = 0
        self.misses = 0

    @property
    def lost(self) -> bool:
        return self._template is None or self.misses >= self.lost_after

    def start(self, frame: Image, view: View, box: tuple[float, float, float, float], at: float) -> Sighting:
        """Take the target in ``box`` (pixels x, y, w, h of ``frame`` seen through ``view``) at time ``at`` (s)."""
        height, width = frame.shape[:2]
        x0, y0 = max(0.0, box[0]), max(0.0, box[1])
        x, y, w, h = x0, y0, min(float(width), box[0] + box[2]) - x0, min(float(height), box[1] + box[3]) - y0
        if w < MIN_TEMPLATE_PX or h < MIN_TEMPLATE_PX:
            raise ValueError(
                f"the box is {max(w, 0):.0f}×{max(h, 0):.0f} px of the picture: at least {MIN_TEMPLATE_PX}×"
                f"{MIN_TEMPLATE_PX} px are needed to follow a target; zoom in or draw a larger box"
            )
        hsv = _bins(frame)
        inside = _box_mask(hsv.shape[:2], (x, y, w, h), 1.0)
        self._target_hist = _hist(hsv, inside)
        self._ratio = self._ratio_of(hsv, x, y, w, h)
        likelihood = self._likelihood(hsv)
        self._template = _crop(likelihood, x, y, w, h)
        focal = view.focal_px
        self._template_focal = focal
        self._size_rad = (w / focal, h / focal)
        pan, tilt = unproject(view, x + w / 2, y + h / 2)
        self._pan, self._tilt = float(pan), float(tilt)
        self._pan_rate = self._tilt_rate = 0.0
        self._at = at
        self.misses = 0
        return Sighting(self._pan, self._tilt, 0.0, 0.0, (x, y, w, h), 1.0)

    def predict(self, at: float) -> tuple[float, float]:
        """The target's predicted world direction (pan, tilt) at ``at``."""
        dt = at - self._at
        return wrap_deg(self._pan + self._pan_rate * dt), self._tilt + self._tilt_rate * dt

    def update(self, frame: Image, view: View, at: float) -> Sighting:
        """Look for the target in ``frame`` (seen through ``view``, the dome's reported position) taken at ``at``."""
        if self._template is None:
            raise RuntimeError("no target: call start() first")
        dt = max(at - self._at, 1e-6)
        pan_pred, tilt_pred = self.predict(at)
        focal = view.focal_px
        tw = max(MIN_TEMPLATE_PX, round(self._size_rad[0] * focal))
        th = max(MIN_TEMPLATE_PX, round(self._size_rad[1] * focal))
        px, py, front = project(view, pan_pred, tilt_pred)
        cx, cy = float(px), float(py)
        match = self._match(frame, (tw, th), (cx, cy), focal) if bool(front) else None
        if match is None:
            self.misses += 1
            self._pan, self._tilt, self._at = pan_pred, tilt_pred, at
            box = (cx - tw / 2, cy - th / 2, float(tw), float(th))
            return Sighting(pan_pred, tilt_pred, self._pan_rate, self._tilt_rate, box, None)
        mx, my, score = match
        pan_m, tilt_m = (float(v) for v in unproject(view, mx + tw / 2, my + th / 2))
        r_pan, r_tilt = wrap_deg(pan_m - pan_pred), tilt_m - tilt_pred
        self._pan = wrap_deg(pan_pred + ALPHA * r_pan)
        self._tilt = tilt_pred + ALPHA * r_tilt
        gain = BETA / max(dt, 0.01)  # two frames stamped (almost) alike must not swing the velocity
        self._pan_rate += gain * r_pan
        self._tilt_rate += gain * r_tilt
        self._at = at
        self.misses = 0
        self._found += 1
        return Sighting(self._pan, self._tilt, self._pan_rate, self._tilt_rate, (mx, my, tw, th), score)

    def _match(
        self, frame: Image, size: tuple[int, int], centre: tuple[float, float], focal: float
    ) -> tuple[float, float, float] | None:
        """Best place (top-left x, y) and score of the template, rescaled to ``tw``×``th``, in the window around
        ``(cx, cy)``; None below ``min_score`` or when the window leaves too little of the frame."""
        if self._template is None:
            return None
        (tw, th), (cx, cy) = size, centre
        height, width = frame.shape[:2]
        reach_x, reach_y = tw * (0.5 + self.search_margin), th * (0.5 + self.search_margin)
        x0, x1 = max(0, math.floor(cx - reach_x)), min(width, math.ceil(cx + reach_x))
        y0, y1 = max(0, math.floor(cy - reach_y)), min(height, math.ceil(cy + reach_y))
        if x1 - x0 < tw or y1 - y0 < th:
            return None
        hsv = _bins(frame[y0:y1, x0:x1])
        likelihood = self._likelihood(hsv)
        template = self._template
        if template.shape[1] != tw or template.shape[0] != th:
            interpolation = cv2.INTER_AREA if focal < self._template_focal else cv2.INTER_LINEAR
            template = np.asarray(cv2.resize(template, (tw, th), interpolation=interpolation), np.uint8)
        scores = cv2.matchTemplate(likelihood, template, cv2.TM_CCOEFF_NORMED)
        _, best, _, (bx, by) = cv2.minMaxLoc(scores)
        if not math.isfinite(best) or best < self.min_score:
            return None
        mx, my = bx + _subpixel(scores, bx, by, 1), by + _subpixel(scores, bx, by, 0)
        if self._found % BACKGROUND_EVERY == 0:
            self._ratio = self._ratio_of(hsv, mx, my, tw, th)
        return x0 + mx, y0 + my, float(best)

    def _ratio_of(self, hsv: npt.NDArray[np.intp], x: float, y: float, w: float, h: float) -> Image:
        """The ratio histogram: each colour's share in the target over its share around it (a ring one box wide),
        scaled so the most distinctive colour is 255: colours of the surroundings weigh little however much of
        the box they fill."""
        box = (x, y, w, h)
        around = _box_mask(hsv.shape[:2], box, 3.0) & ~_box_mask(hsv.shape[:2], box, 1.0)
        target = self._target_hist if self._target_hist is not None else _hist(hsv, around)
        background = _hist(hsv, around) if around.any() else np.zeros_like(target)
        ratio = target / (background + RATIO_FLOOR)
        top = float(ratio.max())
        return np.asarray(np.round(ratio * (255.0 / top)) if top > 0 else ratio, np.uint8)

    def _likelihood(self, hsv: npt.NDArray[np.intp]) -> Image:
        if self._ratio is None:
            return np.zeros(hsv.shape, np.uint8)
        return np.asarray(self._ratio[hsv], np.uint8)


def _bins(frame: Image) -> npt.NDArray[np.intp]:
    """Each pixel's colour bin (hue, saturation, value) as one index into a flat histogram.

    Written with numpy rather than ``cv2.calcHist``/``cv2.calcBackProject``: OpenCV 5.1's Python binding reads a
    three-dimensional histogram handed back to ``calcBackProject`` as a two-dimensional one with channels, and
    back-projects zeros (tried); a flat lookup is also simpler to reason about."""
    hsv = np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2HSV), np.intp)
    hue_bins, sat_bins, val_bins = BINS
    index = hsv[..., 0] * hue_bins // 180
    index *= sat_bins
    index += hsv[..., 1] * sat_bins // 256
    index *= val_bins
    index += hsv[..., 2] * val_bins // 256
    return index


def _hist(hsv: npt.NDArray[np.intp], mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """The share of each colour bin among the pixels of ``mask``."""
    hist = np.bincount(hsv[mask], minlength=HISTOGRAM_SIZE).astype(np.float64)
    total = float(hist.sum())
    return hist / total if total > 0 else hist


def _box_mask(shape: tuple[int, ...], box: tuple[float, float, float, float], scale: float) -> npt.NDArray[np.bool_]:
    """Pixels of the box (x, y, w, h) scaled by ``scale`` about its centre (clipped to the picture)."""
    x, y, w, h = box
    mask = np.zeros(shape[:2], np.bool_)
    cx, cy = x + w / 2, y + h / 2
    x0, x1 = max(0, round(cx - scale * w / 2)), min(shape[1], round(cx + scale * w / 2))
    y0, y1 = max(0, round(cy - scale * h / 2)), min(shape[0], round(cy + scale * h / 2))
    mask[y0:y1, x0:x1] = True
    return mask


def _subpixel(scores: npt.NDArray[Any], bx: int, by: int, axis: int) -> float:
    """The peak's sub-pixel offset along ``axis`` (0: y, 1: x) by a parabola through it and its neighbours."""
    index = (by, bx)
    i = index[axis]
    if i == 0 or i == scores.shape[axis] - 1:
        return 0.0
    before = float(scores[(by - 1, bx) if axis == 0 else (by, bx - 1)])
    after = float(scores[(by + 1, bx) if axis == 0 else (by, bx + 1)])
    centre = float(scores[by, bx])
    curvature = before - 2 * centre + after
    return 0.0 if curvature >= 0 else 0.5 * (before - after) / curvature


def _crop(image: Image, x: float, y: float, w: float, h: float) -> Image | None:
    """A copy of the image's pixels in the box; None unless the whole box is in the image."""
    height, width = image.shape[:2]
    x0, y0, x1, y1 = round(x), round(y), round(x + w), round(y + h)
    if x0 < 0 or y0 < 0 or x1 > width or y1 > height or x1 - x0 < MIN_TEMPLATE_PX or y1 - y0 < MIN_TEMPLATE_PX:
        return None
    crop: Image = np.ascontiguousarray(image[y0:y1, x0:x1])
    return crop
