"""Privacy masks burnt into recordings (L6): decode the main stream, fill the masks, re-encode H.264.

Only cameras with privacy masks pay for this: without masks, recording remuxes packets untouched (no decode,
no quality loss, a fraction of the CPU; see ``docs/benchmarks.md``). With masks, the masked pixels are replaced
before the encoder sees them, so the stored file holds no trace of what they hid, whatever an operator does
later; the mask is solid (not a blur, which can be partly reversed).

Masks are polygons in normalised coordinates, so one configuration serves the main stream and the sub stream.
In 4:2:0 the mask is widened to whole 2×2 blocks, so luma and chroma agree and the filled area is uniform.
"""

from __future__ import annotations

import contextlib
import io
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

import av
import cv2
import numpy as np
import numpy.typing as npt

from vigie.config.camera import Camera
from vigie.domain.geometry import Point
from vigie.ingest.packets import MainStream, TimedPacket
from vigie.ingest.reader import CameraError

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
    return _fill_yuv420p_raster(planar, mask_raster(polygons, width, rows * 2 // 3))


def fill_raster(frame: Any, raster: Raster) -> Any:
    """``frame`` (an ``av.VideoFrame``) as a yuv420p frame with the pixels of ``raster`` (its size, whole 2×2 blocks)
    filled black, same timestamps."""
    planar = np.asarray(frame.to_ndarray(format="yuv420p"), dtype=np.uint8)
    out = av.VideoFrame.from_ndarray(_fill_yuv420p_raster(planar, raster), format="yuv420p")
    out.pts = frame.pts
    if frame.time_base is not None:
        out.time_base = frame.time_base
    return out


def _fill_yuv420p_raster(planar: npt.NDArray[np.uint8], raster: Raster) -> npt.NDArray[np.uint8]:
    rows, width = planar.shape
    height = rows * 2 // 3
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
    stream = sink.add_stream("libx264", rate=fps, options=_x264_options(encoding, gop))
    stream.width, stream.height = first.width, first.height
    stream.pix_fmt = "yuv420p"
    stream.codec_context.gop_size = gop
    stream.codec_context.time_base = time_base
    stream.time_base = time_base
    return stream


def _x264_options(encoding: Encoding, gop: int) -> dict[str, str]:
    """A fixed GOP of ``gop`` frames, no scene-cut keyframes, SPS/PPS repeated before every keyframe (in-band)."""
    return {
        "preset": encoding.preset,
        "crf": str(encoding.crf),
        "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:repeat-headers=1",
    }


class MovingMasks(Protocol):
    """Masks that change from frame to frame (a dome's, :class:`vigie.devices.dome_masking.DomeMasker`)."""

    def raster(self, at: float, width: int, height: int) -> Raster:
        """The pixels to hide (True) in a ``width``×``height`` frame arriving at ``at`` (epoch seconds)."""
        ...


class MaskedPackets:
    """A camera's main stream with its privacy masks burnt in, as timed H.264 packets for the segment writer.

    Decodes the packets of ``stream`` (a :class:`MainStream`), fills ``masks`` with :func:`apply_masks` and
    encodes libx264 at the stream's size and frame rate (GOP ``encoding.gop_s``, SPS/PPS in-band: a segment or a
    live client can start at any keyframe). ``video`` is the encoder's output stream, the template of the
    segments' stream (in place of the camera's). Packets keep the input's timing: PTS in the input's time base
    (shifted across a discontinuity so the encoder's timeline only moves forward) and each frame's wall-clock time
    and discontinuity flag, the frame after a discontinuity being forced to a keyframe so the next segment starts
    there. Frames the encoder still holds come out when the stream ends or on :meth:`drain`.

    ``moving``: masks that follow a dome, asked for each frame at its wall-clock time (they may hold the frame until
    the dome's position after it is known), added to ``masks``.
    """

    def __init__(
        self,
        stream: MainStream,
        masks: Sequence[Polygon],
        encoding: Encoding | None = None,
        *,
        moving: MovingMasks | None = None,
    ) -> None:
        if not masks and moving is None:
            raise ValueError("no privacy mask: record this stream by remuxing")
        self.moving = moving
        self.stream = stream
        self.masks = tuple(tuple((float(x), float(y)) for x, y in polygon) for polygon in masks)
        self.counters = stream.counters
        source: Any = stream.video
        ctx = source.codec_context
        self.width, self.height = int(ctx.width or 0), int(ctx.height or 0)
        camera = stream.spec.camera_id
        if self.width <= 0 or self.height <= 0:
            raise MaskingError(f"camera {camera}: frame size unknown, cannot open the masking encoder")
        rate = source.average_rate or source.guessed_rate
        self.fps = Fraction(rate) if rate else Fraction(25)
        self.time_base: Fraction = source.time_base
        encoding = encoding or Encoding()
        gop = max(1, round(encoding.gop_s * self.fps))
        # the encoder lives in an output container that is never written to: its stream is a template whose
        # codec parameters (libx264, size, time base) are filled when the encoder opens
        self._holder: Any = av.open(io.BytesIO(), "w", format="mpegts")
        try:
            video: Any = self._holder.add_stream("libx264", rate=self.fps, options=_x264_options(encoding, gop))
            video.width, video.height, video.pix_fmt = self.width, self.height, "yuv420p"
            video.codec_context.gop_size = gop
            video.codec_context.time_base = self.time_base
            video.time_base = self.time_base
            self._holder.start_encoding()
        except (av.FFmpegError, ValueError) as err:
            self._holder.close()
            raise MaskingError(f"camera {camera}: cannot open the masking encoder: {err}") from err
        self.video: Any = video
        self.frames = 0
        self._timing: dict[int, tuple[Any, bool]] = {}
        """input PTS → (wall-clock time, discontinuity) of packets not yet decoded"""
        self._encoded: dict[int, tuple[Any, bool]] = {}
        """encoder PTS → (wall-clock time, discontinuity) of frames not yet out of the encoder"""
        self._shift = 0
        self._last_pts: int | None = None
        self._step = max(1, round(1 / (self.fps * self.time_base))) if self.time_base else 1
        self._drained = False
        self._pending: deque[TimedPacket] = deque()
        self._keyed = False
        self.skipped_before_keyframe = 0

    def __enter__(self) -> MaskedPackets:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._holder.close()

    def packets(self) -> Iterator[TimedPacket]:
        """Masked, re-encoded packets until the stream ends (then the encoder is drained and, for a live source,
        :class:`CameraError` propagates) or the caller stops."""
        try:
            for item in self.stream.packets():
                self._feed(item)
                yield from self._release()
        except CameraError:
            yield from self.drain()
            raise
        except av.FFmpegError as err:
            raise CameraError(f"camera {self.stream.spec.camera_id}: cannot decode for masking: {err}") from err
        yield from self.drain()

    def drain(self) -> Iterator[TimedPacket]:
        """The packets not yet handed out, then the frames the encoder still holds (flushed once: the encoder then
        accepts nothing more). Safe to call while :meth:`packets` is suspended (a recorder told to stop)."""
        if not self._drained:
            self._drained = True
            with contextlib.suppress(av.FFmpegError):
                self._timed(self.video.encode(None))
        yield from self._release()

    def _release(self) -> Iterator[TimedPacket]:
        while self._pending:
            yield self._pending.popleft()

    def _feed(self, item: TimedPacket) -> None:
        packet = item.packet
        if not self._keyed:
            if not packet.is_keyframe:
                self.skipped_before_keyframe += 1
                return  # a live stream joined mid-GOP: frames decoded without their references are garbage
            self._keyed = True
        if packet.pts is not None:
            self._timing[int(packet.pts)] = (item.at, item.discontinuity)
            if len(self._timing) > 256:  # a decoder never holds that many: drop entries no frame claimed
                self._timing.pop(next(iter(self._timing)))
        for frame in packet.decode():
            self._encode(frame, item)

    def _encode(self, frame: Any, item: TimedPacket) -> None:
        at, broke = self._timing.pop(int(frame.pts), (item.at, False)) if frame.pts is not None else (item.at, False)
        pts = frame.pts if frame.pts is not None else (self._last_pts or 0) + self._step
        if broke and self._last_pts is not None:
            self._shift = self._last_pts + self._step - pts
        enc_pts = pts + self._shift
        if self._last_pts is not None and enc_pts <= self._last_pts:
            enc_pts = self._last_pts + 1
        self._last_pts = enc_pts
        if (frame.width, frame.height) != (self.width, self.height):
            frame = frame.reformat(width=self.width, height=self.height)
        if self.moving is None:
            masked = apply_masks(frame, self.masks)
        else:
            hidden = self.moving.raster(at.timestamp(), self.width, self.height)
            if self.masks:
                hidden = hidden | mask_raster(self.masks, self.width, self.height)
            masked = fill_raster(frame, hidden)
        masked.pts = enc_pts
        masked.time_base = self.time_base
        if broke:
            masked.pict_type = av.video.frame.PictureType.I
        self._encoded[enc_pts] = (at, broke)
        self.frames += 1
        self._timed(self.video.encode(masked))

    def _timed(self, packets: Iterable[Any]) -> None:
        """Queue encoded packets with their times: a packet handed out is never lost to a consumer that stops
        (a lost packet would corrupt every frame that references it)."""
        for packet in packets:
            at, broke = self._encoded.pop(int(packet.pts), (None, False)) if packet.pts is not None else (None, False)
            if at is None:
                continue  # never happens with libx264 (PTS in = PTS out); a packet without a time is not recordable
            if not packet.duration:
                packet.duration = self._step
            self._pending.append(TimedPacket(packet, at, discontinuity=broke))
