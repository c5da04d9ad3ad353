"""Readiness: whether this server can do its job now — the database read and written, the recordings' storage
usable — as opposed to liveness (``/healthz``: the process answers).

A load balancer or a supervisor stops sending users to a server that is not ready; an operator reads why. The
checks themselves are built by the runtime (it knows the database and the stores); this service runs them, and a
check that fails by raising is reported as not ready, never as a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Check:
    """One part of readiness: its name (``database``, ``storage``), whether it is fine, and what a person needs
    to know (never a credential)."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    checks: tuple[Check, ...]


ReadinessCheck = Callable[[], Check]


class HealthService:
    """Runs the readiness checks the runtime wired (see the module docstring)."""

    def __init__(self, checks: Sequence[tuple[str, ReadinessCheck]]) -> None:
        self._checks = tuple(checks)

    def readiness(self) -> Readiness:
        results = tuple(self._run(name, check) for name, check in self._checks)
        return Readiness(all(c.ok for c in results), results)

    @staticmethod
    def _run(name: str, check: ReadinessCheck) -> Check:
        try:
            return check()
        except Exception as err:  # a check that cannot tell says "not ready", with why
            log.warning("readiness check %s failed: %s: %s", name, type(err).__name__, err)
            return Check(name, False, f"the check failed: {type(err).__name__}")
