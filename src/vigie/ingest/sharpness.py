"""Sharpness of a camera's picture against its own learnt reference: a defocused, sprayed or fogged lens (L18).

A blur keeps the view's structure (the scene check, :func:`vigie.ingest.alarms.scene_similarity`, still finds a
real frame blurred by 3 to 20 px 93 % to 52 % similar) but takes away its fine detail. A blur is counted in the
camera's pixels, so the picture looked at is the source's own luma when the analysis frame has lost its detail (a
1080p camera analysed at 640 px: :func:`vigie.ingest.alarms.sharpness_picture`), else the analysis frame. It is
measured at 2 to 3 of its pixels per measuring pixel (:func:`binning`): coarser, a 3-px blur of the source is under
a measuring pixel (a 3-px blur of a 1080p picture kept 38–46 % of its sharpness on the 640-px frame's 320×180
thumbnail, over the threshold); finer, the sensor's noise is most of the detail (on the 1080p luma's own pixels a
3-px blur read sharper than the reference). The measuring picture is cut into 16×9 cells of up to 40 measuring
pixels (docs/stream-alarms.md). A cell's sharpness is its Laplacian energy over its variance: the share of its
contrast that is fine detail, which a gain or an offset of the lighting leaves unchanged. It is compared with the
same cell of the reference (a slow average of the camera's own past looks, in logarithms), and the picture's
sharpness is the upper quartile of the cells' ratios: a blur lowers every cell, a person or a car passing lowers
only those it covers (a smooth car body over textured asphalt reads as blurred there), so the quartile stays up
unless three cells in four lost their detail.

Only cells textured in the reference count (standard deviation of at least ``min_texture`` grey levels; sensor
noise, averaged over 2×2 to 3×3 pixels or more, stays under it): a night, fog or a flat wall gives too few of them,
and the picture is then not judged at all rather than judged on noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Cells = npt.NDArray[np.float32]
Grey = npt.NDArray[np.uint8]

SHARPNESS_GRID = (16, 9)
"""Columns × rows of cells over the picture."""
CELL_PX = 40
"""Side of a cell, in measuring pixels, at most (less on a picture under 640×360)."""
MAX_BIN = 3
"""Source pixels per measuring pixel, at most: a 3-px blur of the source must stay a blur of a measuring pixel."""
DETAIL_FACTOR = 2
"""How many times wider than the analysis frame the source must be for its own luma to be judged: below, the
analysis frame, measured at 2×2 of its pixels, is within a factor of 2.4 of the source's pixels (a 768-px source),
and the source's own pixels are too fine (see :func:`vigie.ingest.alarms.sharpness_picture`)."""
QUANTILE = 0.75
"""The cells' ratio that stands for the picture: the upper quartile (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class SharpnessLook:
    """One look at the picture, cell by cell: log sharpness and contrast (standard deviation, grey levels), and the
    size of the picture it was taken from (a reference is only compared with looks at the same picture)."""

    log_sharpness: Cells
    contrast: Cells
    picture: tuple[int, int] = (0, 0)


def binning(width: int) -> int:
    """Picture pixels per measuring pixel for a picture ``width`` pixels wide: one per 320 pixels, 1 to
    :data:`MAX_BIN` (a 640-px analysis frame: 2, a 1280 or 1920-px source: 3)."""
    return max(1, min(MAX_BIN, width // 320))


def cells(picture: Grey) -> tuple[Cells, int, bool]:
    """The measuring cells of ``picture`` laid side by side: one square tile of up to ``CELL_PX`` measuring pixels
    in the centre of each of the 16×9 parts of the picture, each measuring pixel the mean of ``binning``² picture
    pixels; the tile's side (0: the picture is too small to have cells); and whether the tiles cover the picture
    (each is then beside its true neighbours)."""
    height, width = picture.shape
    cols, rows = SHARPNESS_GRID
    pitch_y, pitch_x = height // rows, width // cols
    step = binning(width)
    side = min(CELL_PX, pitch_y // step, pitch_x // step)
    if side < 4:  # under 64×36 (a very wide picture's thin strip): no cell to judge by
        return np.zeros((0, 0), np.float32), 0, True
    span = side * step
    region = picture[: rows * pitch_y, : cols * pitch_x]
    whole = span == pitch_y and span == pitch_x
    if not whole:
        oy, ox = (pitch_y - span) // 2, (pitch_x - span) // 2
        tiles = region.reshape(rows, pitch_y, cols, pitch_x)[:, oy : oy + span, :, ox : ox + span]
        region = np.ascontiguousarray(tiles).reshape(rows * span, cols * span)
    if step > 1:  # exact step×step block means: area interpolation at an integer factor
        region = np.asarray(cv2.resize(region, (cols * side, rows * side), interpolation=cv2.INTER_AREA), np.uint8)
    return np.asarray(region, dtype=np.float32), side, whole


def look(picture: Grey, min_texture: float) -> SharpnessLook:
    """Measure a grey picture (the source's luma, or the analysis frame: see :func:`binning`)."""
    mosaic, side, whole = cells(picture)
    cols, rows = SHARPNESS_GRID
    if side == 0:  # too small: every cell flat, so the picture is not judged (:func:`relative_sharpness`)
        flat = np.zeros((rows, cols), np.float32)
        return SharpnessLook(flat, flat, (picture.shape[1], picture.shape[0]))
    laplacian = cv2.Laplacian(mosaic, cv2.CV_32F)
    squared = (laplacian * laplacian).reshape(rows, side, cols, side)
    if not whole:  # a tile's border pixels see the next tile, which is not their neighbour in the picture
        squared = squared[:, 1:-1, :, 1:-1]
    energy = squared.mean(axis=(1, 3))
    blocks = mosaic.reshape(rows, side, cols, side)
    mean = blocks.mean(axis=(1, 3))
    square = (blocks * blocks).mean(axis=(1, 3))
    contrast = np.sqrt(np.maximum(square - mean * mean, 0.0)).astype(np.float32)
    # a cell flatter than the floor (a covered part, or detail blurred away) is measured against the floor
    log_sharpness = np.log(energy + 1e-3) - 2.0 * np.log(np.maximum(contrast, min_texture))
    return SharpnessLook(log_sharpness.astype(np.float32), contrast, (picture.shape[1], picture.shape[0]))


def relative_sharpness(
    reference: SharpnessLook, current: SharpnessLook, min_texture: float, min_cells: int
) -> float | None:
    """Sharpness of ``current`` as a fraction of ``reference`` (1.0: as sharp; 0.1: a tenth), or None when the
    reference has fewer than ``min_cells`` textured cells to judge by."""
    textured = reference.contrast >= min_texture
    if int(np.count_nonzero(textured)) < min_cells:
        return None
    ratios = current.log_sharpness[textured] - reference.log_sharpness[textured]
    return float(np.exp(np.quantile(ratios, QUANTILE)))


def learn(reference: SharpnessLook, current: SharpnessLook, rate: float) -> SharpnessLook:
    """``reference`` moved by ``rate`` (0..1) towards ``current``."""
    return SharpnessLook(
        reference.log_sharpness + np.float32(rate) * (current.log_sharpness - reference.log_sharpness),
        reference.contrast + np.float32(rate) * (current.contrast - reference.contrast),
        reference.picture,
    )
