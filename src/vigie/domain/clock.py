"""Time as the platform reads it.

One clock, built by the composition root (``vigie.runtime``) and passed to whatever needs the time: services,
workers, the audit chain, the gate. Nothing else reads the host's time, so a test (or an auditor replaying a day)
can run the whole platform on a clock it controls, and there is one answer to "what day is it" — the legal
calendar day in Paris, not the host's time zone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]
"""Returns the current instant as an aware datetime (UTC)."""

LEGAL_TIME_ZONE: Final = ZoneInfo("Europe/Paris")
"""The calendar that dates in French law, authorisations and retention are counted in."""


def legal_day(clock: Clock) -> date:
    """Today's calendar day in Paris by ``clock`` (a bare date in Vigie is always a Paris day)."""
    return clock().astimezone(LEGAL_TIME_ZONE).date()
