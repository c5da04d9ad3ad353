"""Shared fixtures (the helpers they use, and that tests import, are in ``tests/support``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.videos import write_moving_square_video


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
