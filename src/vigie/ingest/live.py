"""Live view as MJPEG: one reader per camera stream, shared by every person watching it, as a series of JPEG images.

MJPEG is the live view of a camera with privacy masks, and the fallback of every other one: a camera without masks
is shown as its own H.264 passed through as fragmented MP4 (:mod:`vigie.ingest.live_fmp4`, docs/live-view.md),
which costs no decode; a browser without Media Source Extensions or without the camera's codec gets MJPEG. Every
browser shows MJPEG (``multipart/x-mixed-replace``) in a plain ``<img>`` with no player and no codec; there is no
buffer on the client, so the delay is decode + JPEG + network (``bench/live_latency.py``); and privacy masks are
burnt into the pixels before anything leaves the server (L6), which a pass-through of the camera's H.264 cannot
do. The price is CPU (a decode and a JPEG per frame, 5 ms at 720p) and bandwidth (a JPEG per frame, several times
H.264's), bounded by a frame-rate cap.

A feed starts when its first viewer arrives and stops ``idle_s`` after its last one leaves, so a camera nobody
watches costs nothing. Viewers never queue frames: each takes the latest one when it is ready for it, so a slow
viewer skips frames instead of falling behind, and the others are not slowed. The reading thread restarts the
stream after an error (with a growing pause) and publishes the error for the viewers; it never raises.

Reads run in a thread of the API process (PyAV releases the GIL while it decodes). PyAV's read timeout bounds a
stalled RTSP read; a camera that hangs anyway holds only its own thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import cv2
import numpy as np

from vigie.domain.clock import Clock
from vigie.domain.geometry import Point
from vigie.domain.ports import LiveQuality
from vigie.ingest.masking import mask_raster
from vigie.ingest.reader import CameraError, SampledFrame, StreamSpec, sampled_frames

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LiveSpec:
    """One stream as it is shown live."""

    camera_id: str
    url: str
    max_fps: float = 12.5
    """Frames per second sent to viewers at most (the source's own rate when lower)."""
    max_width: int = 1280
    """Wider sources are scaled down to this width; narrower ones keep their size."""
    masks: tuple[tuple[Point, ...], ...] = ()
    """Privacy masks (normalised polygons), filled in black before the image is encoded (L6)."""
    jpeg_quality: int = 80
    idle_s: float = 5.0
    """How long the stream stays open after its last viewer left (a page reload does not reopen it)."""


@dataclass(frozen=True, slots=True)
class LiveFrame:
    jpeg: bytes
    seq: int
    """Increases by one per published frame of this feed."""
    at: datetime
    """When the frame was decoded (UTC)."""
    width: int
    height: int


@dataclass(eq=False, slots=True)
class LiveViewer:
    loop: asyncio.AbstractEventLoop
    ready: asyncio.Event = field(default_factory=asyncio.Event)


FrameSource = Callable[[LiveSpec], Iterator[SampledFrame]]


def camera_frames(spec: LiveSpec, clock: Clock) -> Iterator[SampledFrame]:
    """Decoded BGR frames of the stream at ``spec.max_fps``, at most ``spec.max_width`` wide (PyAV)."""
    stream = StreamSpec(
        camera_id=spec.camera_id,
        url=spec.url,
        analysis_fps=spec.max_fps,
        analysis_width=spec.max_width,
        pixel_format="bgr24",
        upscale=False,
    )
    return sampled_frames(stream, clock)


def encode_jpeg(image: np.ndarray, masks: Sequence[Sequence[Point]], quality: int) -> bytes:
    """The image as JPEG, privacy masks filled first (they never reach the encoder)."""
    if masks:
        height, width = image.shape[:2]
        image = image.copy()
        image[mask_raster(masks, width, height)[:height, :width]] = 0
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV fails only on an empty image, which the reader never yields
        raise CameraError("the live image could not be encoded as JPEG")
    return bytes(data)


class LiveFeed:
    """The live images of one stream, read while someone watches."""

    def __init__(
        self,
        spec: LiveSpec,
        frames: FrameSource,
        *,
        retry_s: tuple[float, float] = (1.0, 30.0),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spec = spec
        self._frames = frames
        self._retry = retry_s
        self._clock = clock
        self._lock = threading.Lock()
        self._viewers: set[LiveViewer] = set()
        self._latest: LiveFrame | None = None
        self._error = ""
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._idle_since: float | None = None
        self._seq = 0

    @property
    def latest(self) -> LiveFrame | None:
        return self._latest

    @property
    def error(self) -> str:
        """Why there is no picture right now ('' while frames flow); safe to show (credentials redacted)."""
        return self._error

    @property
    def viewers(self) -> int:
        with self._lock:
            return len(self._viewers)

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the reading thread to end (after :meth:`close`, or once idle)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def subscribe(self) -> LiveViewer:
        """Register a viewer of the calling event loop; starts reading the stream if nobody was watching."""
        viewer = LiveViewer(asyncio.get_running_loop())
        with self._lock:
            self._viewers.add(viewer)
            self._idle_since = None
            if self._latest is not None:
                viewer.ready.set()
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name=f"live-{self.spec.camera_id}", daemon=True)
                self._thread.start()
        return viewer

    def unsubscribe(self, viewer: LiveViewer) -> None:
        with self._lock:
            self._viewers.discard(viewer)
            if not self._viewers:
                self._idle_since = self._clock()

    async def next_frame(self, viewer: LiveViewer, after: int, timeout: float) -> LiveFrame | None:
        """The latest frame newer than ``after``, waiting up to ``timeout`` s; None when none came."""
        frame = self._latest
        if frame is not None and frame.seq > after:
            return frame
        viewer.ready.clear()
        frame = self._latest  # published between the check and the clear
        if frame is not None and frame.seq > after:
            return frame
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that arrives as the
            # event is set, and a viewer's task then runs on after it was told to stop (the wall's tile hung)
            async with asyncio.timeout(timeout):
                await viewer.ready.wait()
        except TimeoutError:
            return None
        frame = self._latest
        return frame if frame is not None and frame.seq > after else None

    def close(self) -> None:
        """Stop reading now, whoever watches (service shutdown)."""
        self._stop.set()

    def _idle(self) -> bool:
        with self._lock:
            if self._viewers or self._idle_since is None:
                return False
            if self._clock() - self._idle_since < self.spec.idle_s:
                return False
            self._thread = None  # a viewer arriving from now on starts a new thread
            return True

    def _run(self) -> None:
        pause = self._retry[0]
        while not self._stop.is_set():
            try:
                for sampled in self._frames(self.spec):
                    self._publish(sampled)
                    pause = self._retry[0]
                    if self._stop.is_set() or self._idle():
                        return
                raise CameraError(f"camera {self.spec.camera_id}: stream ended")
            except CameraError as err:
                self._error = str(err)
            except Exception as err:  # a bad frame or a decoder bug must not end live view for good
                log.exception("live view of camera %s failed", self.spec.camera_id)
                self._error = f"camera {self.spec.camera_id}: live view failed ({type(err).__name__})"
            self._latest = None
            self._wake()
            if self._stop.wait(pause) or self._idle():
                return
            pause = min(pause * 2, self._retry[1])

    def _publish(self, sampled: SampledFrame) -> None:
        image = sampled.image
        jpeg = encode_jpeg(image, self.spec.masks, self.spec.jpeg_quality)
        height, width = image.shape[:2]
        self._seq += 1  # never reset: a viewer waits for a number above the last it showed
        self._latest = LiveFrame(jpeg, self._seq, sampled.at, width, height)
        self._error = ""
        self._wake()

    def _wake(self) -> None:
        with self._lock:
            viewers = list(self._viewers)
        for viewer in viewers:
            try:
                viewer.loop.call_soon_threadsafe(viewer.ready.set)
            except RuntimeError:  # that viewer's event loop is closed: it is gone
                self.unsubscribe(viewer)


class LiveHub:
    """Every live feed of the server, created on first use from the camera's :class:`LiveSpec` per quality."""

    def __init__(self, specs: Mapping[tuple[str, LiveQuality], LiveSpec], frames: FrameSource) -> None:
        """``frames`` reads a stream: :func:`camera_frames` on the service's clock, or a test's source."""
        self._specs = dict(specs)
        self._frames = frames
        self._feeds: dict[tuple[str, LiveQuality], LiveFeed] = {}
        self._lock = threading.Lock()

    def feed(self, camera_id: str, quality: LiveQuality = "wall") -> LiveFeed:
        """The feed of a configured camera; KeyError for any other id."""
        key = (camera_id, quality)
        spec = self._specs[key]
        with self._lock:
            feed = self._feeds.get(key)
            if feed is None:
                feed = self._feeds[key] = LiveFeed(spec, self._frames)
            return feed

    def close(self) -> None:
        with self._lock:
            feeds = list(self._feeds.values())
        for feed in feeds:
            feed.close()
        for feed in feeds:
            feed.join(timeout=2.0)
