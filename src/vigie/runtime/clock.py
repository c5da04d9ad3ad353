"""The host's clock, read in one place: the composition root builds the service and commands on it."""

from __future__ import annotations

from datetime import UTC, datetime


def system_clock() -> datetime:
    """The host's current time in UTC. Module-level so that worker processes receive it by reference."""
    return datetime.now(UTC)
