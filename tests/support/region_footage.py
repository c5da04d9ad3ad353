"""Recorded segments (MPEG-TS, H.264, as the recorder writes them) of a scene with a known story: a textured street,
sensor noise, a grey square that enters from the right at a known time, a change of lighting over the whole picture."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

Grey = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Scene:
    """What the footage shows; times in seconds from the start of the first segment."""

    width: int = 320
    height: int = 180
    fps: int = 10
    enters_at: float | None = 5.3
    """When the square's left edge crosses x = 0.8 of the width (it moves left at a quarter width per second)."""
    lights_at: float | None = None
    """When the whole picture brightens by ``lights_by`` grey levels."""
    lights_by: int = 40

    def picture(self, t: float, texture: Grey, noise: Grey) -> Grey:
        grey = texture.astype(np.int16) + noise
        if self.lights_at is not None and t >= self.lights_at:
            grey += self.lights_by
        if self.enters_at is not None:
            left = round(self.width * (0.8 - 0.25 * (t - self.enters_at)))
            side = self.height // 4
            top = self.height // 3
            if left < self.width:
                grey[top : top + side, max(left, 0) : max(left + side, 0)] = 235
        return np.clip(grey, 0, 255).astype(np.uint8)


def write_segments(
    directory: Path,
    scene: Scene,
    seconds: Sequence[float] = (4.0, 4.0),
    gop_seconds: float = 2.0,
    bframes: int = 0,
) -> list[Path]:
    """One ``.ts`` file per entry of ``seconds``, each starting on a keyframe, continuing one timeline; cameras
    rarely use B-frames (``bframes``), some do."""
    rng = np.random.default_rng(3)
    blocks = rng.integers(40, 180, size=(scene.height // 8 + 1, scene.width // 8 + 1), dtype=np.uint8)
    texture = blocks.repeat(8, 0).repeat(8, 1)[: scene.height, : scene.width]
    paths: list[Path] = []
    index = 0
    for number, length in enumerate(seconds):
        path = directory / f"segment-{number}.ts"
        count = round(length * scene.fps)
        _encode(
            path,
            scene,
            [index + i for i in range(count)],
            lambda i: scene.picture(i / scene.fps, texture, rng.integers(0, 5, size=texture.shape, dtype=np.int16)),
            gop_seconds,
            bframes,
        )
        index += count
        paths.append(path)
    return paths


def _encode(
    path: Path, scene: Scene, indices: list[int], picture: Callable[[int], Grey], gop_seconds: float, bframes: int
) -> None:
    gop = max(1, round(gop_seconds * scene.fps))
    chroma = np.full((scene.height // 2, scene.width), 128, np.uint8)
    with av.open(str(path), "w", format="mpegts") as container:
        stream = container.add_stream(
            "libx264",
            rate=scene.fps,
            options={
                "preset": "ultrafast",
                "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}",
            },
        )
        stream.width, stream.height, stream.pix_fmt = scene.width, scene.height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, scene.fps)
        for n, i in enumerate(indices):
            frame = av.VideoFrame.from_ndarray(np.concatenate([picture(i), chroma]), format="yuv420p")
            frame.pts = n
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
