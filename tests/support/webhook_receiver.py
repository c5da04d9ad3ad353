"""A real HTTP server receiving webhooks (the standard library's ``http.server`` in a thread, on 127.0.0.1): it
checks each request's Standard Webhooks signature as a receiver would, keeps what it got, and answers what the test
scripted (a status, headers), 204 when nothing is scripted."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.tls import LoopbackCertificate
from vigie.devices.webhooks.signing import WebhookVerificationError, verify


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    problem: str

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """``secret``: the endpoint's ``whsec_…`` secret; ``now``: the receiver's clock in Unix seconds (the sender's
    fake clock in tests that inject one, for the timestamp tolerance)."""

    def __init__(self, secret: str, now: Callable[[], float] = time.time, *, tls: bool = False) -> None:
        self.secret, self.now, self.tls = secret, now, tls
        self.received: list[Received] = []
        self._answers: deque[tuple[int, dict[str, str]]] = deque()
        self._lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.server.server_address[1]}/hooks/vigie"

    def answer(self, status: int, **headers: str) -> None:
        """Answer the next request not yet answered with ``status`` (and ``headers``, ``_`` for ``-``)."""
        with self._lock:
            self._answers.append((status, {k.replace("_", "-"): v for k, v in headers.items()}))

    def verified(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.verified]

    def _take(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        try:
            verify(self.secret, headers, body, self.now())
            verified, problem = True, ""
        except WebhookVerificationError as err:
            verified, problem = False, str(err)
        with self._lock:
            self.received.append(Received(path, headers, body, verified, problem))
            if not verified:
                return 401, {}
            return self._answers.popleft() if self._answers else (204, {})


@contextmanager
def webhook_receiver(
    secret: str,
    now: Callable[[], float] = time.time,
    *,
    port: int = 0,
    certificate: LoopbackCertificate | None = None,
) -> Iterator[WebhookReceiver]:
    """A receiver on 127.0.0.1 (``port``, or a free one) until the block ends; over TLS with ``certificate``."""
    receiver = WebhookReceiver(secret, now, tls=certificate is not None)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status, headers = receiver._take(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    if certificate is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(certificate.certificate_file), str(certificate.private_key_file))
        server.socket = context.wrap_socket(server.socket, server_side=True)
    receiver.server = server
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
