"""Builds the loudspeakers of the ``speakers`` section (issue 21): the catalogue, each speaker's driver, and the
:class:`SpeakerService` the API plays them through — always built (empty without a section), so the console asks
one route and shows nothing when there is nothing. The one place that reads the speakers' passwords, from the
environment variables the file names."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from vigie.config.models import VigieConfig
from vigie.config.speakers import HttpDriver, SipDriver
from vigie.config.speakers import Speaker as SpeakerSettings
from vigie.devices.speakers.http import HttpSpeaker
from vigie.devices.speakers.simulated import SimulatedSpeaker
from vigie.devices.speakers.sip import SipSpeaker
from vigie.domain.ports import AuditSink
from vigie.domain.speakers import RecordedMessage, SpeakerDriver, SpeakerInfo
from vigie.services.access import Principal
from vigie.services.speakers import SessionCheck, Speaker, SpeakerService


class SpeakerSetupError(ValueError):
    """A speaker cannot be built as configured (a password variable not set); the message names the field."""


def recorded_messages(config: VigieConfig) -> list[RecordedMessage]:
    return [
        RecordedMessage(m.id, m.commune, dict(m.titles), tuple(m.languages), frozenset(m.roles), m.clip, m.audio_file)
        for m in config.speakers.messages
    ]


def _password(speaker: str, variable: str, env: Mapping[str, str]) -> str:
    password = env.get(variable, "")
    if not password:
        raise SpeakerSetupError(
            f"speakers.devices {speaker}: the environment variable {variable} (named by `password_env`) is not set "
            "or empty; set it before starting vigie, or name another variable"
        )
    return password


def open_driver(settings: SpeakerSettings, env: Mapping[str, str]) -> SpeakerDriver:
    driver = settings.driver
    if isinstance(driver, HttpDriver):
        return HttpSpeaker(
            settings.id,
            str(driver.url),
            username=driver.username,
            password=_password(settings.id, driver.password_env, env),
            path=driver.path,
            timeout_s=driver.timeout_s,
            ca_file=driver.ca_file,
        )
    if isinstance(driver, SipDriver):
        password = None if driver.password_env is None else _password(settings.id, driver.password_env, env)
        return SipSpeaker(
            settings.id,
            driver.uri,
            username=driver.username,
            password=password,
            local_address=driver.local_address,
            max_call_s=driver.max_call_s,
        )
    return SimulatedSpeaker(settings.id)


def open_speaker_service(
    config: VigieConfig,
    audit: AuditSink,
    sessions: SessionCheck,
    *,
    alert_lookup: Callable[[Principal, int], object] | None = None,
    environ: Mapping[str, str] | None = None,
) -> SpeakerService:
    env = os.environ if environ is None else environ
    speakers = [
        Speaker(
            SpeakerInfo(s.id, s.commune, s.name, s.zone, tuple(s.cameras), s.driver.kind),
            open_driver(s, env),
        )
        for s in config.speakers.devices
    ]
    return SpeakerService(recorded_messages(config), speakers, audit, sessions, alert_lookup=alert_lookup)
