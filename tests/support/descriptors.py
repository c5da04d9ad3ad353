"""Descriptors numbered 1024 and more, as a ``vigie serve`` holding hundreds of cameras' connections, segment files
and database sockets hands out: ``select.select`` cannot watch them (FD_SETSIZE), and paho's own loop waits with it
(CI: the sensors' subscriber never subscribed in a test process that had opened over 1,024 descriptors)."""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

ABOVE = 1024


@contextmanager
def descriptors_above_1024() -> Iterator[None]:
    """While inside, every descriptor opened gets a number above 1024: the lower ones are held open (on
    ``/dev/null``); the soft limit is raised to allow it (and put back), the test skipped where the hard limit does
    not."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = ABOVE + 256
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"the hard limit on open files is {hard}: descriptors above {ABOVE} cannot be had here")
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    held: list[int] = []
    try:
        while not held or held[-1] < ABOVE:
            held.append(os.open(os.devnull, os.O_RDONLY))
        yield
    finally:
        for fd in held:
            os.close(fd)
        if soft != resource.RLIM_INFINITY and soft < needed:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
