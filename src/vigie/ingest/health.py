"""How healthy a stream is, from what actually arrives: pure functions, tested without a camera."""

from __future__ import annotations

from collections import deque

from vigie.domain.camera import HealthState

DEGRADED_BELOW = 0.5
"""A stream delivering less than half the analysis rate is degraded (network loss, overloaded camera)."""


class FrameRate:
    """Frames per second over a sliding window, with bounded memory."""

    def __init__(self, window_s: float = 5.0, max_samples: int = 1024) -> None:
        self.window_s = window_s
        self._times: deque[float] = deque(maxlen=max_samples)
        self._first: float | None = None

    def tick(self, now: float) -> None:
        if self._first is None:
            self._first = now
        self._times.append(now)

    def fps(self, now: float) -> float:
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()
        span = min(self.window_s, now - self._first) if self._first is not None else 0.0
        return len(self._times) / span if span > 0 else 0.0

    def observed_for(self, now: float) -> float:
        return 0.0 if self._first is None else now - self._first


def stream_state(fps: float, expected_fps: float, observed_for_s: float, window_s: float) -> tuple[HealthState, str]:
    """``online`` when frames arrive at the expected rate, ``degraded`` (with why) when they arrive too slowly.

    Nothing is judged before a full window has been observed, so a stream that just opened is not called slow.
    """
    if observed_for_s >= window_s and fps < DEGRADED_BELOW * expected_fps:
        return HealthState.DEGRADED, f"receiving {fps:.1f} analysis frames/s, expected {expected_fps:g}"
    return HealthState.ONLINE, ""
