"""Privacy masks on PTZ domes (L6): polygons fixed in the world, projected into each frame from the dome's position.

A mask drawn on the picture of a dome hides the wrong thing as soon as the dome moves. A :class:`PtzMask` is a
polygon of world angles ``(pan°, tilt°)`` around the private window; for each frame it is projected with the dome's
reported position and field of view (:class:`vigie.domain.ptz.View`, the projection the simulated dome renders
with) and filled solid, like the fixed masks of :mod:`vigie.ingest.masking`: black in BGR, widened to whole 2×2
blocks so luma and chroma agree in 4:2:0 (the same conventions; that layer cannot be imported from here).

Edges join consecutive vertices in pan/tilt space, the short way round the ±180° seam (an edge spans less than
180° of pan): a window's sill at constant tilt is a curve in the picture, so edges are sampled densely (a fraction
of the field of view per step) and the sampled polygon is clipped against the view's frustum in 3-D (planes
through the dome), which handles vertices behind the camera or far outside the frame exactly, before it is
projected. A mask spans less than a hemisphere.

Without the dome's position the projection is a guess: :func:`masking_refusal` says why such a camera must not
record, so that a dome with masks and no position feedback refuses to record rather than record unmasked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from vigie.domain.camera import CameraKind
from vigie.domain.ptz import View, directions, image_of_camera, to_camera

WorldPoint = tuple[float, float]
"""``(pan_deg, tilt_deg)``: pan clockwise from the dome's reference, tilt above the horizon."""
Raster = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

FILL_BGR: Final = (0, 0, 0)
"""The fill of :mod:`vigie.ingest.masking`: solid black (not a blur, which can be partly reversed)."""
STEPS_PER_FIELD: Final = 128
"""Edge samples per horizontal field of view: a sill's curvature is then below a tenth of a pixel."""


class MaskingRefusedError(Exception):
    """Privacy masks of a camera cannot be trusted; the message names the camera and how to fix it."""


@dataclass(frozen=True, slots=True)
class PtzMask:
    """A privacy mask fixed in the world: at least 3 ``(pan°, tilt°)`` vertices in order around the window."""

    name: str
    points: tuple[WorldPoint, ...]

    def __post_init__(self) -> None:
        if len(self.points) < 3:
            raise ValueError(f"PTZ mask {self.name!r}: {len(self.points)} points, a polygon needs at least 3")
        for pan, tilt in self.points:
            if not (math.isfinite(pan) and -90.0 <= tilt <= 90.0):
                raise ValueError(
                    f"PTZ mask {self.name!r}: point ({pan}, {tilt}) is not a direction; pan in degrees, "
                    "tilt in -90..90 degrees"
                )


def outline(mask: PtzMask, step_deg: float) -> tuple[FloatArray, FloatArray]:
    """The mask's closed outline sampled every ``step_deg`` or less along its edges (in pan/tilt space, each
    edge the short way round the seam): ``(pans, tilts)`` in degrees, pans unwrapped (continuous)."""
    points = np.asarray(mask.points, dtype=np.float64)
    start = points
    end = np.roll(points, -1, axis=0)
    d_pan = (end[:, 0] - start[:, 0] + 180.0) % 360.0 - 180.0
    d_tilt = end[:, 1] - start[:, 1]
    pans, tilts = [], []
    for (pan, tilt), dp, dt in zip(start, d_pan, d_tilt, strict=True):
        count = max(1, math.ceil(max(abs(dp), abs(dt)) / step_deg))
        fraction = np.arange(count) / count
        pans.append(pan + dp * fraction)
        tilts.append(tilt + dt * fraction)
    return np.concatenate(pans), np.concatenate(tilts)


def project_mask(mask: PtzMask, view: View, margin_px: float = 0.0) -> FloatArray | None:
    """The mask's polygon in ``view``'s image coordinates (K×2, x right, y down), clipped to the frame grown by
    ``margin_px`` on each side; None when no part of it is in view."""
    step = max(view.hfov_deg / STEPS_PER_FIELD, 1e-3)
    pans, tilts = outline(mask, step)
    polygon = to_camera(view, directions(pans, tilts))
    half_w = (view.width / 2.0 + margin_px) / view.focal_px
    half_h = (view.height / 2.0 + margin_px) / view.focal_px
    # planes through the dome bounding what the (grown) frame sees: keep v with n·v >= 0
    for normal in ((-1.0, 0.0, half_w), (1.0, 0.0, half_w), (0.0, -1.0, half_h), (0.0, 1.0, half_h)):
        polygon = _clip(polygon, np.array(normal))
        if len(polygon) < 3:
            return None
    x, y = image_of_camera(view, polygon)
    return np.stack([x, y], axis=-1)


def _clip(polygon: FloatArray, normal: FloatArray) -> FloatArray:
    """Sutherland–Hodgman: the part of a closed polygon (N×3 directions) on the side ``normal·v >= 0``."""
    side = polygon @ normal
    inside = side >= 0.0
    if inside.all():
        return polygon
    if not inside.any():
        return polygon[:0]
    following = np.roll(polygon, -1, axis=0)
    side_next = np.roll(side, -1)
    out: list[FloatArray] = []
    for index in range(len(polygon)):
        if inside[index]:
            out.append(polygon[index])
        if inside[index] != (side_next[index] >= 0.0):
            t = side[index] / (side[index] - side_next[index])
            out.append(polygon[index] + t * (following[index] - polygon[index]))
    return np.array(out) if out else polygon[:0]


def mask_raster(masks: Sequence[PtzMask], view: View, margin_px: float = 1.0) -> Raster:
    """Pixels of ``view`` hidden by ``masks`` (True = hidden): each polygon filled at 1/16 pixel precision, grown
    by ``margin_px`` (a margin for the position's rounding and the picture's interpolation), widened to whole
    2×2 blocks."""
    raster = np.zeros((view.height, view.width), bool)
    hidden = _hidden(masks, view, margin_px)
    if hidden is not None:
        (rows, cols), block = hidden
        raster[rows, cols] = block
    return raster


def _hidden(masks: Sequence[PtzMask], view: View, margin_px: float) -> tuple[tuple[slice, slice], Raster] | None:
    """The hidden pixels within their bounding box (aligned on 2×2 blocks), or None when no mask is in view:
    only that box is rasterised, dilated and widened, so a small window costs little on a large frame."""
    polygons = [p for p in (project_mask(mask, view, margin_px=margin_px + 2.0) for mask in masks) if p is not None]
    if not polygons:
        return None
    grow = math.ceil(margin_px) + 2
    points = np.concatenate(polygons)
    x0 = max(0, (math.floor(points[:, 0].min()) - grow) // 2 * 2)
    y0 = max(0, (math.floor(points[:, 1].min()) - grow) // 2 * 2)
    x1 = min(view.width + view.width % 2, math.ceil(points[:, 0].max()) + grow + 1)
    y1 = min(view.height + view.height % 2, math.ceil(points[:, 1].max()) + grow + 1)
    x1, y1 = x0 + (x1 - x0 + 1) // 2 * 2, y0 + (y1 - y0 + 1) // 2 * 2
    canvas = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for polygon in polygons:
        # fillPoly's integer coordinates are pixel centres, at +0.5 in image coordinates
        corners = np.round((polygon - (x0 + 0.5, y0 + 0.5)) * 16.0).astype(np.int32)
        cv2.fillPoly(canvas, [corners], 255, cv2.LINE_8, shift=4)
    if margin_px >= 0.5:
        size = 2 * math.ceil(margin_px) + 1
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        canvas = np.asarray(cv2.dilate(canvas, kernel), dtype=np.uint8)
    blocks = canvas.reshape(canvas.shape[0] // 2, 2, canvas.shape[1] // 2, 2).max(axis=(1, 3))
    whole = np.asarray(cv2.resize(blocks, (canvas.shape[1], canvas.shape[0]), interpolation=cv2.INTER_NEAREST))
    rows, cols = slice(y0, min(y1, view.height)), slice(x0, min(x1, view.width))
    return (rows, cols), whole[: rows.stop - y0, : cols.stop - x0] > 0


def apply_ptz_masks(frame: npt.NDArray[np.uint8], masks: Sequence[PtzMask], view: View) -> npt.NDArray[np.uint8]:
    """``frame`` (H×W×3 BGR or H×W grey, of ``view``'s size) with the masks filled black; the input is kept."""
    height, width = frame.shape[:2]
    if (width, height) != (view.width, view.height):
        raise ValueError(f"frame {width}×{height} is not the view's {view.width}×{view.height}: project at its size")
    out = frame.copy()
    hidden = _hidden(masks, view, 1.0)
    if hidden is not None:
        (rows, cols), block = hidden
        out[rows, cols][block] = FILL_BGR if frame.ndim == 3 else FILL_BGR[0]
    return out


def masking_refusal(camera_id: str, kind: CameraKind, masks: Sequence[PtzMask], position_feedback: bool) -> str | None:
    """Why this camera's masks cannot be trusted, or None when they can.

    A PTZ dome with masks whose position cannot be read (no PTZ status from the device, or a status without a
    position) would be recorded unmasked wherever it points: it must refuse to record.
    """
    if kind is CameraKind.PTZ and masks and not position_feedback:
        return (
            f"camera {camera_id}: {len(masks)} privacy mask(s) on a PTZ dome that does not report its position, "
            "so the masks cannot follow the picture and recording is refused; enable the dome's PTZ status "
            "(ONVIF GetStatus with a position) or configure the masks in the camera itself and verify them there"
        )
    return None


def require_trustworthy_masking(
    camera_id: str, kind: CameraKind, masks: Sequence[PtzMask], position_feedback: bool
) -> None:
    """Raise :class:`MaskingRefusedError` when :func:`masking_refusal` gives a reason."""
    reason = masking_refusal(camera_id, kind, masks, position_feedback)
    if reason is not None:
        raise MaskingRefusedError(reason)
