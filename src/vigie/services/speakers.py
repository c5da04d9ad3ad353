"""Playing a pre-recorded message on loudspeakers: a person's act, never an algorithm's (issue 21).

A loudspeaker acts on the world: it speaks to people in the street. Vigie's rule for everything its algorithms
find is that a person decides (L28, AI Act art. 14); for speakers the rule is stricter still — **only a person
plays a message, from the console or the API**; no alert, rule, analysis module or schedule can. It is held three
ways, each tested:

- :meth:`SpeakerService.play` takes a :class:`~vigie.services.access.Principal` that must come from a **session
  open now**: the service asks the sessions' keeper (:class:`SessionCheck`, the authentication service) whether the
  principal's session exists, belongs to that person and has not expired. Only a login (password, second factor or
  single sign-on) opens a session; a principal built by code, or one the server makes for a command run on a
  person's behalf (no session), is refused.
- The person needs ``play_speaker_message`` (operators and supervisors), a message of their own commune opened to
  one of their roles, and speakers of that same commune (a sharing agreement lets a partner *see* cameras, L10;
  it does not let it speak in the owner's streets).
- An import-linter contract (pyproject.toml) keeps the analysis, events and alert code paths from importing this
  module or the drivers at all.

Every play is audited **before** any driver is called (``speaker.play_ordered``: who, in which role, the message,
the speakers, the linked alert), then its outcome (``speaker.play_result``: played or the reason per speaker), so a
play whose driver hangs or crashes is still in the log. Refusals are audited by the API as ``access.denied``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final, Protocol

from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.ports import AuditSink
from vigie.domain.speakers import RecordedMessage, SpeakerDriver, SpeakerInfo, SpeakerUnreachableError
from vigie.domain.users import Permission
from vigie.services.access import AccessDeniedError, NotVisibleError, Principal

log = logging.getLogger(__name__)

MAX_SPEAKERS_PER_PLAY: Final = 32
PARALLEL_PLAYS: Final = 8
"""Speakers ordered at once (each driver waits for its speaker's answer, bounded by its own timeout)."""


class SessionCheck(Protocol):
    def in_session(self, principal: Principal) -> bool:
        """Whether ``principal`` acts through a session that a login opened and that is still open."""
        ...


class SpeakerRefusedError(ValueError):
    """A play request a person can fix (no speaker named, too many, the same one twice)."""


@dataclass(frozen=True, slots=True)
class Speaker:
    info: SpeakerInfo
    driver: SpeakerDriver


@dataclass(frozen=True, slots=True)
class PlayOutcome:
    speaker_id: str
    played: bool
    detail: str = ""
    """Why it did not play (the driver's words, no credentials)."""


@dataclass(frozen=True, slots=True)
class PlayResult:
    message_id: str
    outcomes: tuple[PlayOutcome, ...]
    elapsed_ms: float


class SpeakerService:
    """The catalogue of messages and the speakers of the installation, from the configuration."""

    def __init__(
        self,
        messages: Sequence[RecordedMessage],
        speakers: Sequence[Speaker],
        audit: AuditSink,
        sessions: SessionCheck,
        *,
        alert_lookup: Callable[[Principal, int], object] | None = None,
    ) -> None:
        self._messages = {m.id: m for m in messages}
        self._speakers = {s.info.id: s for s in speakers}
        self._audit = audit
        self._sessions = sessions
        self._alert_lookup = alert_lookup
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    # --- what a person may see ------------------------------------------------------------------------------------

    def messages_for(self, principal: Principal) -> list[RecordedMessage]:
        """The messages this person may play: their commune's, opened to one of their roles."""
        if not principal.can(Permission.PLAY_SPEAKER_MESSAGE):
            return []
        return [m for m in self._messages.values() if self._may_play(principal, m)]

    def speakers_for(self, principal: Principal) -> list[SpeakerInfo]:
        """The speakers of this person's commune (none without ``play_speaker_message``)."""
        if not principal.can(Permission.PLAY_SPEAKER_MESSAGE):
            return []
        return [s.info for s in self._speakers.values() if s.info.commune_id == principal.user.commune_id]

    # --- a person's act -------------------------------------------------------------------------------------------

    def play(
        self,
        principal: Principal,
        message_id: str,
        speaker_ids: Sequence[str],
        linked_alert_id: int | None = None,
    ) -> PlayResult:
        """Play ``message_id`` on ``speaker_ids`` for ``principal``; audited before and after the drivers."""
        self._require_person(principal)
        principal.require(Permission.PLAY_SPEAKER_MESSAGE)
        message = self._messages.get(message_id)
        if message is None or message.commune_id != principal.user.commune_id:
            raise NotVisibleError(f"no message {message_id!r} in your commune's catalogue")
        role = principal.role_for(message.roles)
        if role is None:
            allowed = ", ".join(sorted(message.roles))
            raise AccessDeniedError(f"message {message_id} may be played by {allowed} only")
        speakers = self._chosen(principal, speaker_ids)
        if linked_alert_id is not None and self._alert_lookup is not None:
            self._alert_lookup(principal, linked_alert_id)  # not found / not visible: NotVisibleError-like refusal
        target = "speakers:" + ",".join(s.info.id for s in speakers)
        details: dict[str, object] = {
            "message": message.id,
            "title": message.titles.get("fr", ""),
            "speakers": [s.info.id for s in speakers],
            "role": role,
            "linked_alert": linked_alert_id,
        }
        self._audit.append(AuditEvent(principal.actor, AuditAction.SPEAKER_PLAY_ORDERED, target, details))
        started = time.perf_counter()
        outcomes = self._play_all(message, speakers)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        self._audit.append(
            AuditEvent(
                principal.actor,
                AuditAction.SPEAKER_PLAY_RESULT,
                target,
                {
                    "message": message.id,
                    "played": [o.speaker_id for o in outcomes if o.played],
                    "failed": {o.speaker_id: o.detail for o in outcomes if not o.played},
                    "linked_alert": linked_alert_id,
                },
            )
        )
        if not any(o.played for o in outcomes):
            reasons = "; ".join(o.detail for o in outcomes)
            raise SpeakerUnreachableError(f"the message was not played: {reasons}")
        return PlayResult(message.id, tuple(outcomes), elapsed_ms)

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
        for speaker in self._speakers.values():
            try:
                speaker.driver.close()
            except Exception:
                log.exception("speakers: closing %s failed", speaker.info.id)

    # --- helpers --------------------------------------------------------------------------------------------------

    def _require_person(self, principal: object) -> None:
        """The person-only rule: a logged-in person's principal, through a session open now."""
        if not isinstance(principal, Principal) or not principal.session_key:
            raise AccessDeniedError("a message is played by a person logged in to the console or the API only")
        if not self._sessions.in_session(principal):
            raise AccessDeniedError("your session has ended: log in again to play a message")

    @staticmethod
    def _may_play(principal: Principal, message: RecordedMessage) -> bool:
        return message.commune_id == principal.user.commune_id and principal.role_for(message.roles) is not None

    def _chosen(self, principal: Principal, speaker_ids: Sequence[str]) -> list[Speaker]:
        if not speaker_ids:
            raise SpeakerRefusedError("choose at least one speaker")
        if len(speaker_ids) > MAX_SPEAKERS_PER_PLAY:
            raise SpeakerRefusedError(f"at most {MAX_SPEAKERS_PER_PLAY} speakers at once")
        if len(set(speaker_ids)) != len(speaker_ids):
            raise SpeakerRefusedError("a speaker is named twice")
        chosen = []
        for speaker_id in speaker_ids:
            speaker = self._speakers.get(speaker_id)
            if speaker is None or speaker.info.commune_id != principal.user.commune_id:
                raise NotVisibleError(f"no speaker {speaker_id!r} in your commune")
            chosen.append(speaker)
        return chosen

    def _play_all(self, message: RecordedMessage, speakers: Sequence[Speaker]) -> list[PlayOutcome]:
        if len(speakers) == 1:
            return [_play_one(message, speakers[0])]
        futures = [self._executor().submit(_play_one, message, s) for s in speakers]
        return [f.result() for f in futures]

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(PARALLEL_PLAYS, thread_name_prefix="speakers")
            return self._pool

    @property
    def speaker_ids(self) -> list[str]:
        return sorted(self._speakers)

    def drivers(self) -> Mapping[str, SpeakerDriver]:
        """The driver of each speaker (the runtime's demo and tests read the simulated ones)."""
        return {sid: s.driver for sid, s in self._speakers.items()}


def _play_one(message: RecordedMessage, speaker: Speaker) -> PlayOutcome:
    try:
        speaker.driver.play(message)
    except SpeakerUnreachableError as err:
        log.warning("speakers: %s did not play %s: %s", speaker.info.id, message.id, err)
        return PlayOutcome(speaker.info.id, False, str(err))
    except Exception:  # a driver's defect is this speaker's failure, audited; never the others'
        log.exception("speakers: %s failed on %s", speaker.info.id, message.id)
        return PlayOutcome(speaker.info.id, False, f"speaker {speaker.info.id}: internal error (see the logs)")
    return PlayOutcome(speaker.info.id, True)
