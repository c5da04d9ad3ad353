"""`vigie demo`'s loudspeaker (issue 21): the demo's configuration has a simulated speaker linked to its first
cameras and two messages; the configuration file the demo writes reads back the same; the demo's own account plays
both messages through the API of the service the demo builds, and the plays are audited."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from vigie.config import load_config
from vigie.devices.speakers.simulated import SimulatedSpeaker
from vigie.domain.audit import AuditAction
from vigie.runtime.assembly.demo import demo_config, ensure_demo_account, write_config
from vigie.runtime.assembly.service import VigieService
from vigie.storage import create_engine_for


def test_the_demo_operator_plays_the_demo_messages_on_its_simulated_speaker(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    data.mkdir()
    urls = {"sim1": "rtsp://127.0.0.1:9/sim1", "sim2": "rtsp://127.0.0.1:9/sim2", "sim3": "rtsp://127.0.0.1:9/sim3"}
    config = demo_config(data, "127.0.0.1", 8080, urls)
    write_config(config, data / "vigie.yaml")
    assert load_config(data / "vigie.yaml").speakers == config.speakers, "the written file reads back the same"
    [speaker] = config.speakers.devices
    assert speaker.commune == "demo" and speaker.cameras == ("sim1", "sim2") and speaker.driver.kind == "simulated"

    service = VigieService(config)
    login = ensure_demo_account(service.accounts, data, datetime.now(UTC).date()).read_text(encoding="utf-8")
    username, password = (line.split(": ", 1)[1] for line in login.splitlines())
    api = TestClient(service.app)
    logged = api.post("/api/auth/login", json={"username": username, "password": password})
    assert logged.status_code == 200, logged.text
    api.headers["X-CSRF-Token"] = logged.json()["csrf_token"]
    catalogue = api.get("/api/speakers").json()
    assert [m["id"] for m in catalogue["messages"]] == ["park-closing", "leave-the-track"]
    for message in ("park-closing", "leave-the-track"):
        played = api.post("/api/speakers/play", json={"message_id": message, "speaker_ids": ["demo-speaker"]})
        assert played.status_code == 200, played.text
    driver = service.speakers.drivers()["demo-speaker"]
    assert isinstance(driver, SimulatedSpeaker)
    assert [p.message_id for p in driver.plays()] == ["park-closing", "leave-the-track"]
    service.speakers.close()
    engine = create_engine_for(config.storage.database_url)
    with engine.connect() as db:
        actions = db.execute(text("SELECT actor, action FROM audit_entries WHERE action LIKE 'speaker.%'")).all()
    engine.dispose()
    assert [tuple(row) for row in actions] == [
        (username, AuditAction.SPEAKER_PLAY_ORDERED.value),
        (username, AuditAction.SPEAKER_PLAY_RESULT.value),
    ] * 2
