"""A speaker that sounds nothing and records what it was asked to play, and when: the demo's speakers, and what
the console's click-to-sound measure reads."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Final

from vigie.domain.speakers import RecordedMessage

KEPT_PLAYS: Final = 1000


@dataclass(frozen=True, slots=True)
class SimulatedPlay:
    message_id: str
    clip: str | None
    wall_time: float
    """``time.time()`` when the speaker took the order (comparable with a browser's clock on the same machine)."""
    monotonic: float


class SimulatedSpeaker:
    """Keeps its last :data:`KEPT_PLAYS` plays."""

    def __init__(self, speaker_id: str) -> None:
        self.speaker_id = speaker_id
        self._plays: deque[SimulatedPlay] = deque(maxlen=KEPT_PLAYS)
        self._changed = threading.Condition()

    def play(self, message: RecordedMessage) -> None:
        with self._changed:
            self._plays.append(SimulatedPlay(message.id, message.clip, time.time(), time.monotonic()))
            self._changed.notify_all()

    def plays(self) -> list[SimulatedPlay]:
        with self._changed:
            return list(self._plays)

    def wait_for_plays(self, count: int, timeout_s: float) -> list[SimulatedPlay]:
        """The plays once there are ``count`` (or what there is after ``timeout_s``)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._plays) >= count, timeout_s)
            return list(self._plays)

    def close(self) -> None:
        pass
