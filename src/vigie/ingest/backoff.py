"""Reconnection delays: exponential with jitter, so that 4,000 cameras behind one switch that rebooted do not
all reconnect in the same second."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before reconnection attempt ``attempt`` (0-based): base·2^attempt, capped, with ±jitter."""

    base_s: float = 1.0
    cap_s: float = 30.0
    jitter: float = 0.2

    def delay(self, attempt: int, rng: random.Random) -> float:
        raw = min(self.cap_s, self.base_s * (2 ** min(attempt, 16)))
        return float(max(0.0, raw * (1.0 + rng.uniform(-self.jitter, self.jitter))))
