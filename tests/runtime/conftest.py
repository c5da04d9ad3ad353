"""Fixtures shared by the runtime's tests."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.support.sign_on import stack  # noqa: F401 - the OpenID provider fixture, for this folder's tests


@pytest.fixture
def silent_tcp_server() -> Iterator[int]:
    """Accepts connections and never answers: what a hung camera looks like to FFmpeg."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()
