"""A live feed of a simulated dome's view: frames rendered at a fixed rate, encoded H.264, sent as RTP to a UDP port.

:class:`vigie.sim.rtsp.RtspSimServer` serves such a port as a mount (``{"dome1": port}``: "a live encoder of its
own"), so RTSP clients see the dome move the moment its PTZ position changes, as they would a real dome's stream.

One thread renders :meth:`vigie.sim.dome.SimulatedDome.frame` every ``1/fps`` s of the real clock, converts it to
I420 and encodes it with PyAV (libx264 ``ultrafast``/``zerolatency``: no frame held back, one keyframe a second so a
client joining waits one second at most, SPS/PPS repeated before each keyframe as the server learns them from the
stream), and PyAV's ``rtp`` muxer packetises it (RTP/H.264, payload type 96: ``RTP_CAPS`` of
``gst_rtsp_server.py``; 1,200-byte packets). The packets are sent to ``127.0.0.1:PORT`` by this module rather than by
ffmpeg's ``rtp://`` output, because ffmpeg sends a frame's packets at once: a 960x540 keyframe of the panorama is
about 110 packets (126 kB), more than the receiver's default socket buffer holds (212,992 bytes, each loopback
datagram counting about twice its size), so on a busy machine the RTSP server lost parts of keyframes (green bands
at the bottom of the picture, seen in the demo's end-to-end test). Here a frame's packets are spread over half its
period, 8 at a time. RTCP goes to ``PORT + 1``, as ffmpeg sends it.

A frame late because the machine is busy is skipped, never caught up in a burst (the timestamps carry the frame's
slot, so the stream's clock stays real time). Memory is bounded: the encoder holds no queue (``zerolatency``), one
frame's packets are held until sent, and the thread keeps no frames.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from types import TracebackType
from typing import Protocol

import av
import cv2
import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

DEFAULT_WIDTH = 960
DEFAULT_HEIGHT = 540
DEFAULT_FPS = 12
PACKET_SIZE = 1200
"""Bytes per RTP packet (as the RTSP simulator's ffmpeg feeders send: below any loopback or LAN MTU)."""
BURST = 8
"""Packets sent back to back; a frame's bursts are spread over half its period."""


class FrameSource(Protocol):
    """What the feed renders: :class:`vigie.sim.dome.SimulatedDome` is one."""

    def frame(self, width: int, height: int) -> npt.NDArray[np.uint8]: ...


class DomeStreamError(RuntimeError):
    """The feed cannot start (encoder or destination), or its thread died; the message names the cause."""


class _PacedRtp:
    """The RTP muxer's output: PyAV writes each RTP or RTCP packet with one ``write`` (the muxer flushes after
    each); :meth:`send` sends a frame's packets over a given time, RTP to ``port`` and RTCP to ``port + 1``."""

    def __init__(self, host: str, port: int) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp, self.rtcp = (host, port), (host, port + 1)
        self.pending: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.pending.append(bytes(data))
        return len(data)

    def send(self, within_s: float) -> None:
        packets, self.pending = self.pending, []
        bursts = math.ceil(len(packets) / BURST)
        for index in range(bursts):
            if index:
                time.sleep(within_s / bursts)
            for packet in packets[index * BURST : (index + 1) * BURST]:
                rtcp = len(packet) > 1 and 200 <= packet[1] <= 204  # RTCP packet types (RFC 3550)
                self.socket.sendto(packet, self.rtcp if rtcp else self.rtp)

    def close(self) -> None:
        self.socket.close()


class DomeStream:
    """Render ``source`` at ``fps`` and send it as RTP/H.264 to ``udp://host:port``; ``start()``/``stop()`` or a
    context manager. ``clock`` is the pacing clock (``time.monotonic``); the dome keeps its own."""

    def __init__(
        self,
        source: FrameSource,
        port: int,
        *,
        width: int = DEFAULT_WIDTH,
        height: int = DEFAULT_HEIGHT,
        fps: int = DEFAULT_FPS,
        host: str = "127.0.0.1",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= port <= 65535:
            raise ValueError(f"UDP port {port} is out of range 1–65535")
        if width % 2 or height % 2 or not (16 <= width <= 3840 and 16 <= height <= 2160):
            raise ValueError(f"frame size {width}x{height}: use even sizes from 16x16 to 3840x2160")
        if not 1 <= fps <= 30:
            raise ValueError(f"frame rate {fps}: use 1 to 30 frames per second")
        self.source = source
        self.port = port
        self.width, self.height, self.fps = width, height, fps
        self.host = host
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.frames_sent = 0
        self.frames_skipped = 0

    def __enter__(self) -> DomeStream:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Open the encoder and the RTP output, send the first frame, then go on in a thread. Raises
        ``DomeStreamError`` when the encoder or the destination cannot be opened."""
        if self._thread is not None:
            raise RuntimeError("the dome stream is already started")
        self._stop.clear()
        self._error = None
        output = _PacedRtp(self.host, self.port)
        try:
            container, stream = self._open(output)
        except (av.FFmpegError, OSError, ValueError) as err:
            output.close()
            raise DomeStreamError(f"dome stream to udp {self.host}:{self.port} cannot start: {err}") from err
        self._thread = threading.Thread(
            target=self._run, args=(container, stream, output), name=f"dome-stream-{self.port}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop rendering, flush nothing (a live feed), close the output socket; safe to call twice."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout_s)
        if thread.is_alive():  # pragma: no cover - a frame render never takes seconds
            log.warning("dome stream to udp %s:%d did not stop within %.0f s", self.host, self.port, timeout_s)

    def check(self) -> None:
        """Raise ``DomeStreamError`` if the feed's thread died of an error."""
        if self._error is not None:
            raise DomeStreamError(f"dome stream to udp {self.host}:{self.port} stopped: {self._error}")

    def _open(self, output: _PacedRtp) -> tuple[av.container.OutputContainer, av.VideoStream]:
        # the I/O buffer's size is the muxer's largest packet
        container = av.open(output, mode="w", format="rtp", buffer_size=PACKET_SIZE)
        try:
            stream = container.add_stream(
                "libx264",
                rate=self.fps,
                options={
                    "preset": "ultrafast",
                    "tune": "zerolatency",
                    "crf": "26",
                    # a keyframe every second (a client joining waits one at most); SPS/PPS before each, since
                    # the RTSP server learns them from the stream (gst_rtsp_server.py)
                    "x264-params": f"keyint={self.fps}:min-keyint={self.fps}:scenecut=0:repeat-headers=1",
                },
            )
            stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
            stream.codec_context.time_base = Fraction(1, self.fps)
        except BaseException:
            container.close()
            raise
        return container, stream

    def _run(self, container: av.container.OutputContainer, stream: av.VideoStream, output: _PacedRtp) -> None:
        period = 1.0 / self.fps
        start = self._clock()
        slot = 0
        try:
            while not self._stop.is_set():
                image = self.source.frame(self.width, self.height)
                # cv2's BGR to I420: 0.7 ms at 960x540 here, swscale's bgr24 -> yuv420p (PyAV reformat) 3.3 ms
                i420 = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420), dtype=np.uint8)
                frame = av.VideoFrame.from_ndarray(i420, format="yuv420p")
                frame.pts = slot
                frame.time_base = Fraction(1, self.fps)
                for packet in stream.encode(frame):
                    container.mux(packet)
                output.send(within_s=period / 2)
                self.frames_sent += 1
                now = self._clock()
                late = int((now - start) / period) + 1
                if late > slot + 1:  # the machine was busy: skip the slots already past, no burst
                    self.frames_skipped += late - slot - 1
                slot = max(slot + 1, late)
                self._stop.wait(max(0.0, start + slot * period - now))
        except Exception as err:  # kept for check(), logged once
            self._error = err
            log.error("dome stream to udp %s:%d stopped: %s", self.host, self.port, err)
        finally:
            container.close()
            output.close()
