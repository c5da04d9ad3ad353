"""Privacy masks burnt into recordings (L6): decode the main stream, fill the masks, re-encode H.264.

Only cameras with privacy masks pay for this: without masks, recording remuxes packets untouched (no decode,
no quality loss, a fraction of the CPU; see ``docs/benchmarks.md``). With masks, the masked pixels are replaced
before the encoder sees them, so the stored file holds no trace of what they hid, whatever an operator does
later; the mask is solid (not a blur, which can be partly reversed).

Masks are polygons in normalised coordinates, so one configuration serves the main stream and the sub stream.
In 4:2:0 the mask is widened to whole 2×2 blocks, so luma and chroma agree and the filled area is uniform.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import av
import cv2
import numpy as np
import numpy.typing as npt

from vigie.config.camera import Camera
from vigie.domain.geometry import Point

Polygon = Sequence[Point]
Raster = npt.NDArray[np.bool_]
PixelFormat = Literal["bgr24", "gray", "yuv420p"]

FILL_BGR = (0, 0, 0)
FILL_YUV = (16, 128, 128)
"""Black in limited-range YUV, the range H.264 cameras use."""


class MaskingError(Exception):
    """Masks could not be burnt into a stream; the message names the stream and the cause."""


@dataclass(frozen=True, slots=True)
class Encoding:
    """How masked video is re-encoded: H.264, a fixed GOP, SPS/PPS before every keyframe."""

    gop_s: float = 2.0
    preset: str = "veryfast"
    crf: int = 23


@dataclass(frozen=True, slots=True)
class BurnResult:
    """What :func:`burn_masks` wrote."""

    frames: int
    width: int
    height: int
    fps: Fraction
    output: Path


def mask_polygons(camera: Camera) -> tuple[tuple[Point, ...], ...]:
    """The privacy-mask polygons of a camera; empty means its recording is remuxed, not transcoded."""
    return tuple(tuple((float(x), float(y)) for x, y in zone.points) for zone in camera.privacy_masks)


def mask_raster(polygons: Sequence[Polygon], width: int, height: int) -> Raster:
    """Pixels covered by the polygons at this size (True = hidden), widened to whole 2×2 blocks."""
    return _raster(tuple(tuple((float(x), float(y)) for x, y in polygon) for polygon in polygons), width, height)


@lru_cache(maxsize=32)
def _raster(polygons: tuple[tuple[Point, ...], ...], width: int, height: int) -> Raster:
    canvas = np.zeros((height + height % 2, width + width % 2), np.uint8)
    for polygon in polygons:
        pts = np.array([[round(x * width), round(y * height)] for x, y in polygon], np.int32)
        cv2.fillPoly(canvas, [pts], 255)
    blocks = canvas.reshape(canvas.shape[0] // 2, 2, canvas.shape[1] // 2, 2).any(axis=(1, 3))
    full = np.repeat(np.repeat(blocks, 2, axis=0), 2, axis=1)[:height, :width]
    full.setflags(write=False)
    return full


def apply_masks(frame: Any, polygons: Sequence[Polygon], pixel_format: PixelFormat | None = None) -> Any:
    """Return ``frame`` with the polygons filled solid black; the input is not modified.

    ``frame`` is an ``av.VideoFrame`` (returned as a yuv420p frame with the same timestamps) or an array: H×W×3
    BGR, H×W grey, or, with ``pixel_format="yuv420p"``, the (3H/2)×W planar layout of ``to_ndarray()``.
    """
    if isinstance(frame, av.VideoFrame):
        planar = frame.to_ndarray(format="yuv420p")
        filled = _fill_yuv420p(np.asarray(planar, dtype=np.uint8), polygons)
        out = av.VideoFrame.from_ndarray(filled, format="yuv420p")
        out.pts = frame.pts
        if frame.time_base is not None:
            out.time_base = frame.time_base
        return out
    array = np.asarray(frame)
    fmt = pixel_format or ("bgr24" if array.ndim == 3 else "gray")
    if fmt == "yuv420p":
        return _fill_yuv420p(array, polygons)
    height, width = array.shape[:2]
    raster = mask_raster(polygons, width, height)
    out_array = array.copy()
    out_array[raster] = FILL_BGR if fmt == "bgr24" else FILL_BGR[0]
    return out_array


def _fill_yuv420p(planar: npt.NDArray[np.uint8], polygons: Sequence[Polygon]) -> npt.NDArray[np.uint8]:
    rows, width = planar.shape
    height = rows * 2 // 3
    raster = mask_raster(polygons, width, height)
    out = planar.copy()
    out[:height][raster] = FILL_YUV[0]
    chroma = raster[::2, ::2]
    quarter = height // 4
    for index, value in ((0, FILL_YUV[1]), (1, FILL_YUV[2])):
        plane = out[height + index * quarter : height + (index + 1) * quarter].reshape(height // 2, width // 2)
        plane[chroma] = value
    return out


Source = str | Path | Any
"""A path or URL, an open PyAV input container, or an iterable of demuxed ``av.Packet`` of one video stream."""


def burn_masks(
    source: Source,
    masks: Sequence[Polygon],
    output: str | Path,
    *,
    encoding: Encoding | None = None,
    output_format: str | None = None,
) -> BurnResult:
    """Decode ``source``, fill ``masks`` in every frame and encode H.264 (libx264) to ``output``.

    Same resolution and frame rate as the source, a fixed GOP (``encoding.gop_s``, 2 s by default) with SPS/PPS
    before every keyframe (segments and live clients can start at any keyframe). Refuses an empty mask list:
    that stream is remuxed.
    """
    if not masks:
        raise ValueError("no privacy mask: record this stream by remuxing, a transcode only costs CPU and quality")
    output = Path(output)
    opened = isinstance(source, str | Path)
    container: Any = av.open(str(source)) if opened else source
    try:
        packets: Iterable[Any] = container.demux(video=0) if hasattr(container, "demux") else container
        with av.open(str(output), mode="w", format=output_format) as sink:
            return _transcode(packets, masks, sink, output, encoding or Encoding())
    except av.FFmpegError as err:
        raise MaskingError(f"cannot burn masks into {output.name}: {err}") from err
    finally:
        if opened:
            container.close()


def _transcode(
    packets: Iterable[Any], masks: Sequence[Polygon], sink: Any, output: Path, encoding: Encoding
) -> BurnResult:
    stream: Any = None
    count = 0
    fps = Fraction(25)
    for packet in packets:
        for frame in packet.decode():
            if stream is None:
                rate = packet.stream.average_rate or packet.stream.guessed_rate
                fps = Fraction(rate) if rate else fps
                stream = _open_encoder(sink, frame, packet.stream.time_base or frame.time_base, fps, encoding)
            masked = apply_masks(frame, masks)
            if masked.pts is None:
                masked.pts = count
            sink.mux(stream.encode(masked))
            count += 1
    if stream is None:
        raise MaskingError(f"no video frame to write to {output.name}")
    sink.mux(stream.encode(None))
    return BurnResult(count, stream.width, stream.height, fps, output)


def _open_encoder(sink: Any, first: Any, time_base: Fraction, fps: Fraction, encoding: Encoding) -> Any:
    gop = max(1, round(encoding.gop_s * fps))
    options = {
        "preset": encoding.preset,
        "crf": str(encoding.crf),
        "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:repeat-headers=1",
    }
    stream = sink.add_stream("libx264", rate=fps, options=options)
    stream.width, stream.height = first.width, first.height
    stream.pix_fmt = "yuv420p"
    stream.codec_context.gop_size = gop
    stream.codec_context.time_base = time_base
    stream.time_base = time_base
    return stream
