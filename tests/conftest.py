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


SERIAL = ("cluster", "e2e")
"""Test folders whose tests run one after another on one worker of ``pytest -n 2`` (with the ``slow`` ones)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With ``pytest -n 2`` (scripts/test.sh runs the suite on both cores with pytest-xdist, ``--dist loadgroup``):
    the heavy tests — the Ray clusters, the end-to-end runs of ``vigie serve``/``vigie demo``, the ones marked
    ``slow`` — run one after the other on one worker while the other takes the rest. Two Ray clusters on one machine
    would share Ray's fixed default ports (its dashboard, its client server) and ``~/.ray``; two end-to-end runs at
    once would each get half of a 2-core machine, and their promises are timed (the demo's first event within
    30 s)."""
    root = Path(__file__).parent
    serial = tuple(root / name for name in SERIAL)
    for item in items:
        path = Path(str(item.fspath))
        if item.get_closest_marker("slow") or any(folder in path.parents for folder in serial):
            item.add_marker(pytest.mark.xdist_group("serial"))
