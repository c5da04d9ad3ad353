"""French number plates for simulated vehicles: SIV numbers (``AB-123-CD``) and their picture.

A simulated vehicle seen from behind carries a plate drawn like a real one — white, black characters, the blue EU
band with "F" on the left — so that plate reading (LAPI) can be shown and tested end to end on simulated footage,
with the text in the scene's ground truth. Characters are drawn with a font from Debian (DejaVu Sans Bold, package
``fonts-dejavu-core``, installed by ``scripts/setup.sh``): OpenCV's own Hershey fonts are single-stroke outlines that
look like no plate, and OpenCV's FreeType module is not in the headless build, so the glyphs are rasterised with
Pillow (a dependency of ``rapidocr-onnxruntime``) once per plate and size and composed with NumPy.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from vigie.sim.scene import SceneError
from vigie.sim.siv import siv_problem

PLATE_MM: Final = (520, 110)
"""A French plate's size in millimetres (the standard long plate)."""
FONT_CANDIDATES: Final = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
)
"""Where Debian's ``fonts-dejavu-core`` puts the bold sans font (and where some other distributions do)."""

_BLUE = (153, 51, 0)
"""The EU band's blue (BGR)."""
_YELLOW = (0, 204, 255)
_BLACK = (20, 20, 20)
_WHITE = (250, 250, 250)

Picture = npt.NDArray[np.uint8]


def font_path() -> Path:
    """The font plates are drawn with; ``SceneError`` says which package provides it when it is missing."""
    for path in FONT_CANDIDATES:
        if path.is_file():
            return path
    raise SceneError(
        "cannot draw number plates: the font DejaVu Sans Bold is not installed (looked in "
        f"{', '.join(str(p) for p in FONT_CANDIDATES)}); install the Debian package fonts-dejavu-core "
        "(`bash scripts/setup.sh` does)"
    )


@functools.lru_cache(maxsize=64)
def _master(text: str) -> Picture:
    """The plate at one pixel per millimetre (520×110, BGR); cached: a scene draws the same plates every frame."""
    width, height = PLATE_MM
    image = Image.new("RGB", (width, height), _rgb(_WHITE))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width - 1, height - 1), outline=_rgb(_BLACK), width=3)
    band = 44
    draw.rectangle((3, 3, band, height - 4), fill=_rgb(_BLUE))
    cx, cy, radius = (3 + band) / 2, 32, 15
    for star in range(12):  # the EU circle of twelve stars
        angle = 2 * math.pi * star / 12
        x, y = cx + radius * math.sin(angle), cy - radius * math.cos(angle)
        draw.ellipse((x - 2.2, y - 2.2, x + 2.2, y + 2.2), fill=_rgb(_YELLOW))
    small = ImageFont.truetype(str(font_path()), 34)
    draw.text((cx, 84), "F", font=small, fill=_rgb(_WHITE), anchor="mm")
    # The characters (75 mm high on a real plate) in a wide bold sans, squeezed horizontally to the plate's
    # proportions: drawn on their own canvas, then resized into the space right of the band.
    font = ImageFont.truetype(str(font_path()), 90)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    glyphs = Image.new("RGB", (round(right - left) + 8, round(bottom - top) + 8), _rgb(_WHITE))
    ImageDraw.Draw(glyphs).text((4 - left, 4 - top), text, font=font, fill=_rgb(_BLACK))
    area_w, area_h = width - band - 20, 78
    glyphs = glyphs.resize((area_w, area_h), Image.Resampling.LANCZOS)
    image.paste(glyphs, (band + 10, (height - area_h) // 2))
    rgb = np.asarray(image, dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])


def plate_picture(text: str, width: int) -> Picture:
    """The plate ``text`` (as printed, ``AB-123-CD``) drawn ``width`` pixels wide, BGR uint8."""
    problem = siv_problem(text)
    if problem is not None:
        raise SceneError(problem)
    master = _master(text)
    height = max(2, round(width * PLATE_MM[1] / PLATE_MM[0]))
    interpolation = cv2.INTER_AREA if width < PLATE_MM[0] else cv2.INTER_CUBIC
    return np.asarray(cv2.resize(master, (max(2, width), height), interpolation=interpolation), np.uint8)


def _rgb(bgr: tuple[int, int, int]) -> tuple[int, int, int]:
    return bgr[2], bgr[1], bgr[0]
