"""The blur itself: pixelation to a few blocks, then a blur of one block, so that nothing of a face, a silhouette's
details or a plate can be read back.

Pixelating to at most 8 × 8 blocks replaces a whole box by 64 mean colours: the pixels' detail is gone, not
hidden (no deconvolution restores what averaging discarded, unlike a light Gaussian blur, which can be partly
inverted). The box blur of one block's size afterwards removes the block edges, which would otherwise let a viewer
(or a super-resolution model) lock onto the grid. OpenCV does both (``resize`` with area averaging, ``blur``).
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np
import numpy.typing as npt

from vigie.privacy.boxes import BlurBox, RedactionError

Image = npt.NDArray[np.uint8]


def blur_boxes(image: Image, boxes: Iterable[BlurBox], *, blocks: int = 8) -> Image:
    """A copy of ``image`` (H×W×3 or H×W, uint8) with every box pixelated to at most ``blocks`` blocks across each
    side and blurred. The original is never written."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise RedactionError(f"frames must be H×W×3 or H×W uint8 arrays (got {image.dtype} of shape {image.shape})")
    if not 1 <= blocks <= 8:
        raise RedactionError(f"blocks must be between 1 and 8 across a box (got {blocks})")
    out = image.copy()
    height, width = out.shape[:2]
    for box in boxes:
        x1, y1 = max(0, box.x1), max(0, box.y1)
        x2, y2 = min(width, box.x2), min(height, box.y2)
        _pixelate(out, x1, y1, x2, y2, blocks)
    return out


def blur_planar_boxes(planar: Image, boxes: Iterable[BlurBox], *, blocks: int = 8) -> Image:
    """:func:`blur_boxes` on an I420 picture (the ``(H × 3/2) × W`` array of PyAV's ``yuv420p``: the luma plane,
    then the two chroma planes at half size), as the codec gives and takes it: each plane's part of a box is
    pixelated and blurred, which hides the same as in BGR at half the pixels and with no colour conversion."""
    if planar.dtype != np.uint8 or planar.ndim != 2 or planar.shape[0] % 3 or planar.shape[1] % 2:
        raise RedactionError(f"an I420 picture is an (H×3/2)×W uint8 array, H and W even (got shape {planar.shape})")
    if not 1 <= blocks <= 8:
        raise RedactionError(f"blocks must be between 1 and 8 across a box (got {blocks})")
    out = planar.copy()
    height, width = planar.shape[0] * 2 // 3, planar.shape[1]
    flat, pixels = out.reshape(-1), height * width  # the chroma planes need not fill whole rows of the array
    luma = out[:height]
    blue = flat[pixels : pixels + pixels // 4].reshape(height // 2, width // 2)
    red = flat[pixels + pixels // 4 :].reshape(height // 2, width // 2)
    for box in boxes:
        x1, y1 = max(0, box.x1), max(0, box.y1)
        x2, y2 = min(width, box.x2), min(height, box.y2)
        if x2 <= x1 or y2 <= y1:
            continue
        _pixelate(luma, x1, y1, x2, y2, blocks)
        half = (x1 // 2, y1 // 2, (x2 + 1) // 2, (y2 + 1) // 2)
        _pixelate(blue, *half, blocks)
        _pixelate(red, *half, blocks)
    return out


def _pixelate(plane: Image, x1: int, y1: int, x2: int, y2: int, blocks: int) -> None:  # noqa: PLR0917
    w, h = x2 - x1, y2 - y1
    if w <= 0 or h <= 0:
        return
    region = plane[y1:y2, x1:x2]
    across, down = min(blocks, w), min(blocks, h)
    small = cv2.resize(region, (across, down), interpolation=cv2.INTER_AREA)
    pixelated = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    plane[y1:y2, x1:x2] = cv2.blur(pixelated, (max(1, w // across), max(1, h // down))).reshape(region.shape)
