"""Sharpness of a camera's picture against its own learnt reference: a defocused, sprayed or fogged lens (L18).

A blur keeps the view's structure (the scene check, :func:`vigie.ingest.alarms.scene_similarity`, still finds a
real frame blurred by 3 to 20 px 93 % to 52 % similar) but takes away its fine detail. Each look is a 320×180 grey
thumbnail (measured on the shared footage: a 3-px blur keeps 16–26 % of the reference's sharpness at 160×90, within
reach of what a car crossing the parking lot does, and 3–8 % at 320×180; docs/stream-alarms.md), cut into 16×9
cells. A cell's sharpness is its Laplacian energy over its variance: the share of its contrast that is
fine detail, which a gain or an offset of the lighting leaves unchanged. It is compared with the same cell of the
reference (a slow average of the camera's own past looks, in logarithms), and the picture's sharpness is the upper
quartile of the cells' ratios: a blur lowers every cell, a person or a car passing lowers only those it covers (a
smooth car body over textured asphalt reads as blurred there), so the quartile stays up unless three cells in four
lost their detail.

Only cells textured in the reference count (standard deviation of at least ``min_texture`` grey levels; sensor
noise, averaged over a 2× to 6× downscale, stays under it): a night, fog or a flat wall gives too few of them, and
the picture is then not judged at all rather than judged on noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Cells = npt.NDArray[np.float32]

SHARPNESS_SIZE = (320, 180)
"""Thumbnail the sharpness is measured on (width, height)."""
SHARPNESS_GRID = (16, 9)
"""Columns × rows of cells: 20×20 pixels per cell."""
QUANTILE = 0.75
"""The cells' ratio that stands for the picture: the upper quartile (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class SharpnessLook:
    """One look at the picture, cell by cell: log sharpness and contrast (standard deviation, grey levels)."""

    log_sharpness: Cells
    contrast: Cells


def look(grey: npt.NDArray[np.uint8], min_texture: float) -> SharpnessLook:
    """Measure a grey analysis frame (any size). Block averages are taken by ``cv2.resize`` with area
    interpolation, which is exactly a mean over each cell and several times faster than numpy reshapes."""
    thumb = np.asarray(cv2.resize(grey, SHARPNESS_SIZE, interpolation=cv2.INTER_AREA), dtype=np.float32)
    laplacian = cv2.Laplacian(thumb, cv2.CV_32F)
    mean = cv2.resize(thumb, SHARPNESS_GRID, interpolation=cv2.INTER_AREA)
    square = cv2.resize(thumb * thumb, SHARPNESS_GRID, interpolation=cv2.INTER_AREA)
    energy = cv2.resize(laplacian * laplacian, SHARPNESS_GRID, interpolation=cv2.INTER_AREA)
    contrast = np.sqrt(np.maximum(square - mean * mean, 0.0)).astype(np.float32)
    # a cell flatter than the floor (a covered part, or detail blurred away) is measured against the floor
    log_sharpness = np.log(energy + 1e-3) - 2.0 * np.log(np.maximum(contrast, min_texture))
    return SharpnessLook(log_sharpness.astype(np.float32), contrast)


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
    )
