"""Loudspeakers and their pre-recorded messages: what a driver is asked to play, and what it answers.

A driver plays one stored message on one speaker and returns once the speaker took the order (an HTTP speaker's
200, a SIP speaker's answer), raising :class:`SpeakerUnreachableError` with a message a person can act on (never a
password) when it cannot. Who may ask is not the driver's business: :class:`vigie.services.speakers.SpeakerService`
is the only caller, and it takes a logged-in person only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RecordedMessage:
    """One message of a commune's catalogue."""

    id: str
    commune_id: str
    titles: dict[str, str]
    """Per language code; ``fr`` always present."""
    languages: tuple[str, ...]
    roles: frozenset[str]
    """Role names allowed to play it."""
    clip: str | None = None
    """The clip's number or name on HTTP speakers."""
    audio_file: Path | None = None
    """The WAV file sent over SIP."""


@dataclass(frozen=True, slots=True)
class SpeakerInfo:
    """A speaker as operators see it."""

    id: str
    commune_id: str
    name: str
    zone: str
    cameras: tuple[str, ...]
    driver: str
    """``simulated``, ``http`` or ``sip``."""


class SpeakerUnreachableError(RuntimeError):
    """The speaker did not take the order; the message names the speaker and why (no credentials)."""


class SpeakerDriver(Protocol):
    def play(self, message: RecordedMessage) -> None:
        """Have the speaker play ``message``; returns once the speaker accepted it."""
        ...

    def close(self) -> None: ...
