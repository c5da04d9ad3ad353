"""`vigie serve` plays the loudspeakers of its configuration (issue 21): built from the ``speakers`` section by the
production composition, an operator logged in through its API plays a message on a simulated speaker and on an
HTTP speaker (a real server checking digest authentication, its password from the variable the file names); the
play is in the signed audit chain, ordered before the speakers answered; a password variable that is not set
stops the start naming it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.clocks import FakeClock
from tests.support.configs import camera_yaml, config_yaml
from tests.support.digest_speaker import clip_speaker
from tests.support.operators import operator_client
from vigie.config import load_config_text
from vigie.devices.speakers.simulated import SimulatedSpeaker
from vigie.domain.audit import AuditAction
from vigie.domain.clock import legal_day
from vigie.runtime.assembly.service import ServiceError, VigieService

PASSWORD = "correct horse battery staple 1"


def speakers_yaml(url: str) -> str:
    return f"""speakers:
  messages:
    - {{id: park-closing, commune: testville, titles: {{fr: Le parc ferme}}, languages: [fr], clip: "2"}}
  devices:
    - {{id: spk-sim, commune: testville, name: Parvis, zone: Parvis, cameras: [cam-1], driver: {{kind: simulated}}}}
    - id: spk-http
      commune: testville
      name: Gare
      zone: Gare
      driver: {{kind: http, url: "{url}", username: vigie, password_env: VIGIE_TEST_SPEAKER_PW}}
"""


def configuration(tmp_path: Path, clock: FakeClock, url: str) -> str:
    day = legal_day(clock)
    valid = ((day - timedelta(days=30)).isoformat(), (day + timedelta(days=365)).isoformat())
    return speakers_yaml(url) + config_yaml(tmp_path, camera_yaml("cam-1", "rtsp://127.0.0.1:9/cam-1", valid=valid))


def test_an_operator_plays_a_message_on_the_configured_speakers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    monkeypatch.setenv("VIGIE_TEST_SPEAKER_PW", "s3cret-speaker")
    with clip_speaker() as http_speaker:
        service = VigieService(load_config_text(configuration(tmp_path, clock, http_speaker.url)), clock=clock)
        assert service.api_services.speakers is service.speakers
        api = operator_client(service, clock, PASSWORD)
        catalogue = api.get("/api/speakers").json()
        assert [s["id"] for s in catalogue["speakers"]] == ["spk-sim", "spk-http"]
        assert catalogue["speakers"][0]["cameras"] == ["cam-1"]
        body = {"message_id": "park-closing", "speaker_ids": ["spk-sim", "spk-http"]}
        played = api.post("/api/speakers/play", json=body)
        assert played.status_code == 200, played.text
        assert [o["played"] for o in played.json()["outcomes"]] == [True, True]
        service.speakers.close()
    simulated = service.speakers.drivers()["spk-sim"]
    assert isinstance(simulated, SimulatedSpeaker) and [p.message_id for p in simulated.plays()] == ["park-closing"]
    assert [clip for clip, _ in http_speaker.played] == ["2"]
    with sqlite3.connect(tmp_path / "vigie.db") as db:
        rows = db.execute(
            "SELECT actor, action, details FROM audit_entries WHERE action LIKE 'speaker.%' ORDER BY seq"
        ).fetchall()
    assert [(actor, action) for actor, action, _ in rows] == [
        ("op", AuditAction.SPEAKER_PLAY_ORDERED.value),
        ("op", AuditAction.SPEAKER_PLAY_RESULT.value),
    ]
    assert "s3cret-speaker" not in str(rows)


def test_a_password_variable_not_set_stops_the_start_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    monkeypatch.delenv("VIGIE_TEST_SPEAKER_PW", raising=False)
    config = load_config_text(configuration(tmp_path, clock, "https://10.12.0.40"))
    with pytest.raises(ServiceError, match="spk-http: the environment variable VIGIE_TEST_SPEAKER_PW"):
        VigieService(config, clock=clock)
