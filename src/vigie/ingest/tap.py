"""A camera's recorded stream offered to local readers — the live view — over a Unix socket, as MPEG-TS.

The recorder already holds every packet of a camera's main stream; the live view of that stream reads them from
the recorder instead of opening a second session on the camera: the recorder *taps* the packets it writes, a
:class:`PacketTap` muxes them into MPEG-TS once and fans the bytes out to every local reader connected to its
socket. The live view opens ``unix:<path>`` with PyAV like any camera URL (:func:`tap_url`) and passes the H.264
on to the browser without decoding it. One camera session then serves recording and live (cameras accept few
sessions, and an RTSP session costs the API process more to demux than the tap's MPEG-TS: bench/live_viewers.py).

A camera with privacy masks (L6) is recorded from a stream in which the masks are already burnt in and encoded
(:class:`vigie.ingest.masking.MaskedPackets`): its live view must never show the raw stream, and encoding it a
second time for live would double the cost of the most expensive cameras, so its tap is the *only* way it is
passed through. An unmasked camera's live view falls back to the camera's own stream when its tap cannot be read
(recorder restarting, :mod:`vigie.ingest.live_fmp4`).

Why MPEG-TS: it is made for joining mid-stream (a reader syncs on the packets, PAT/PMT are repeated at every
frame here, ``pat_pmt_at_frames``), and carries the timestamps. A reader starts at the next keyframe; a reader
that falls behind by more than ``max_chunks`` packets loses them and starts again at the next keyframe, so the
recorder never waits for a viewer. The socket is a file of mode 0600 in a 0700 folder of the service's user:
only the service reads it.

Written by hand (rather than with a media server) because it is a few dozen lines on top of FFmpeg's muxer and
socket protocol, and must live inside the recorder process that holds the masked packets.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import select
import socket
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

log = logging.getLogger(__name__)

MAX_SOCKET_PATH = 100
"""AF_UNIX paths are limited to 108 bytes on Linux; longer data folders use a short private folder instead."""
SEND_TIMEOUT_S = 5.0
MUX_OPTIONS = {"mpegts_flags": "pat_pmt_at_frames", "omit_video_pes_length": "0"}
"""PAT/PMT at every frame: a reader joins at any keyframe. The PES length written (frames under 64 KiB): without
it a demuxer knows a frame is whole only when the next one starts, a frame interval later (bench/live_latency.py:
WebSocket client p50 125 ms → 84 ms; reading the camera's RTSP itself, 45 ms — the rest is FFmpeg's H.264 parser
waiting for the next frame's start)."""


def tap_path(data_dir: Path, camera_id: str) -> Path:
    """Where camera ``camera_id``'s tap listens: ``<data_dir>/live/<camera>.sock``, or, when that path is too long
    for a Unix socket, a hashed name in a private folder of the user's runtime directory."""
    path = data_dir / "live" / f"{camera_id}.sock"
    if len(os.fsencode(path)) <= MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(os.fsencode(path)).hexdigest()[:24]
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/vigie-{os.getuid()}")  # noqa: S108 (0700, ours)
    return base / "vigie-live" / f"{digest}.sock"


def tap_url(path: Path) -> str:
    """The URL FFmpeg (PyAV) reads a tap from."""
    return f"unix:{path}"


def tap_listening(path: Path, timeout_s: float = 0.5) -> bool:
    """Whether a tap accepts readers at ``path`` now (a socket file left by a killed recorder does not)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(timeout_s)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def _private_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if folder.stat().st_uid != os.getuid():
        raise PermissionError(f"{folder} belongs to another user: the live tap will not listen there")
    folder.chmod(0o700)


@dataclass(slots=True)
class TapCounters:
    packets: int = 0
    readers: int = 0
    dropped: int = 0
    """Packets a slow reader lost (it started again at the next keyframe)."""


class _Chunks:
    """Receives what the muxer writes for one packet."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


class _Reader:
    def __init__(self, conn: socket.socket, max_chunks: int) -> None:
        self.conn = conn
        self.queue: deque[bytes] = deque()
        self.max_chunks = max_chunks
        self.waiting_keyframe = True
        self.ready = threading.Condition()
        self.closed = False
        self.sending = False
        """The sending thread holds a chunk it is writing: nothing else may be written before it."""
        self.partial = False
        """The queue's first chunk is the rest of one written in part: it is never dropped (the stream stays whole
        TS packets)."""


class PacketTap:
    """Fans one camera's encoded packets out to local readers over a Unix socket (see the module's text).

    ``publish`` is called by the recording thread for every packet it writes; it never blocks on a reader."""

    def __init__(self, path: Path, template: Any, *, max_readers: int = 16, max_chunks: int = 256) -> None:
        self.path = path
        self.counters = TapCounters()
        self._max_readers = max_readers
        self._max_chunks = max_chunks
        self._chunks = _Chunks()
        self._template = template
        self._output: Any = None
        """Opened at the first packet: an encoder's stream (masked cameras) has its parameters only by then."""
        self._stream: Any = None
        self._readers: list[_Reader] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        _private_folder(path.parent)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # a predecessor's socket (killed): nobody listens on it any more
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            self._server.bind(str(path))
        finally:
            os.umask(old)
        path.chmod(0o600)
        self._server.listen(max_readers)
        self._server.settimeout(0.5)
        self._accepting = threading.Thread(target=self._accept, name=f"tap:{path.stem}", daemon=True)
        self._accepting.start()

    def __enter__(self) -> PacketTap:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def publish(self, packet: Any) -> None:
        """Mux one packet (a copy: the packet is the recorder's) and hand its bytes to every reader."""
        if not self._readers:
            return  # nobody watches: nothing muxed (a reader that comes starts at the next keyframe anyway)
        if packet.size == 0 or packet.pts is None or packet.time_base is None:
            return
        keyframe = bool(packet.is_keyframe)
        copy = av.Packet(bytes(packet))
        copy.pts, copy.dts = packet.pts, packet.dts
        copy.time_base = packet.time_base  # a Fraction already (PyAV makes one at each read)
        copy.is_keyframe = keyframe
        if self._output is None:
            self._output = av.open(self._chunks, "w", format="mpegts", options=MUX_OPTIONS)
            self._stream = self._output.add_stream_from_template(self._template)
        copy.stream = self._stream
        try:
            self._output.mux(copy)
        except av.error.FFmpegError:
            return  # a packet the muxer refuses (timestamps) is not worth a viewer: recording goes on
        data = self._chunks.take()
        if not data:
            return
        self.counters.packets += 1
        with self._lock:
            readers = list(self._readers)
        for reader in readers:
            self._offer(reader, data, keyframe)

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self._accepting.join(2.0)
        with self._lock:
            readers, self._readers = self._readers, []
        for reader in readers:
            self._drop(reader)
        self._server.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        if self._output is not None:
            with contextlib.suppress(Exception):
                self._output.close()

    def _offer(self, reader: _Reader, data: bytes, keyframe: bool) -> None:
        """Written at once, without blocking, while the reader keeps up (waking its sending thread for every
        packet cost the recorder more than the muxing: ≈ 0.1 ms a packet); what the socket cannot take now is
        queued for the sending thread."""
        with reader.ready:
            if reader.closed:
                return
            if reader.waiting_keyframe:
                if not keyframe:
                    return
                reader.waiting_keyframe = False
            if not reader.queue and not reader.sending:
                try:
                    sent = reader.conn.send(data, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    sent = 0
                except OSError:  # the reader left: its sending thread drops it
                    reader.closed = True
                    reader.ready.notify()
                    return
                if sent == len(data):
                    return
                data, reader.partial = data[sent:], sent > 0
            if len(reader.queue) >= reader.max_chunks:
                kept = [reader.queue[0]] if reader.partial else []
                self.counters.dropped += len(reader.queue) - len(kept)
                reader.queue.clear()
                reader.queue.extend(kept)
                reader.waiting_keyframe = not keyframe
                if not keyframe:
                    return
            reader.queue.append(data)
            reader.ready.notify()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                if len(self._readers) >= self._max_readers:
                    conn.close()
                    continue
                conn.setblocking(False)  # the recording thread writes to it and must never wait (``_offer``)
                reader = _Reader(conn, self._max_chunks)
                self._readers.append(reader)
                self.counters.readers += 1
            threading.Thread(
                target=self._send, args=(reader,), name=f"tap-reader:{self.path.stem}", daemon=True
            ).start()

    def _send(self, reader: _Reader) -> None:
        try:
            while not self._closed.is_set() and not reader.closed:
                with reader.ready:
                    reader.sending = False
                    while not reader.queue and not self._closed.is_set() and not reader.closed:
                        reader.ready.wait(0.5)
                    if not reader.queue:
                        continue
                    data = reader.queue.popleft()
                    reader.sending, reader.partial = True, False
                _send_all(reader.conn, data)
        except OSError:
            pass  # the reader left, or stopped reading for SEND_TIMEOUT_S
        finally:
            with self._lock:
                if reader in self._readers:
                    self._readers.remove(reader)
            self._drop(reader)

    @staticmethod
    def _drop(reader: _Reader) -> None:
        with reader.ready:
            reader.closed = True
            reader.ready.notify_all()
        with contextlib.suppress(OSError):
            reader.conn.close()


def _send_all(conn: socket.socket, data: bytes) -> None:
    """Write all of ``data`` to a non-blocking socket, waiting up to SEND_TIMEOUT_S at a time for room."""
    view = memoryview(data)
    while view:
        try:
            view = view[conn.send(view) :]
        except BlockingIOError:
            poller = select.poll()  # not select.select: a recorder's descriptors may number 1024 or more
            poller.register(conn, select.POLLOUT)
            if not poller.poll(SEND_TIMEOUT_S * 1000):
                raise TimeoutError("the reader stopped reading") from None
