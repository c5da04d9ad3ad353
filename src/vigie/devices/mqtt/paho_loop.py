"""paho-mqtt's network loop on epoll (:mod:`selectors`), in place of paho's ``loop_start``.

paho 2.2's own loop waits with ``select.select``, which cannot watch a file descriptor numbered 1024 or more
(FD_SETSIZE). A ``vigie serve`` holding connections to hundreds of cameras, segment files and database sockets hands
the MQTT socket such a number; ``select`` then raises ValueError, paho takes it for a lost connection and tries
again — forever, the same way (CI: the sensors never subscribed in a test process holding over 1,024 descriptors).
paho documents this "external event loop" use — ``socket()``, ``loop_read``, ``loop_write``, ``loop_misc``,
``want_write`` and ``on_socket_register_write`` — and aiomqtt drives it the same way from asyncio; here a thread
and :class:`selectors.DefaultSelector` (epoll on Linux, no limit on descriptor numbers) drive it, with paho's
reconnection delays (``reconnect_delay_set``: doubled from the least to the most after each failure).
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

log = logging.getLogger(__name__)

WAIT_S = 1.0
"""Longest wait for the socket: paho's keep-alive (``loop_misc``) is looked after at least this often."""
STOP_FLUSH_S = 2.0
"""At a stop, how long the DISCONNECT (and what was queued before it) may take to be written."""


class PahoLoop:
    """Runs ``client``'s network traffic on a thread of its own: connects to ``host:port`` (``keepalive`` seconds),
    reads, writes, pings and reconnects after a loss or a failed attempt (waiting ``min_delay_s``, doubled up to
    ``max_delay_s``). ``on_connect_error`` hears why an attempt failed (an unreachable broker: no CONNACK, no
    callback of paho's); ``connect_options`` go to paho's ``connect_async`` (``clean_start``, ``properties``).
    ``publish`` and ``subscribe`` may be called from any thread: the loop is woken to write."""

    def __init__(
        self,
        client: mqtt.Client,
        host: str,
        port: int,
        *,
        keepalive: int = 60,
        min_delay_s: float = 1.0,
        max_delay_s: float = 5.0,
        name: str = "mqtt-loop",
        on_connect_error: Callable[[OSError], None] | None = None,
        **connect_options: Any,
    ) -> None:
        self.client, self._host, self._port, self._keepalive = client, host, port, keepalive
        self._min_delay, self._max_delay, self._name = min_delay_s, max_delay_s, name
        self._on_connect_error, self._connect_options = on_connect_error, connect_options
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._registered: mqtt.SocketLike | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        client.on_socket_register_write = self._wake  # set before any packet is queued: paho then never writes itself

    def start(self) -> None:
        if self._thread is not None:
            return
        self.client.connect_async(self._host, self._port, self._keepalive, **self._connect_options)
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Disconnect (a normal DISCONNECT when connected, written before the loop ends) and end the thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        self.client.disconnect()
        self._wake()
        thread.join(timeout)
        if not thread.is_alive():
            self._wake_r.close()
            self._wake_w.close()

    def _wake(self, *_: Any) -> None:
        with contextlib.suppress(OSError):  # full (the loop is awake already) or closed at the stop
            self._wake_w.send(b"\0")

    def _run(self) -> None:
        client, selector = self.client, selectors.DefaultSelector()
        selector.register(self._wake_r, selectors.EVENT_READ)
        delay = self._min_delay
        stop_deadline = float("inf")
        try:
            while True:
                sock = client.socket()
                if self._stopping.is_set():
                    stop_deadline = min(stop_deadline, time.monotonic() + STOP_FLUSH_S)
                    if sock is None or not client.want_write() or time.monotonic() >= stop_deadline:
                        break
                if sock is None:
                    self._forget(selector)
                    delay = self._connect(delay)
                else:
                    self._turn(selector, sock)
        except Exception:  # paho's own errors are return codes; anything else is a defect: said, never silent
            log.exception("%s: the MQTT network loop stopped", self._name)
        finally:
            selector.close()

    def _connect(self, delay: float) -> float:
        """One attempt; the delay before the next one after a failure (waited here), else the least delay."""
        try:
            self.client.reconnect()
        except OSError as err:  # refused, unreachable, TLS handshake (ssl.SSLError is an OSError)
            if self._on_connect_error is not None:
                self._on_connect_error(err)
            self._stopping.wait(delay)
            return min(2 * delay, self._max_delay)
        return self._min_delay

    def _forget(self, selector: selectors.BaseSelector) -> None:
        if self._registered is not None:
            with contextlib.suppress(KeyError, ValueError):  # closed by paho: found by identity, epoll forgot it
                selector.unregister(self._registered)
            self._registered = None

    def _turn(self, selector: selectors.BaseSelector, sock: mqtt.SocketLike) -> None:
        """Wait for the socket (or a wake-up), then read, write and keep alive as paho's own loop does."""
        client = self.client
        if sock is not self._registered:
            self._forget(selector)
            selector.register(sock, selectors.EVENT_READ)
            self._registered = sock
        pending = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0  # decrypted bytes epoll cannot see
        selector.modify(sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if client.want_write() else 0))
        readable = writable = False
        for key, mask in selector.select(0.0 if pending else WAIT_S):
            if key.fileobj is self._wake_r:
                with contextlib.suppress(OSError):
                    self._wake_r.recv(4096)
            else:
                readable, writable = bool(mask & selectors.EVENT_READ), bool(mask & selectors.EVENT_WRITE)
        if readable or pending:
            client.loop_read()
        if client.socket() is not None and (writable or client.want_write()):
            client.loop_write()
        client.loop_misc()
