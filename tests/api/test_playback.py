"""Playback over HTTP on real storage: an HLS playlist from the SQL index, segment files served from the store
with signed URLs, one audit entry per playlist request."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import av
import pytest
import uvicorn
from fastapi.testclient import TestClient

from tests.conftest import free_port
from tests.recording.export_samples import FPS, ListAuditSink, record
from vigie.api.app import ApiServices, create_app
from vigie.domain.audit import AuditAction
from vigie.services.cameras import CameraService
from vigie.services.events import EventService
from vigie.services.playback import PlaybackService
from vigie.storage.database import create_engine_for, migrate
from vigie.storage.recording import SqlSegmentIndex
from vigie.storage.repositories import SqlCameraStatusRepo, SqlEventRepo
from vigie.storage.segment_store import FileSegmentStore

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0 + timedelta(days=1)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(engine)
    store = FileSegmentStore(tmp_path / "segments")
    index = SqlSegmentIndex(engine)
    for segment in record(store.root, "cam-001", [(T0, 4), (T0 + timedelta(seconds=10), 2)]):
        index.add(segment)
    audit, clock = ListAuditSink(), Clock()
    playback = PlaybackService(index, store, audit, ["cam-001", "cam-002"], clock)
    events, status = SqlEventRepo(engine), SqlCameraStatusRepo(engine)
    services = ApiServices(EventService(events), CameraService([], status), playback=playback)
    return TestClient(create_app(services)), audit, store, clock


Setup = tuple[TestClient, ListAuditSink, FileSegmentStore, Clock]


def playlist_params(start: float = 0, end: float = 60) -> dict[str, str]:
    return {"start": (T0 + timedelta(seconds=start)).isoformat(), "end": (T0 + timedelta(seconds=end)).isoformat()}


def test_playlist_names_segments_that_serve_their_exact_bytes(setup: Setup) -> None:
    client, audit, store, _ = setup
    response = client.get("/api/cameras/cam-001/playback.m3u8", params=playlist_params())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    lines = response.text.splitlines()
    assert lines[0] == "#EXTM3U" and lines[-1] == "#EXT-X-ENDLIST" and "#EXT-X-DISCONTINUITY" in lines
    uris = [line for line in lines if line and not line.startswith("#")]
    assert len(uris) == 3
    for uri in uris:
        served = client.get(uri)
        assert served.status_code == 200 and served.headers["content-type"] == "video/mp2t"
        key = parse_qs(urlsplit(uri).query)["k"][0]
        assert served.content == (store.root / key).read_bytes()
    assert [(e.action, e.target, e.details["segments"]) for e in audit.events] == [(AuditAction.PLAYBACK, "cam-001", 3)]
    assert audit.events[0].actor == "anonymous@testclient"


def test_segment_urls_cannot_be_forged_or_reused_after_expiry(setup: Setup) -> None:
    client, _, _, clock = setup
    uri = client.get("/api/cameras/cam-001/playback.m3u8", params=playlist_params()).text.splitlines()[7]
    assert uri.startswith("/api/segments/")
    parts = urlsplit(uri)
    query = parse_qs(parts.query)
    forged = {"k": "cam-001/other.ts", "e": query["e"][0], "s": query["s"][0]}
    response = client.get(parts.path, params=forged)
    assert response.status_code == 403 and response.json()["error"]["code"] == "http_error"
    other_id = parts.path.replace("/1.ts", "/2.ts")
    assert client.get(other_id, params={k: v[0] for k, v in query.items()}).status_code == 403
    clock.now += timedelta(hours=7)
    expired = client.get(uri)
    assert expired.status_code == 403 and "expired" in expired.json()["error"]["message"]


def test_unknown_cameras_empty_ranges_and_bad_queries(setup: Setup) -> None:
    client, audit, _, _ = setup
    unknown = client.get("/api/cameras/cam-404/playback.m3u8", params=playlist_params())
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    empty = client.get("/api/cameras/cam-002/playback.m3u8", params=playlist_params())
    assert empty.status_code == 404 and "nothing recorded" in empty.json()["error"]["message"]
    assert [(e.target, e.details["segments"]) for e in audit.events] == [("cam-002", 0)]  # looking is audited
    backwards = client.get("/api/cameras/cam-001/playback.m3u8", params=playlist_params(10, 5))
    assert backwards.status_code == 422 and backwards.json()["error"]["code"] == "invalid_request"
    missing = client.get("/api/cameras/cam-001/playback.m3u8", params={"start": "2026-11-28T12:00:00Z"})
    assert missing.status_code == 422


def test_playback_is_503_where_no_recordings_are_configured(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(engine)
    status = SqlCameraStatusRepo(engine)
    client = TestClient(create_app(ApiServices(EventService(SqlEventRepo(engine)), CameraService([], status))))
    response = client.get("/api/cameras/cam-001/playback.m3u8", params=playlist_params())
    assert response.status_code == 503 and response.json()["error"]["code"] == "http_error"


@pytest.fixture
def server(setup: Setup) -> Iterator[str]:
    client = setup[0]
    port = free_port()
    config = uvicorn.Config(client.app, host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=5)


def test_a_standard_hls_player_plays_the_playlist(server: str) -> None:
    query = "&".join(f"{k}={v.replace('+', '%2B')}" for k, v in playlist_params().items())
    url = f"{server}/api/cameras/cam-001/playback.m3u8?{query}"
    with av.open(url, format="hls", timeout=10) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 6 * FPS
