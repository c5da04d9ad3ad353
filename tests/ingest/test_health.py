"""Stream health from the frames that actually arrive, and reconnection delays."""

from __future__ import annotations

import random

import pytest

from vigie.domain.camera import HealthState
from vigie.ingest.backoff import Backoff
from vigie.ingest.health import FrameRate, stream_state


def test_frame_rate_over_a_sliding_window() -> None:
    rate = FrameRate(window_s=5.0)
    for i in range(50):  # 10 s at 5 fps
        rate.tick(i * 0.2)
    assert rate.fps(9.8) == pytest.approx(5.0, rel=0.05)
    for i in range(5):  # then 5 s at 1 fps
        rate.tick(10.0 + i)
    assert rate.fps(15.0) == pytest.approx(1.0)  # the 5 fps frames have left the window


def test_slow_stream_is_degraded_only_after_a_full_window() -> None:
    assert stream_state(1.0, 5.0, observed_for_s=2.0, window_s=5.0) == (HealthState.ONLINE, "")
    state, why = stream_state(1.0, 5.0, observed_for_s=6.0, window_s=5.0)
    assert state is HealthState.DEGRADED and "1.0" in why and "expected 5" in why
    assert stream_state(4.0, 5.0, observed_for_s=60.0, window_s=5.0)[0] is HealthState.ONLINE


def test_backoff_grows_exponentially_is_capped_and_jittered() -> None:
    backoff = Backoff(base_s=1.0, cap_s=30.0, jitter=0.2)
    rng = random.Random(3)
    delays = [backoff.delay(n, rng) for n in range(10)]
    assert 0.8 <= delays[0] <= 1.2 and 3.2 <= delays[2] <= 4.8
    assert all(d <= 36.0 for d in delays) and delays[9] >= 24.0
    many = {round(backoff.delay(8, rng), 3) for _ in range(20)}
    assert len(many) > 10, "cameras behind one switch must not all reconnect in the same instant"
