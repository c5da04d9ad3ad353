"""The SIP speaker driver against a real SIP leg (issue 21): Vigie's baresip calls a second baresip that answers as
an IP speaker does; the message's audio arrives at the speaker, the call ends with the file, and a speaker that
does not answer is said plainly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.servers import free_port
from tests.support.sip_speaker import loudness, require_baresip, sip_speaker, write_tone
from tests.support.waiting import wait_for
from vigie.devices.speakers.sip import SipSpeaker
from vigie.domain.speakers import RecordedMessage, SpeakerUnreachableError


def message(audio: Path | None) -> RecordedMessage:
    return RecordedMessage(
        "park-closing", "villeurbanne", {"fr": "Fermeture du parc"}, ("fr",), frozenset(), None, audio
    )


def test_a_call_carries_the_message_to_the_speaker_and_ends_with_it(tmp_path: Path) -> None:
    audio = write_tone(tmp_path / "park-closing.wav", 1.0)
    with sip_speaker(tmp_path) as speaker:
        driver = SipSpeaker("spk-1", speaker.uri, local_address="127.0.0.1", max_call_s=10.0)
        started = time.monotonic()
        driver.play(message(audio))
        answered_s = time.monotonic() - started
        speaker.wait("CALL_ESTABLISHED", timeout=2.0)  # the speaker's side of the answered call
        speaker.wait("CALL_CLOSED", timeout=10.0)  # the file is a second long: the call ends with it
        received = wait_for(speaker.received, 5.0, "the speaker's recording of the call")
        assert loudness(received[0]) > 1000, "the speaker heard the tone, not silence"
        driver.close()
    assert answered_s < 2.0, f"a call to a speaker on this machine is answered in {answered_s:.2f} s"


def test_a_speaker_that_does_not_answer_is_said(tmp_path: Path) -> None:
    require_baresip()
    audio = write_tone(tmp_path / "m.wav", 0.5)
    driver = SipSpeaker("spk-9", f"sip:nobody@127.0.0.1:{free_port()}", local_address="127.0.0.1", answer_timeout_s=3.0)
    with pytest.raises(SpeakerUnreachableError, match="spk-9"):
        driver.play(message(audio))
    driver.close()


def test_a_message_without_audio_file_is_refused_before_calling(tmp_path: Path) -> None:
    driver = SipSpeaker("spk-1", "sip:speaker@127.0.0.1", local_address="127.0.0.1")
    with pytest.raises(SpeakerUnreachableError, match="no audio file"):
        driver.play(message(None))
    with pytest.raises(SpeakerUnreachableError, match="missing"):
        driver.play(message(tmp_path / "absent.wav"))
