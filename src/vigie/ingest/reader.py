"""Reading a camera stream with PyAV and handing decoded, down-scaled frames to analysis.

This code runs inside a camera worker process: PyAV's own timeouts cannot be trusted on live RTSP (a read can
block forever inside FFmpeg), so the supervisor in the parent process watches heartbeats and kills the worker
from outside when it stalls. Errors are wrapped in :class:`CameraError` with credentials redacted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import av
import cv2
import numpy as np

from vigie.domain.clock import Clock
from vigie.domain.ports import Frame
from vigie.domain.redact import redact_text, redact_url
from vigie.ingest.sharpness import DETAIL_FACTOR

LIVE_SCHEMES = {"rtsp", "rtsps", "http", "https", "rtmp"}


class CameraError(Exception):
    """A camera stream could not be opened or read. The message is safe to show: credentials are redacted."""


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """What a worker needs to read one stream for analysis."""

    camera_id: str
    url: str
    analysis_fps: float = 5.0
    analysis_width: int = 640
    pixel_format: Literal["gray", "bgr24"] = "gray"
    """Grey for motion and stream alarms (a third of the bytes); BGR for colour detectors (ONNX, fire)."""
    open_timeout_s: float = 10.0
    read_timeout_s: float = 10.0
    upscale: bool = True
    """False: a source narrower than ``analysis_width`` keeps its own width (live view never enlarges)."""


@dataclass(frozen=True, slots=True)
class SampledFrame:
    """A decoded, down-scaled frame (grey or BGR, as asked) taken at the analysis rate."""

    image: Frame
    at: datetime
    decoded_since_last: int
    codec: str = ""
    """Codec of the source stream (for stream-change alarms, L18)."""
    source_width: int = 0
    source_height: int = 0
    luma: Frame | None = None
    """The decoded picture's luma plane at the source's own resolution, read in place (a view of the decoder's
    buffer, no copy; video range, 16–235), for what needs the detail the analysis frame's down-scaling takes away:
    the sharpness check of the stream alarms (a 3-px blur of a 1080p picture is a 1-px one at 640 px). Given only
    where that check uses it, a source at least :data:`~vigie.ingest.sharpness.DETAIL_FACTOR` times wider than the
    analysis frame, and the decoder's output is planar YUV; else None. Holding it keeps that decoded frame alive
    (a 1080p one: 3 MB) while the next ones are decoded: do not keep it longer."""


def rtsp_options(read_timeout_s: float) -> dict[str, str]:
    """FFmpeg options of an RTSP camera: over TCP, reads timed out by FFmpeg's own socket timeout (µs). Not PyAV's
    read timeout: PyAV checks it in a callback that takes the GIL, which FFmpeg calls at every socket read (tens per
    frame); with many cameras in one process most of the CPU went to passing the GIL around (docs/benchmarks.md,
    Dense recording)."""
    return {"rtsp_transport": "tcp", "timeout": str(round(read_timeout_s * 1e6))}


DECODE_ONLY_PROBE = {"probesize": "32", "analyzeduration": "0"}
"""FFmpeg's stream probing cut to its first packet, for a stream that is only decoded (the analysis): the decoder
learns the picture's size and format from the stream itself (the SPS), and nothing here reads the probed figures.
FFmpeg's default probe reads up to 5 s of stream, about 20 frames (its frame-rate estimate) plus the wait for a
keyframe: 2.7–3.4 s before the first analysed frame on the demo's RTSP cameras, against 0.2 s for the open and
the wait for the next keyframe with this (ffplay's low-latency options). Not for the recorder, whose muxer needs
what the probe fills in (vigie.ingest.packets)."""


def pyav_timeouts(options: dict[str, str], open_s: float, read_s: float) -> tuple[float, float | None]:
    """``av.open``'s ``timeout``: PyAV's read timeout only where FFmpeg's own is not set (:func:`rtsp_options`)."""
    return open_s, None if "timeout" in options else read_s


def _open(spec: StreamSpec) -> tuple[Any, bool]:
    parts = urlsplit(spec.url)
    scheme = parts.scheme.lower()
    options: dict[str, str] = {}
    if scheme == "file":
        target = unquote(parts.path)
        if not Path(target).is_file():
            raise CameraError(f"camera {spec.camera_id}: no such file {target!r}; check the stream URL")
        live = False
    elif scheme in LIVE_SCHEMES:
        target = spec.url
        live = True
        if scheme.startswith("rtsp"):
            options = rtsp_options(spec.read_timeout_s) | DECODE_ONLY_PROBE
    elif scheme == "unix":  # a recorder's live tap (vigie.ingest.tap): a dome's masked stream; never from config
        target, live = spec.url, True
    else:
        raise CameraError(
            f"camera {spec.camera_id}: unsupported stream URL scheme {scheme!r} in {redact_url(spec.url)}; "
            "use rtsp://, rtsps://, http(s):// or file://"
        )
    timeout = pyav_timeouts(options, spec.open_timeout_s, spec.read_timeout_s)
    try:
        container = av.open(target, options=options, timeout=timeout)
    except (av.FFmpegError, OSError) as err:
        raise CameraError(
            f"camera {spec.camera_id}: cannot open {redact_url(spec.url)}: {redact_text(str(err))}"
        ) from err
    if not container.streams.video:
        container.close()
        raise CameraError(f"camera {spec.camera_id}: {redact_url(spec.url)} has no video stream")
    return container, live


def sampled_frames(spec: StreamSpec, clock: Clock) -> Iterator[SampledFrame]:
    """Yield frames (``spec.pixel_format``) at ``spec.analysis_fps``, scaled to ``spec.analysis_width``.

    Every frame is decoded (H.264 needs it) but only frames at the analysis rate are converted, which is
    where the CPU goes. A ``file://`` source is replayed at its own pace and looped, like a live camera. Each frame
    is stamped with ``clock`` when it is decoded.
    """
    container, live = _open(spec)
    try:
        yield from _iterate(container, live, spec, clock)
    except av.FFmpegError as err:
        raise CameraError(f"camera {spec.camera_id}: stream error: {redact_text(str(err))}") from err
    finally:
        container.close()


_PLANAR_LUMA = frozenset({"yuv420p", "yuvj420p", "nv12", "yuv422p", "yuvj422p", "yuv444p"})
_FULL_RANGE = frozenset({"yuvj420p", "yuvj422p"})
_LIMITED_TO_FULL = np.clip(np.round((np.arange(256) - 16) * 255 / 219), 0, 255).astype(np.uint8)
"""Video luma is 16–235 ("limited range"); grey images are 0–255, as swscale would give."""


def source_luma(frame: Any) -> Frame | None:
    """The frame's luma plane as an array without copying it (see :attr:`SampledFrame.luma`), or None."""
    if frame.format.name not in _PLANAR_LUMA:
        return None
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), np.uint8).reshape(frame.height, plane.line_size)
    luma: Frame = rows[:, : frame.width]
    return luma


def analysis_image(frame: Any, width: int, height: int, pixel_format: str) -> Frame:
    """The analysis image. Grey is the luma plane, read as is (scaled with OpenCV when the analysis size differs,
    range-expanded after scaling so the lookup touches the fewest pixels): no swscale pass, which was most of the
    per-frame cost of motion analysis on sub streams (docs/benchmarks.md)."""
    luma = source_luma(frame) if pixel_format == "gray" else None
    if luma is not None:
        rows = luma
        if (frame.width, frame.height) != (width, height):
            shrink = width < frame.width and height < frame.height
            interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
            rows = np.asarray(cv2.resize(rows, (width, height), interpolation=interpolation), np.uint8)
        if frame.format.name in _FULL_RANGE:
            return np.ascontiguousarray(rows)
        return np.asarray(cv2.LUT(rows, _LIMITED_TO_FULL), np.uint8)
    return np.ascontiguousarray(frame.to_ndarray(width=width, height=height, format=pixel_format))


def _iterate(container: Any, live: bool, spec: StreamSpec, clock: Clock) -> Iterator[SampledFrame]:
    stream = container.streams.video[0]
    # One decoding thread: a host runs hundreds of camera workers, so per-stream decoder threads only add
    # synchronisation (-22 % CPU per 640×360 frame single-threaded; a 1080p stream still decodes at > 300 fps).
    stream.thread_count = 1
    codec = str(stream.codec_context.name)
    period = 1.0 / spec.analysis_fps
    next_due = 0.0
    decoded = 0
    started = time.monotonic()
    offset = 0.0
    while True:
        last_t = 0.0
        for frame in container.decode(stream):
            decoded += 1
            t = offset + (float(frame.time) if frame.time is not None else decoded / 25.0)
            last_t = t
            if not live:
                delay = started + t - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            if t + 1e-6 < next_due:
                continue
            next_due = max(next_due + period, t)
            width = spec.analysis_width if spec.upscale else min(spec.analysis_width, frame.width)
            height = max(2, round(frame.height * width / frame.width / 2) * 2)
            image = analysis_image(frame, width, height, spec.pixel_format)
            luma = source_luma(frame) if frame.width >= DETAIL_FACTOR * width else None
            yield SampledFrame(image, clock(), decoded, codec, frame.width, frame.height, luma)
            decoded = 0
        if live:
            raise CameraError(f"camera {spec.camera_id}: stream ended")
        offset = last_t + period
        container.seek(0)
