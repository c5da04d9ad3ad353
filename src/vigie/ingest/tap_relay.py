"""A recorder's live taps offered over the network, for the API processes of a cluster (issue 17).

On one host the live view reads a recorder's tap (:mod:`vigie.ingest.tap`, a Unix socket) directly. In cluster mode
the recorder runs on another node: each recording group's actor runs a :class:`TapRelay`, a small HTTP server that
forwards a tap's MPEG-TS bytes as they come to an authenticated reader, so that

- a masked camera's live view (L6: the tap is its only pass-through source) works from any API process, and
- the API processes read the recorder's session instead of each opening its own on the camera (cameras accept few
  sessions).

The bytes are the tap's, unchanged: a masked camera's relay serves the stream with the masks burnt in, and there is
nothing else a relay can serve (it knows only its group's taps).

**Authentication.** A reader sends ``Authorization: VigieTap <expires>.<hmac>``: an HMAC-SHA256, under the
installation's *live tap key*, of the camera id and the token's expiry (a Unix time at most
:data:`TOKEN_TTL_S` ahead, :data:`CLOCK_SKEW_S` of tolerance between hosts). The API processes derive the key from
the keys folder (``shared_key(config, "live-taps")``, HKDF like the playback URL key); a node has no keys folder and
reads it from its own environment (:data:`KEY_ENV`, printed by ``vigie cluster live-key``): it is never sent through
Ray nor written in a log, and a node without it serves no live view. The token is in a header, not the URL, so that
FFmpeg's error messages never carry it. A token is checked when the connection opens; the stream then goes on.

**Bounds.** At most ``readers_per_camera`` readers per camera (one per API process is what the hub opens) and
``max_connections`` connections in all, authenticated or not; a request must arrive within
:data:`REQUEST_TIMEOUT_S`; a reader that stops reading for :data:`SEND_TIMEOUT_S` is cut (the tap itself drops a
slow reader's packets first, never holding the recorder).

Why HTTP: FFmpeg reads ``http://`` natively (the API side opens the relay with PyAV like any camera URL, with its
own timeouts), and the standard library's threaded HTTP server is the server side. The bytes are copied with
``recv_into``/``sendall`` of what the tap wrote (up to 64 KiB at a time) — no per-packet work in Python beyond one
``poll`` and two system calls per tap write, which also notices a reader that left while the tap is quiet.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import select
import socket
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from vigie.domain.clock import Clock
from vigie.domain.live_endpoint import LiveEndpoint, LiveEndpointReader
from vigie.ingest.live_fmp4 import Fmp4Spec, PacketSource, PacketStream, PassThroughStream, listening
from vigie.ingest.packets import PacketSpec
from vigie.ingest.reader import CameraError

log = logging.getLogger(__name__)

KEY_ENV = "VIGIE_LIVE_TAP_KEY"
"""The environment variable holding the live tap key on a node (64 hexadecimal digits)."""
KEY_PURPOSE = "live-taps"
"""What the key is derived for from the keys folder (``vigie.runtime.assembly.auth.shared_key``)."""
AUTH_SCHEME = "VigieTap"
TOKEN_TTL_S = 60
CLOCK_SKEW_S = 30
"""How far apart the clocks of an API host and a node may be for a token to be accepted."""
REQUEST_TIMEOUT_S = 5.0
SEND_TIMEOUT_S = 10.0
TAP_IDLE_S = 30.0
"""A tap silent this long (its camera sends nothing) ends the relayed stream; the reader opens it again."""
PATH = "/tap/"
REFUSALS_LOGGED_EVERY_S = 60.0
RELAYED = "vigie-tap:"
"""Prefix of the URL a pass-through spec names a relayed tap by (``vigie-tap:<camera>``): resolved to the node's
relay each time it is opened (:class:`RelayedTaps`), so a reader follows its camera when it moves."""
CHUNK = 64 << 10


class RelayError(RuntimeError):
    """A relay cannot listen (no free port in its range)."""


def tap_token(key: bytes, camera_id: str, expires: int) -> str:
    """The token that opens camera ``camera_id``'s tap until ``expires`` (Unix seconds)."""
    mac = hmac.new(key, f"vigie-live-tap\n{camera_id}\n{expires}".encode(), hashlib.sha256).hexdigest()
    return f"{expires}.{mac}"


def token_refusal(key: bytes, camera_id: str, authorization: str | None, now: float) -> str | None:
    """Why ``authorization`` (the request's header) does not open ``camera_id``'s tap at ``now``; None when it does."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme != AUTH_SCHEME or not token:
        return "no token"
    expires_text, _, mac = token.strip().partition(".")
    if not expires_text.isdigit() or len(expires_text) > 12 or len(mac) != 64:
        return "malformed token"
    expires = int(expires_text)
    if expires < now - CLOCK_SKEW_S:
        return "expired token"
    if expires > now + TOKEN_TTL_S + CLOCK_SKEW_S:
        return "token valid too far ahead"
    if not hmac.compare_digest(tap_token(key, camera_id, expires), token.strip()):
        return "wrong token"
    return None


def node_key(environ: Mapping[str, str]) -> bytes | None:
    """The live tap key from a node's environment (None when unset); ValueError naming the variable when it is not
    64 hexadecimal digits."""
    text = environ.get(KEY_ENV, "").strip()
    if not text:
        return None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ValueError(f"{KEY_ENV} must be the 64 hexadecimal digits printed by `vigie cluster live-key`")
    return key


@dataclass(frozen=True, slots=True)
class RelayPlan:
    """What a group's relay listens on and how many readers it takes (from ``cluster`` settings)."""

    first_port: int = 7460
    ports: int = 16
    """Ports ``first_port`` .. ``first_port + ports - 1``: each recording group on a node takes the first free one."""
    readers_per_camera: int = 8
    max_connections: int = 256


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False  # two groups on one node must not share a port
    request_queue_size = 64

    relay: TapRelay

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.relay._slots.acquire(blocking=False):  # over the bound: closed before any thread is made
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.relay._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.relay._slots.release()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = REQUEST_TIMEOUT_S
    protocol_version = "HTTP/1.0"  # one stream per connection, ended by closing it

    def log_message(self, format: str, *args: Any) -> None:
        return  # the standard output of a Ray actor is no log; refusals are logged by the relay

    def do_GET(self) -> None:
        self.server.relay._serve(self)


class TapRelay:
    """One recording group's taps (camera id → the tap's socket path) served over HTTP on the node (see the
    module's text). Listens from construction to :meth:`close`."""

    def __init__(
        self,
        taps: Mapping[str, Path],
        key: bytes,
        plan: RelayPlan = RelayPlan(),
        *,
        host: str = "0.0.0.0",  # noqa: S104 (the API hosts are elsewhere; the firewall and the token guard it)
        now: Callable[[], float] = time.time,
    ) -> None:
        self._taps = dict(taps)
        self._key = key
        self._plan = plan
        self._now = now
        self._slots = threading.BoundedSemaphore(plan.max_connections)
        self._lock = threading.Lock()
        self._readers: dict[str, int] = {}
        self._open: set[socket.socket] = set()
        self.refused = 0
        self._logged_at = float("-inf")
        """Requests refused (bad token, unknown camera, over a bound) since start."""
        self.server = self._bind(host)
        self.server.relay = self
        self.port: int = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.5,), name="tap-relay", daemon=True)
        self._thread.start()

    def _bind(self, host: str) -> _Server:
        last: OSError | None = None
        for port in range(self._plan.first_port, self._plan.first_port + self._plan.ports):
            try:
                return _Server((host, port), _Handler)
            except OSError as err:  # taken by another group of this node (or another program)
                last = err
        raise RelayError(
            f"no free port for the live relay in {self._plan.first_port}-{self._plan.first_port + self._plan.ports - 1}"
            f" ({last}); raise cluster.live_ports or free the range"
        )

    def readers(self, camera_id: str) -> int:
        with self._lock:
            return self._readers.get(camera_id, 0)

    def close(self) -> None:
        """Stop listening and cut every relayed stream."""
        self.server.shutdown()
        self.server.server_close()
        with self._lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _refuse(self, request: _Handler, status: int, camera_id: str, why: str) -> None:
        self.refused += 1
        now = time.monotonic()
        if now - self._logged_at >= REFUSALS_LOGGED_EVERY_S:  # a flood of bad requests is one line a minute
            self._logged_at = now
            log.warning(
                "live relay: refused camera %r to %s: %s (%d refused since start)",
                camera_id[:128],
                request.client_address[0],
                why,
                self.refused,
            )
        request.send_error(status, why)

    def _serve(self, request: _Handler) -> None:
        camera_id = request.path.removeprefix(PATH) if request.path.startswith(PATH) else ""
        path = self._taps.get(camera_id)
        if path is None:
            self._refuse(request, 404, camera_id, "no such camera on this node")
            return
        why = token_refusal(self._key, camera_id, request.headers.get("Authorization"), self._now())
        if why is not None:
            self._refuse(request, 403, camera_id, why)
            return
        with self._lock:
            count = self._readers.get(camera_id, 0)
            if count >= self._plan.readers_per_camera:
                full = True
            else:
                full = False
                self._readers[camera_id] = count + 1
        if full:
            self._refuse(request, 503, camera_id, f"already {count} readers of this camera")
            return
        try:
            self._relay(request, camera_id, path)
        finally:
            with self._lock:
                left = self._readers[camera_id] - 1
                if left:
                    self._readers[camera_id] = left
                else:
                    del self._readers[camera_id]

    def _relay(self, request: _Handler, camera_id: str, path: Path) -> None:
        tap = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            tap.settimeout(REQUEST_TIMEOUT_S)
            try:
                tap.connect(str(path))
            except OSError:
                self._refuse(request, 503, camera_id, "the recorder's tap does not listen (camera not recording)")
                return
            request.send_response(200)
            request.send_header("Content-Type", "video/mp2t")
            request.send_header("Cache-Control", "no-store")
            request.end_headers()
            request.wfile.flush()
            conn = request.connection
            conn.settimeout(SEND_TIMEOUT_S)
            tap.settimeout(TAP_IDLE_S)
            with self._lock:
                self._open.add(conn)
            buffer = bytearray(CHUNK)
            view = memoryview(buffer)
            # poll, not select.select: a node serving hundreds of cameras hands out descriptors numbered 1024 and more
            poller = select.poll()
            poller.register(tap, select.POLLIN)
            poller.register(conn, select.POLLIN)
            tap_fd, conn_fd = tap.fileno(), conn.fileno()
            try:
                while True:
                    ready = {fd for fd, _ in poller.poll(TAP_IDLE_S * 1000)}
                    if not ready:
                        return  # the tap went silent: the reader opens it again
                    if conn_fd in ready and not conn.recv(1024):
                        return  # the reader left (a quiet tap would not tell)
                    if tap_fd in ready:
                        size = tap.recv_into(buffer)
                        if not size:
                            return  # the recorder stopped (its camera, its group): the reader opens it again
                        conn.sendall(view[:size])
            except OSError:
                return  # the reader went away or stopped reading
            finally:
                with self._lock:
                    self._open.discard(conn)
        finally:
            tap.close()


# --- The API processes' side ------------------------------------------------------------------------------------


def relayed_url(camera_id: str) -> str:
    """The pass-through URL of a camera's tap read through its node's relay."""
    return f"{RELAYED}{camera_id}"


class RelayedTaps:
    """The pass-through packet source of an API process in cluster mode: a ``vigie-tap:<camera>`` spec is opened
    on the relay the control plane last recorded for the camera (looked up at every opening: a reader whose node
    went away opens the new one), with a fresh token; any other URL (a camera's own stream) by ``direct``."""

    def __init__(
        self,
        endpoints: LiveEndpointReader,
        key: bytes,
        clock: Clock,
        direct: PacketSource,
        *,
        probe_timeout_s: float = 0.5,
    ) -> None:
        self._endpoints = endpoints
        self._key = key
        self._clock = clock
        self._direct = direct
        self._probe_timeout_s = probe_timeout_s

    def _endpoint(self, camera_id: str) -> LiveEndpoint | None:
        try:
            return self._endpoints.get(camera_id)
        except Exception as err:  # the database down: no live view from a relay until it answers
            log.warning("where camera %s's live view is served cannot be read: %s", camera_id, type(err).__name__)
            return None

    def __call__(self, spec: Fmp4Spec) -> AbstractContextManager[PacketStream]:
        if not spec.url.startswith(RELAYED):
            return self._direct(spec)
        camera_id = spec.url.removeprefix(RELAYED)
        endpoint = self._endpoint(camera_id)
        if endpoint is None:
            raise CameraError(f"camera {camera_id}: its recorder runs on no node with a live relay now")
        expires = int(self._clock().timestamp()) + TOKEN_TTL_S
        token = tap_token(self._key, camera_id, expires)
        options = (
            ("headers", f"Authorization: {AUTH_SCHEME} {token}\r\n"),
            ("timeout", str(round(spec.read_timeout_s * 1e6))),  # FFmpeg's own socket timeout (connect and reads)
            ("seekable", "0"),
        )
        packet_spec = PacketSpec(
            camera_id,
            f"http://{endpoint.authority}{PATH}{camera_id}",
            open_timeout_s=spec.open_timeout_s,
            read_timeout_s=spec.read_timeout_s,
            options=options,
        )
        return PassThroughStream(packet_spec, self._clock)

    def reachable(self, url: str) -> bool:
        """Whether ``url`` may be opened now: a relayed tap while its camera has a relay that accepts connections."""
        if not url.startswith(RELAYED):
            return listening(url)
        endpoint = self._endpoint(url.removeprefix(RELAYED))
        if endpoint is None:
            return False
        try:
            with socket.create_connection((endpoint.host, endpoint.port), timeout=self._probe_timeout_s):
                return True
        except OSError:
            return False


def taps_of(cameras: Any) -> dict[str, Path]:
    """camera id → tap path of a recording group's cameras (``RecorderSpec``s) that have one."""
    return {camera.camera_id: Path(camera.live_tap) for camera in cameras if getattr(camera, "live_tap", None)}
