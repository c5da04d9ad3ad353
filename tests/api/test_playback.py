"""Playback over HTTP on real storage: an HLS playlist from the SQL index, segment files served from the store
with signed URLs bound to the viewer's session, one audit entry per playlist request."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import av
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.world import T0, Clock, World, build_world
from tests.recording.export_samples import FPS, ListAuditSink, record
from tests.support.servers import serving
from vigie.domain.audit import AuditAction
from vigie.services.playback import PlaybackService
from vigie.storage.recording import SqlSegmentIndex
from vigie.storage.segment_store import FileSegmentStore


@pytest.fixture
def setup(db: Engine, tmp_path: Path) -> Setup:
    store = FileSegmentStore(tmp_path / "segments")
    index = SqlSegmentIndex(db)
    for segment in record(store.root, "vil-1", [(T0, 4), (T0 + timedelta(seconds=10), 2)]):
        index.add(segment)

    def playback(audit: ListAuditSink, clock: Clock) -> PlaybackService:
        return PlaybackService(index, store, audit, ["vil-1", "vil-2", "bron-1"], clock, url_lifetime=URL_LIFETIME)

    world = build_world(db, playback=playback)
    world.clock.now = T0 + timedelta(days=1)
    world.audit.events.clear()
    return world.login("op.vil"), world.audit, store, world.clock, world


Setup = tuple[TestClient, ListAuditSink, FileSegmentStore, Clock, World]
URL_LIFETIME = timedelta(minutes=10)
"""Shorter than a session's idle timeout, so that a URL can expire while its session lives."""


def playlist_params(start: float = 0, end: float = 60) -> dict[str, str]:
    return {"start": (T0 + timedelta(seconds=start)).isoformat(), "end": (T0 + timedelta(seconds=end)).isoformat()}


def test_playlist_names_segments_that_serve_their_exact_bytes(setup: Setup) -> None:
    client, audit, store, _, _ = setup
    audit.events.clear()
    response = client.get("/api/cameras/vil-1/playback.m3u8", params=playlist_params())
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
    assert [(e.action, e.target, e.details["segments"]) for e in audit.events] == [(AuditAction.PLAYBACK, "vil-1", 3)]
    assert audit.events[0].actor == "op.vil"


def test_segment_urls_cannot_be_forged_or_reused_after_expiry(setup: Setup) -> None:
    client, _, _, clock, _ = setup
    uri = client.get("/api/cameras/vil-1/playback.m3u8", params=playlist_params()).text.splitlines()[7]
    assert uri.startswith("/api/segments/")
    parts = urlsplit(uri)
    query = parse_qs(parts.query)
    signed = {k: v[0] for k, v in query.items()}
    forged = {**signed, "k": "vil-1/other.ts"}
    response = client.get(parts.path, params=forged)
    assert response.status_code == 403 and response.json()["error"]["code"] == "http_error"
    assert client.get(parts.path, params={**signed, "c": "vil-2"}).status_code == 403
    odd = client.get(parts.path, params={**signed, "s": "é" * 32})
    assert odd.status_code == 403, "a non-ASCII signature is a wrong signature (found by schemathesis: was a 500)"
    other_id = parts.path.replace("/1.ts", "/2.ts")
    assert client.get(other_id, params=signed).status_code == 403
    clock.now += URL_LIFETIME + timedelta(minutes=1)  # the session lives on (idle less than its timeout)
    expired = client.get(uri)
    assert expired.status_code == 403 and "expired" in expired.json()["error"]["message"]


def segment_uris(client: TestClient) -> list[str]:
    playlist = client.get("/api/cameras/vil-1/playback.m3u8", params=playlist_params())
    assert playlist.status_code == 200, playlist.text
    return [line for line in playlist.text.splitlines() if line and not line.startswith("#")]


def test_segment_urls_serve_only_the_session_they_were_written_for_and_end_with_it(setup: Setup) -> None:
    # Issue 15 D16: a segment URL fetched with no cookie after logout gave 200 and the video, for 6 hours.
    client, audit, _, _, world = setup
    audit.events.clear()
    token = client.cookies["vigie_session"]
    uris = segment_uris(client)
    assert all(client.get(uri).status_code == 200 for uri in uris)

    anonymous = world.client().get(uris[0])
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_authenticated"
    assert not anonymous.content.startswith(b"G"), "no MPEG-TS byte (sync 0x47) goes out without a session"
    for other in (world.login("inv.vil"), world.login("op.vil")):  # another person; the same person elsewhere
        refused = other.get(uris[0])
        assert refused.status_code == 403 and "not issued to this session" in refused.json()["error"]["message"]

    assert client.post("/api/auth/logout").status_code == 204
    assert client.get(uris[1]).status_code == 401
    replayed = world.client()
    replayed.cookies.set("vigie_session", token)  # the cookie kept from before the logout
    assert replayed.get(uris[1]).status_code == 401

    playbacks = [e for e in audit.events if e.action is AuditAction.PLAYBACK]
    assert [(e.actor, e.target) for e in playbacks] == [("op.vil", "vil-1")], "one entry per playback, not per segment"


def test_segment_urls_end_when_the_session_times_out(setup: Setup) -> None:
    client, _, _, clock, _ = setup
    [first, *_] = segment_uris(client)
    clock.now += timedelta(minutes=31)  # idle longer than a session may be (and longer than the URL lives)
    assert client.get(first).status_code == 401


def test_segments_are_not_kept_by_the_browser_cache(setup: Setup) -> None:
    client = setup[0]
    served = client.get(segment_uris(client)[0])
    assert served.status_code == 200 and served.headers["cache-control"] == "no-store"


def test_unknown_cameras_empty_ranges_and_bad_queries(setup: Setup) -> None:
    client, audit, _, _, _ = setup
    audit.events.clear()
    unknown = client.get("/api/cameras/cam-404/playback.m3u8", params=playlist_params())
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    empty = client.get("/api/cameras/vil-2/playback.m3u8", params=playlist_params())
    assert empty.status_code == 404 and "nothing recorded" in empty.json()["error"]["message"]
    assert [(e.target, e.details["segments"]) for e in audit.events] == [("vil-2", 0)]  # looking is audited
    backwards = client.get("/api/cameras/vil-1/playback.m3u8", params=playlist_params(10, 5))
    assert backwards.status_code == 422 and backwards.json()["error"]["code"] == "invalid_request"
    missing = client.get("/api/cameras/vil-1/playback.m3u8", params={"start": "2026-11-28T12:00:00Z"})
    assert missing.status_code == 422


def test_playback_needs_a_video_authorisation_a_training_and_the_tenant(setup: Setup) -> None:
    _, audit, _, _, world = setup
    audit.events.clear()
    for username, status in [("op.untrained", 403), ("auditor.vil", 403), ("admin.vil", 403), ("op.bron", 404)]:
        answer = world.login(username).get("/api/cameras/vil-1/playback.m3u8", params=playlist_params())
        assert answer.status_code == status, username
    untrained = world.login("op.untrained").get("/api/cameras/vil-1/playback.m3u8", params=playlist_params())
    assert "training" in untrained.json()["error"]["message"]
    assert not [e for e in audit.events if e.action is AuditAction.PLAYBACK], "nothing was shown"
    denied = [e.actor for e in audit.events if e.action is AuditAction.ACCESS_DENIED]
    assert {"op.untrained", "auditor.vil", "admin.vil"} <= set(denied)
    world.clock.now += timedelta(days=2)  # op.expired's authorisation ended yesterday
    expired = world.login("op.expired").get("/api/cameras/vil-1/playback.m3u8", params=playlist_params())
    assert expired.status_code == 403 and "authorisation" in expired.json()["error"]["message"]
    assert world.login("inv.vil").get("/api/cameras/vil-1/playback.m3u8", params=playlist_params()).status_code == 200


def test_playback_is_503_where_no_recordings_are_configured(db: Engine) -> None:
    response = build_world(db).login("op.vil").get("/api/cameras/vil-1/playback.m3u8", params=playlist_params())
    assert response.status_code == 503 and response.json()["error"]["code"] == "unavailable"


@pytest.fixture
def server(setup: Setup) -> Iterator[tuple[str, str]]:
    """A real HTTP server, and the session token of a person logged in (on the world's clock)."""
    world = setup[4]
    client = world.login("op.vil")
    token = client.cookies["vigie_session"]
    with serving(client.app) as base:
        yield base, token


def test_a_standard_hls_player_plays_the_playlist(server: tuple[str, str]) -> None:
    base, token = server
    query = "&".join(f"{k}={v.replace('+', '%2B')}" for k, v in playlist_params().items())
    url = f"{base}/api/cameras/vil-1/playback.m3u8?{query}"
    options = {"headers": f"Cookie: vigie_session={token}\r\n"}  # what a player sends from the browser
    with av.open(url, format="hls", timeout=10, options=options) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 6 * FPS
