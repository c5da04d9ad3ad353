"""A live camera without a network: white frames at a steady pace, a failure on demand, and a count of how often
it was opened (what the live feeds' sharing and restarts are measured with)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np

from vigie.ingest.live import LiveSpec
from vigie.ingest.reader import CameraError, SampledFrame

WHITE = np.full((120, 160, 3), 255, np.uint8)
LEFT_HALF = ((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0))


class Camera:
    """A frame source: white frames every ``period`` s; counts how often it was opened."""

    def __init__(self, period: float = 0.01, fail_after: int | None = None) -> None:
        self.period = period
        self.fail_after = fail_after
        self.opened = 0
        self.open_now = 0
        self.lock = threading.Lock()

    def __call__(self, spec: LiveSpec) -> Iterator[SampledFrame]:
        with self.lock:
            self.opened += 1
            self.open_now += 1
        try:
            n = 0
            while True:
                if self.fail_after is not None and n >= self.fail_after:
                    raise CameraError(f"camera {spec.camera_id}: connection refused")
                time.sleep(self.period)
                n += 1
                yield SampledFrame(WHITE, datetime.now(UTC), 1)
        finally:
            with self.lock:
                self.open_now -= 1
