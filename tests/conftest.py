"""Shared fixtures (the helpers they use, and that tests import, are in ``tests/support``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.videos import write_moving_square_video

# Ray 2.60 turns token authentication on for a new local ``ray.init()`` and writes ~/.ray/auth_token; every later
# ``ray start --head`` of the same user then demands that token, which the tests' drivers do not send (the Ray
# cluster tests failed after the inference tests had run). The tests' clusters are private to the test: without
# authentication, every Ray process they start inheriting this (docs/cluster.md says how to turn it on in production).
os.environ.setdefault("RAY_AUTH_MODE", "disabled")


@pytest.fixture(scope="session")
def moving_square_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_moving_square_video(tmp_path_factory.mktemp("video") / "square.mp4")


@pytest.fixture(autouse=True)
def _close_live_feeds() -> Iterator[None]:
    """Live views opened by a test stop with it: a frame-reading thread left running at interpreter exit can abort
    the process (OpenCV's encoder in a daemon thread during finalisation)."""
    yield
    from tests.api.live_world import close_all

    close_all()
