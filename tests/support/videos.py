"""Small real videos made with PyAV."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def write_moving_square_video(
    path: Path, seconds: float = 4.0, fps: int = 10, size: tuple[int, int] = (320, 180), moving: bool = True
) -> Path:
    """A static textured background with a bright square crossing it: motion with a known position."""
    width, height = size
    rng = np.random.default_rng(7)
    bg = rng.integers(50, 110, size=(height, width, 3), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        stream.options = {"g": str(fps * 2), "preset": "ultrafast"}
        frames = int(seconds * fps)
        for i in range(frames):
            img = bg.copy()
            x = int(10 + (width - 50) * i / frames) if moving else 10
            img[70:110, x : x + 30] = 240
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
