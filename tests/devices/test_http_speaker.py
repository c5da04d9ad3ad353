"""The HTTP speaker driver (issue 21) against a real HTTP server doing digest authentication as IP speakers do
(Axis VAPIX ``playclip.cgi``): the clip plays, a wrong password or an unknown clip is said plainly, the password is
never in an error, and an unreachable speaker is said within its timeout."""

from __future__ import annotations

import time

import pytest

from tests.support.digest_speaker import clip_speaker
from tests.support.servers import free_port
from vigie.devices.speakers.http import HttpSpeaker
from vigie.domain.speakers import RecordedMessage, SpeakerUnreachableError


def message(clip: str | None = "2") -> RecordedMessage:
    return RecordedMessage("park-closing", "villeurbanne", {"fr": "Fermeture"}, ("fr",), frozenset(), clip)


def test_the_clip_plays_with_digest_authentication_and_the_connection_is_kept() -> None:
    with clip_speaker() as speaker:
        driver = HttpSpeaker("spk-1", speaker.url, username="vigie", password="s3cret-speaker")
        driver.play(message("2"))
        driver.play(message("3"))
        driver.close()
    assert [clip for clip, _ in speaker.played] == ["2", "3"]
    assert speaker.refused == 1, "the challenge is answered once, then reused (no 401 per play)"


def test_a_wrong_password_is_said_without_showing_it() -> None:
    with clip_speaker() as speaker:
        driver = HttpSpeaker("spk-1", speaker.url, username="vigie", password="wrong-Pa55")
        with pytest.raises(SpeakerUnreachableError, match="refused Vigie's account") as caught:
            driver.play(message())
        driver.close()
    assert "wrong-Pa55" not in str(caught.value) and speaker.played == []


def test_an_unknown_clip_and_a_message_without_clip_are_said() -> None:
    with clip_speaker() as speaker:
        driver = HttpSpeaker("spk-1", speaker.url, username="vigie", password="s3cret-speaker")
        with pytest.raises(SpeakerUnreachableError, match="answered 400 to clip 9"):
            driver.play(message("9"))
        with pytest.raises(SpeakerUnreachableError, match="no clip"):
            driver.play(message(None))
        driver.close()


def test_an_unreachable_speaker_is_said_within_its_timeout() -> None:
    driver = HttpSpeaker("spk-9", f"http://127.0.0.1:{free_port()}", username="u", password="p", timeout_s=1.0)
    started = time.monotonic()
    with pytest.raises(SpeakerUnreachableError, match=r"spk-9 .* did not answer"):
        driver.play(message())
    assert time.monotonic() - started < 3.0
    driver.close()
