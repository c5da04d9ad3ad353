"""The API served by a real HTTP server (uvicorn in a thread), for what only a server does: endless responses,
a browser, a video player, a sign-on provider redirecting back."""

from __future__ import annotations

import os
import random
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from tests.support.waiting import wait_for

PORTS_FROM = 20_000
"""Ports handed to the servers tests start come from below Linux's ephemeral range (32768–60999 by default).

Why not ``bind(("127.0.0.1", 0))`` and give the number away: that port is in the ephemeral range, from which every
outgoing connection of the machine also takes its source port; between the moment a test releases the port and the
moment its server binds it (seconds for ``vigie demo``), a client elsewhere (another worker's HTTP, MQTT or
PostgreSQL connection) may take it, and the server fails with "address already in use" (a CI run lost the demo's
console and two MQTT tests so). Below the range no connection takes a port by itself, and each test process draws from
its own slice: a pytest-xdist worker by its number, the moved-clock pass's halves by ``VIGIE_TEST_PORT_SLOT``."""
SLICE = 2_000
SLOTS = 6
STRIDE = 7
"""Ports handed out one after the other are this far apart (prime to SLICE, so every port of the slice comes round):
some servers also bind the next port up (baresip: SIP over TLS on its SIP port + 1)."""


def _slot() -> int:
    named = os.environ.get("VIGIE_TEST_PORT_SLOT")
    if named is not None:
        return int(named) % SLOTS
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, …
    return int(worker[2:]) % SLOTS if worker.startswith("gw") and worker[2:].isdigit() else SLOTS - 1


_lock = threading.Lock()
_next = [random.randrange(SLICE)]
"""Where this process's next port is looked for in its slice (a random start: a rerun does not meet its leftovers)."""


def free_port() -> int:
    """A loopback port free now, from this test process's slice below the ephemeral range (see PORTS_FROM); each
    call moves on by STRIDE, so a process does not hand out the same port, or its neighbour, twice in a row."""
    base = PORTS_FROM + _slot() * SLICE
    with _lock:
        for _ in range(SLICE):
            port = base + _next[0]
            _next[0] = (_next[0] + STRIDE) % SLICE
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError(f"no free loopback port in {base}–{base + SLICE - 1}")


@contextmanager
def serving(app: Any, port: int | None = None, **options: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 (``port``, or a free one) until the block ends; yields the base URL once the
    server accepts connections (the test fails if it has not started within 10 s). ``options`` go to
    :class:`uvicorn.Config`."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 10, f"the API server on port {port} to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
