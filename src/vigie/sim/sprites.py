"""How actors look: small images with a mask, drawn with OpenCV.

A sprite's mask is the exact set of pixels it paints, so the ground-truth box taken from the mask is exactly
what was drawn.  Shapes are deliberately simple (rectangles, ellipses) but have the silhouettes detectors care
about: an upright person is tall and narrow, a fallen one wide and low, a vehicle wide with wheels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from vigie.sim.plates import plate_picture
from vigie.sim.scene import ActorKind, VehicleView

Mask = npt.NDArray[np.bool_]
Pixels = npt.NDArray[np.int16]
Canvas = npt.NDArray[np.uint8]
BGR = tuple[int, int, int]

_SKIN = (120, 160, 210)
_DARK = (35, 35, 40)
_WINDOW = (110, 80, 60)


@dataclass(frozen=True, slots=True)
class Sprite:
    """Pixels (h×w×3 BGR, int16) and the mask of those actually painted, anchored at (left, top)."""

    left: int
    top: int
    image: Pixels
    mask: Mask
    plate_box: tuple[int, int, int, int] | None = None
    """Where the number plate is drawn (x, y, w, h in the sprite's pixels), for a vehicle seen from the rear."""
    alpha: npt.NDArray[np.float32] | None = None
    """Opacity (0–1, h×w) of a cut-out of real footage: its edges are blended into the background and a soft
    contact shadow is laid under it; the ground truth stays ``mask`` (the pixels of opacity ≥ 0.5). None: a
    drawn sprite, painted hard-edged where ``mask`` is set."""


def draw_sprite(
    kind: ActorKind,
    size: tuple[int, int],
    foot: tuple[int, int],
    colour: BGR,
    *,
    step: int = 0,
    fallen: bool = False,
    view: VehicleView = VehicleView.SIDE,
    plate: str | None = None,
) -> Sprite:
    """Draw one actor whose foot point (bottom-centre) is at pixel ``foot``.

    ``step`` alternates the legs of a walking person (0 = standing); ``fallen`` lays a person down, turning a
    w×h box into a wide, low one that keeps the same foot point. A vehicle seen from the ``rear`` carries its
    ``plate`` (an SIV number) in the middle of its bumper.
    """
    w, h = size
    if kind is ActorKind.PERSON and fallen:
        w, h = h, max(3, round(w * 0.8))
    canvas = np.zeros((h, w, 3), dtype=np.uint8)
    mask = np.zeros((h, w), dtype=np.uint8)
    if kind is ActorKind.PERSON:
        _lying(canvas, mask, colour) if fallen else _person(canvas, mask, colour, step)
    elif kind is ActorKind.VEHICLE and view is VehicleView.REAR:
        plate_box = _vehicle_rear(canvas, mask, colour, plate)
        return Sprite(foot[0] - w // 2, foot[1] - h, canvas.astype(np.int16), mask.astype(bool), plate_box)
    elif kind is ActorKind.VEHICLE:
        _vehicle(canvas, mask, colour)
    else:
        _bag(canvas, mask, colour)
    return Sprite(foot[0] - w // 2, foot[1] - h, canvas.astype(np.int16), mask.astype(bool))


def _rect(canvas: Canvas, mask: Canvas, box: tuple[float, float, float, float], colour: BGR) -> None:
    """Fill the pixels [x0, x1) × [y0, y1) (fractions of the sprite size), at least one pixel."""
    h, w = mask.shape
    x0, y0, x1, y1 = box
    c0, r0 = min(w - 1, int(x0 * w)), min(h - 1, int(y0 * h))
    c1, r1 = max(c0 + 1, round(x1 * w)), max(r0 + 1, round(y1 * h))
    canvas[r0:r1, c0:c1] = colour
    mask[r0:r1, c0:c1] = 1


def _ellipse(canvas: Canvas, mask: Canvas, shape: tuple[float, float, float, float], colour: BGR) -> None:
    """Fill the ellipse (centre x, centre y, radius x, radius y), as fractions of the sprite size."""
    h, w = mask.shape
    cx, cy, rx, ry = shape
    centre = (round(cx * (w - 1)), round(cy * (h - 1)))
    axes = (max(1, round(rx * w)), max(1, round(ry * h)))
    cv2.ellipse(canvas, centre, axes, 0, 0, 360, colour, -1)
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1, -1)


def _person(canvas: Canvas, mask: Canvas, colour: BGR, step: int) -> None:
    trousers = _shade(colour, 0.45)
    _ellipse(canvas, mask, (0.5, 0.09, 0.22, 0.09), _SKIN)
    _rect(canvas, mask, (0.1, 0.18, 0.9, 0.6), colour)
    if step % 2:
        _rect(canvas, mask, (0.0, 0.6, 0.35, 1.0), trousers)
        _rect(canvas, mask, (0.65, 0.6, 1.0, 1.0), trousers)
    else:
        _rect(canvas, mask, (0.2, 0.6, 0.8, 1.0), trousers)


def _lying(canvas: Canvas, mask: Canvas, colour: BGR) -> None:
    trousers = _shade(colour, 0.45)
    _ellipse(canvas, mask, (0.09, 0.5, 0.09, 0.45), _SKIN)
    _rect(canvas, mask, (0.18, 0.05, 0.6, 1.0), colour)
    _rect(canvas, mask, (0.6, 0.2, 1.0, 0.85), trousers)


def _vehicle(canvas: Canvas, mask: Canvas, colour: BGR) -> None:
    _rect(canvas, mask, (0.22, 0.0, 0.78, 0.4), colour)
    _rect(canvas, mask, (0.27, 0.07, 0.48, 0.36), _WINDOW)
    _rect(canvas, mask, (0.52, 0.07, 0.73, 0.36), _WINDOW)
    _rect(canvas, mask, (0.0, 0.36, 1.0, 0.82), colour)
    _rect(canvas, mask, (0.0, 0.45, 0.05, 0.58), (80, 220, 230))
    _ellipse(canvas, mask, (0.22, 0.83, 0.09, 0.17), _DARK)
    _ellipse(canvas, mask, (0.78, 0.83, 0.09, 0.17), _DARK)


_TAIL_LIGHT = (30, 30, 200)
_BUMPER = (60, 60, 62)
PLATE_WIDTH = 0.3
"""A plate's width as a fraction of the vehicle's (52 cm on a car about 1.75 m wide)."""


def _vehicle_rear(canvas: Canvas, mask: Canvas, colour: BGR, plate: str | None) -> tuple[int, int, int, int] | None:
    """A car seen from behind: cabin and rear window, body, tail lights, bumper, wheels, and the plate."""
    _rect(canvas, mask, (0.12, 0.0, 0.88, 0.42), colour)
    _rect(canvas, mask, (0.17, 0.05, 0.83, 0.37), _WINDOW)
    _rect(canvas, mask, (0.0, 0.38, 1.0, 0.86), colour)
    _rect(canvas, mask, (0.04, 0.46, 0.2, 0.56), _TAIL_LIGHT)
    _rect(canvas, mask, (0.8, 0.46, 0.96, 0.56), _TAIL_LIGHT)
    _rect(canvas, mask, (0.02, 0.78, 0.98, 0.88), _BUMPER)
    _rect(canvas, mask, (0.06, 0.86, 0.22, 1.0), _DARK)
    _rect(canvas, mask, (0.78, 0.86, 0.94, 1.0), _DARK)
    if plate is None:
        return None
    h, w = mask.shape
    picture = plate_picture(plate, max(8, round(PLATE_WIDTH * w)))
    ph, pw = picture.shape[:2]
    x, y = (w - pw) // 2, max(0, round(0.67 * h) - ph // 2)
    ph, pw = min(ph, h - y), min(pw, w - x)
    canvas[y : y + ph, x : x + pw] = picture[:ph, :pw]
    mask[y : y + ph, x : x + pw] = 1
    return x, y, pw, ph


def _bag(canvas: Canvas, mask: Canvas, colour: BGR) -> None:
    _rect(canvas, mask, (0.0, 0.3, 1.0, 1.0), colour)
    _rect(canvas, mask, (0.3, 0.0, 0.7, 0.3), _DARK)


def _shade(colour: BGR, factor: float) -> BGR:
    return int(colour[0] * factor), int(colour[1] * factor), int(colour[2] * factor)
