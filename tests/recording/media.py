"""Small real H.264 videos for recording tests, and ways to look inside the segments made from them."""

from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

SIZE = (160, 96)
FPS = 10


def write_h264(path: Path, seconds: float = 6.0, fps: int = FPS, fmt: str | None = None) -> Path:
    """A moving gradient, one keyframe per second, SPS/PPS repeated before each keyframe (what cameras and the
    RTSP simulator send), in MPEG-TS by default so packets are Annex B like an RTSP camera's."""
    width, height = SIZE
    ys, xs = np.mgrid[0:height, 0:width]
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        stream.options = {"g": str(fps), "preset": "ultrafast", "x264-params": "repeat-headers=1:scenecut=0"}
        for i in range(int(seconds * fps)):
            img = np.stack([(xs * 2 + i * 7) % 256, (ys * 3 + i * 5) % 256, (xs + ys + i) % 256], axis=-1)
            frame = av.VideoFrame.from_ndarray(img.astype(np.uint8), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def decoded(path: Path) -> list[tuple[int, int, str]]:
    """(width, height, SHA-256 of the pixels) of every decoded frame, in order."""
    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            pixels = frame.to_ndarray(format="yuv420p")
            out.append((frame.width, frame.height, hashlib.sha256(pixels.tobytes()).hexdigest()))
    return out


def packet_bytes(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(video=0) if p.size]


def codec_parameters(path: Path) -> dict[str, Any]:
    with av.open(str(path)) as container:
        ctx = container.streams.video[0].codec_context
        return {"codec": ctx.name, "profile": ctx.profile, "width": ctx.width, "height": ctx.height, "pix": ctx.pix_fmt}
