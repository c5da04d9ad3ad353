"""Message ids: time-ordered UUIDs (version 7, RFC 9562 §5.7), each new one greater than the previous.

Why not ``uuid.uuid4()``: the outbox's unique index on ``message_id`` is a B-tree; random ids land on a random leaf
page each, so a transaction of a hundred health events dirtied about a hundred index pages, all written to SQLite's
write-ahead log at the commit (36 µs of the ~100 µs CPU a health message cost, ``bench/mqtt_throughput.py``). Ids
that grow with time are appended at the index's right edge: a few pages per transaction. They remain UUIDs (what the
payloads' schemas and consumers expect), unique across processes and restarts by their 62 random bits, and tell
nothing the payload's ``written_at`` does not already say.

Hand-written: Python 3.11's :mod:`uuid` has no version 7 (3.14 adds ``uuid.uuid7``), and the twenty lines below
cost less than a dependency for it; the random bits come from :func:`os.urandom`, read 4 KiB at a time (one system
call per 512 ids instead of one per id).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

_RANDOM_CHUNK = 8 * 512
_COUNTER_MAX = 0xFFF
"""``rand_a``'s 12 bits hold a counter within one millisecond (RFC 9562 §6.2, method 1): 4,096 ids a millisecond
before the time field is moved on by one."""


class TimeOrderedIds:
    """A callable giving a new id at each call; thread-safe (the alert service, the sink's thread and the monitor
    all write messages). ``clock_ms``: milliseconds since the Unix epoch (injected by tests)."""

    def __init__(self, clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self._clock_ms = clock_ms
        self._lock = threading.Lock()
        self._ms = -1
        self._counter = 0
        self._random = b""
        self._at = 0

    def __call__(self) -> str:
        with self._lock:
            now = self._clock_ms()
            if now > self._ms:
                self._ms, self._counter = now, 0
            elif self._counter < _COUNTER_MAX:
                self._counter += 1  # same millisecond, or the clock stepped back: still greater than the last
            else:
                self._ms, self._counter = self._ms + 1, 0
            if self._at >= len(self._random):
                self._random, self._at = os.urandom(_RANDOM_CHUNK), 0
            tail = int.from_bytes(self._random[self._at : self._at + 8], "big")
            self._at += 8
            ms, counter = self._ms, self._counter
        value = (ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | tail & (1 << 62) - 1
        h = f"{value:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
