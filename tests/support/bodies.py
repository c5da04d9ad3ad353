"""Request bodies as a hostile client sends them: announced larger than they are, streamed without a length, or
just very large, and what the server took of them.

- :func:`asgi_call` calls the application in process, one ASGI request, and counts the body bytes it pulled:
  "refused before reading" is then a number, not a guess;
- :func:`stream_http` sends a body over a real connection (a server on loopback), in chunks, while reading the
  answer, and stops sending once the server has answered or closed.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class AsgiAnswer:
    status: int
    headers: dict[str, str]
    body: bytes
    pulled: int
    """Body bytes the application took from ``receive``."""

    def json(self) -> Any:
        return json.loads(self.body)


def asgi_call(
    app: Any,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    chunks: Iterable[bytes] = (),
) -> AsgiAnswer:
    """One HTTP request to the ASGI ``app``; ``chunks`` are handed out one per ``receive`` call, lazily (only what
    the application pulls is produced: see :func:`pieces`)."""
    return asyncio.run(_call(app, method, url, dict(headers or {}), iter(chunks)))


async def _call(app: Any, method: str, url: str, headers: dict[str, str], chunks: Iterator[bytes]) -> AsgiAnswer:
    parts = urlsplit(url)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": parts.path,
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    pulled = 0
    exhausted = False
    answered = asyncio.Event()
    start: dict[str, Any] = {}
    body = bytearray()

    async def receive() -> dict[str, Any]:
        nonlocal pulled, exhausted
        if exhausted:
            await answered.wait()
            return {"type": "http.disconnect"}
        chunk = next(chunks, None)
        if chunk is None:
            exhausted = True
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                answered.set()

    await app(scope, receive, send)
    answer_headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start.get("headers", [])}
    return AsgiAnswer(int(start["status"]), answer_headers, bytes(body), pulled)


def pieces(chunk: bytes, total: int) -> Iterator[bytes]:
    """A body of ``total`` bytes handed out ``chunk`` by ``chunk``, lazily: far more than a cap, yet finite, so that
    a server without the cap reads it whole and answers (the test then fails) rather than reading forever."""
    for _ in range(total // len(chunk)):
        yield chunk


@dataclass(frozen=True, slots=True)
class StreamResult:
    status: int | None
    """The answer's status, or None when the connection ended without one."""
    sent: int
    """Body bytes the client managed to send before the server answered or closed."""


def stream_http(
    base: str,
    path: str,
    total: int,
    *,
    chunk: int = 1 << 20,
    announce_length: bool = False,
    timeout: float = 30,
) -> StreamResult:
    """POST a JSON-looking body of ``total`` bytes to ``path`` of the server at ``base``: chunked (no length), or
    with its ``Content-Length`` when ``announce_length``. The body is sent from a thread while this one reads the
    answer; sending stops as soon as the server has answered or closed the connection."""
    parts = urlsplit(base)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=timeout)
    framing = f"Content-Length: {total}" if announce_length else "Transfer-Encoding: chunked"
    head = f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
    done = threading.Event()
    sent = [0]

    def send_body() -> None:
        piece = b'{"username": "' + b"a" * max(0, chunk - 15)
        try:
            sock.sendall(head.encode("ascii"))
            while sent[0] < total and not done.is_set():
                data = piece[: total - sent[0]]
                sock.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n" if not announce_length else data)
                sent[0] += len(data)
            if not announce_length and not done.is_set():
                sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server answered and closed: what a refused upload looks like from the client
            pass

    sender = threading.Thread(target=send_body, daemon=True)
    sender.start()
    answer = b""
    try:
        while b"\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    except OSError:
        pass
    finally:
        done.set()
        sender.join(timeout)
        sock.close()
    status_line = answer.split(b"\r\n", 1)[0].split()
    status = int(status_line[1]) if len(status_line) >= 2 and status_line[1].isdigit() else None
    return StreamResult(status, sent[0])
