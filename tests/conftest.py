"""Shared fixtures (the helpers they use, and that tests import, are in ``tests/support``)."""

from __future__ import annotations

import functools
import gc
import os
import re
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


_collect_above = [256]


@pytest.fixture(autouse=True)
def _release_finished_services() -> Iterator[None]:
    """What a test's services hold (database files, a worker supervisor's queue pipes: 5 to 9 descriptors each) is
    let go after it. FastAPI 0.165 caches the kind of every endpoint callable it has seen (up to 4,096, in
    ``fastapi.dependencies.models``), and so keeps every test's app — closures over its services — alive: a test
    process of CI reached 1,024 descriptors that way. The caches are emptied after each test, and the cycles
    collected once the process holds 128 descriptors more than after the last collection (at least 256: a full
    collection after each test would cost minutes)."""
    yield
    from fastapi.dependencies import models

    for name in ("_is_gen_callable_cached", "_is_async_gen_callable_cached", "_is_coroutine_callable_cached"):
        cached = getattr(models, name, None)
        if cached is not None:
            cached.cache_clear()
    if len(os.listdir("/proc/self/fd")) > _collect_above[0]:
        gc.collect()
        _collect_above[0] = max(256, len(os.listdir("/proc/self/fd")) + 128)


SERIAL = ("cluster", "e2e")
"""Test folders whose tests run one after another on one worker of ``pytest -n 2``."""


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """With ``pytest -n 2 --dist loadgroup`` (scripts/test.sh, pytest-xdist on both cores): the Ray clusters and the
    end-to-end runs of ``vigie serve``/``vigie demo`` (the ``SERIAL`` folders) run one after the other on one
    worker, while the other takes the rest; then both take what is left. Two Ray clusters on one machine would share
    ``~/.ray`` and Ray's default ports; two end-to-end runs at once would each get half of a 2-core machine, and
    their promises are timed.

    Why a scheduler and not the ``xdist_group`` marker: pytest-xdist 3.8 groups marked tests by rewriting their
    node id, which pytest 9.2 no longer reads (a node's id is no longer that attribute) — the marker this suite gave
    until 2026-12-05 grouped nothing, and every test was spread over both workers. Here the grouping is xdist's own
    load-scope scheduling, with the scope of a test its folder's group, its module's (:func:`_shares_setup`) or the
    test itself."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    root = Path(str(config.rootpath))

    class SerialFolders(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            parts = nodeid.split("/")
            if len(parts) > 2 and parts[0] == "tests" and parts[1] in SERIAL:
                return "serial"
            module = nodeid.split("::", maxsplit=1)[0]
            return module if _shares_setup(root / module) else nodeid

    return SerialFolders(config, log)


_SHARED_SCOPE = re.compile(r"""scope=["'](module|session)["']""")


@functools.cache
def _shares_setup(module: Path) -> bool:
    """Whether a test module defines a fixture for the module or the session: its tests share what it builds (the
    evaluations' detector passes on a clip, the photo-real renders, a cut-out bank: 40 to 80 s each), so they run
    on one worker, one after the other; spread over both, each worker built it (CI's slowest set-ups were the same
    session fixture twice). Read from the source, as the scheduler sees node ids, not fixtures."""
    try:
        return bool(_SHARED_SCOPE.search(module.read_text(encoding="utf-8")))
    except OSError:
        return False
