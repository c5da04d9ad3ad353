"""Static backgrounds, generated deterministically from a seed.

The street layout (fractions of the frame height) is promised to scene authors so they can place actors:
buildings above y=0.40, upper pavement 0.40-0.50, road 0.50-0.80 (lane divider at 0.65), lower pavement
0.80-1.00.  Colours stay between 35 and 215 grey levels so actors and lighting never saturate against it.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from vigie.sim.scene import Background, TextureKind

Image16 = npt.NDArray[np.int16]

UPPER_PAVEMENT = (0.40, 0.50)
ROAD = (0.50, 0.80)
LANE_DIVIDER = 0.65
LOWER_PAVEMENT = (0.80, 1.00)


def make_background(spec: Background, scene_seed: int, width: int, height: int) -> Image16:
    """An H×W×3 BGR image as int16 (headroom for lighting), identical for identical arguments."""
    seed = spec.seed if spec.seed is not None else scene_seed
    rng = np.random.default_rng([seed, 1])
    if spec.texture is TextureKind.PLAIN:
        image = np.full((height, width, 3), 120.0, dtype=np.float32)
        image += _smooth_noise(rng, width, height, cell=32, amplitude=3.0)[..., None]
    elif spec.texture is TextureKind.NOISE:
        image = np.stack(
            [110.0 + _smooth_noise(rng, width, height, cell=24, amplitude=30.0) for _ in range(3)], axis=-1
        ).astype(np.float32)
    else:
        image = _street(rng, width, height)
        image += _smooth_noise(rng, width, height, cell=8, amplitude=6.0)[..., None]
    image += rng.normal(0.0, 2.0, size=(height, width, 1)).astype(np.float32)
    return np.clip(np.rint(image), 35, 215).astype(np.int16)


def _smooth_noise(
    rng: np.random.Generator, width: int, height: int, cell: int, amplitude: float
) -> npt.NDArray[np.float32]:
    small = rng.normal(0.0, 1.0, size=(max(2, height // cell), max(2, width // cell))).astype(np.float32)
    big = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    return (big * amplitude).astype(np.float32)


def _street(rng: np.random.Generator, width: int, height: int) -> npt.NDArray[np.float32]:
    image = np.empty((height, width, 3), dtype=np.float32)

    def rows(a: float, b: float) -> slice:
        return slice(round(a * height), round(b * height))

    image[:, :] = (175, 160, 150)  # sky, behind the buildings
    _buildings(rng, image, width, round(UPPER_PAVEMENT[0] * height))
    image[rows(*UPPER_PAVEMENT)] = (150, 155, 160)
    image[rows(*ROAD)] = (80, 82, 85)
    image[rows(*LOWER_PAVEMENT)] = (145, 150, 155)
    _tiles(image, rows(*UPPER_PAVEMENT), max(8, width // 24))
    _tiles(image, rows(*LOWER_PAVEMENT), max(8, width // 20))
    kerb = max(1, height // 120)
    for y in (ROAD[0], ROAD[1]):
        image[round(y * height) - kerb : round(y * height) + kerb] = (190, 190, 190)
    y_lane = round(LANE_DIVIDER * height)
    dash, gap = max(6, width // 20), max(4, width // 32)
    for x in range(0, width, dash + gap):
        image[y_lane - kerb : y_lane + kerb, x : x + dash] = (205, 205, 205)
    return image


def _buildings(rng: np.random.Generator, image: npt.NDArray[np.float32], width: int, ground: int) -> None:
    x = 0
    while x < width:
        w = int(rng.integers(max(8, width // 10), max(9, width // 4)))
        top = int(rng.integers(0, max(1, ground // 3)))
        base = rng.uniform(90, 190, size=3)
        image[top:ground, x : x + w] = base
        win_w, win_h = max(2, w // 8), max(2, ground // 10)
        for wy in range(top + win_h, ground - 2 * win_h, 2 * win_h):
            for wx in range(x + win_w, x + w - win_w, 2 * win_w):
                image[wy : wy + win_h, wx : wx + win_w] = base * 0.55
        x += w


def _tiles(image: npt.NDArray[np.float32], band: slice, step: int) -> None:
    image[band, ::step] *= 0.9
    start = band.start or 0
    for y in range(start, band.stop, max(4, step // 2)):
        image[y] *= 0.93
