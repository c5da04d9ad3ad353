"""Live view through the API: who may watch which camera, masks in the pixels sent, and the trace a view leaves
— from its start to its end, including the end forced by a logout."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import av
import cv2
import httpx
import numpy as np
import pytest
from sqlalchemy import Engine

from tests.api.live_world import live_service
from tests.api.world import PASSWORD, World, build_world
from tests.recording.media import write_h264
from tests.support.servers import serving
from tests.support.waiting import wait_for
from vigie.api.routes import live as live_route
from vigie.domain.audit import AuditAction


@pytest.fixture
def world(db: Engine) -> World:
    return build_world(db, live=live_service)


def actions(world: World, action: AuditAction) -> list[tuple[str, str, dict[str, object]]]:
    return [(e.actor, e.target, dict(e.details)) for e in world.audit.events if e.action is action]


def test_an_operator_gets_a_still_with_the_privacy_mask_burnt_in(world: World) -> None:
    response = world.login("op.vil").get("/api/cameras/vil-1/live.jpg")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == "no-store"
    image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert image[:, : image.shape[1] * 4 // 10].max() < 20
    assert image[:, image.shape[1] * 6 // 10 :].min() > 235
    assert actions(world, AuditAction.LIVE_VIEWED) == [("op.vil", "vil-1", {"quality": "wall"})]
    ended = actions(world, AuditAction.LIVE_ENDED)
    assert [(actor, target, details["frames"], details["ended"]) for actor, target, details in ended] == [
        ("op.vil", "vil-1", 1, "still")
    ]


@pytest.mark.parametrize(
    ("username", "camera", "status"),
    [
        ("sup.vil", "vil-2", 200),
        ("op.vil", "bron-1", 404),  # another commune's camera: as if it did not exist
        ("op.bron", "vil-1", 404),
        ("op.vil", "nowhere", 404),
        ("admin.vil", "vil-1", 403),  # administrators manage accounts, they watch no video
        ("auditor.vil", "vil-1", 403),
        ("dpo.vil", "vil-1", 403),
        ("inv.vil", "vil-1", 403),  # investigators play back and export, they do not watch live
        ("op.untrained", "vil-1", 403),  # no data-protection training recorded (L9)
    ],
)
def test_who_may_watch_what(world: World, username: str, camera: str, status: int) -> None:
    response = world.login(username).get(f"/api/cameras/{camera}/live.jpg", params={"quality": "full"})
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["error"]["code"] == "forbidden"
        assert any(actor == username for actor, _, _ in actions(world, AuditAction.ACCESS_DENIED))
    if status != 200:
        assert actions(world, AuditAction.LIVE_VIEWED) == []


def test_no_session_no_picture(world: World) -> None:
    assert world.client().get("/api/cameras/vil-1/live.mjpeg").status_code == 401
    assert world.client().get("/api/cameras/vil-1/live.jpg", params={"quality": "hd"}).status_code in {401, 422}


@pytest.fixture
def server(world: World) -> Iterator[str]:
    """The world's API on a real HTTP server: a live view is an endless response, which only a server streams."""
    with serving(world.client().app) as base:
        yield base


def login(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=5)
    response = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client


def jpeg_parts(response: httpx.Response, count: int, chunks: Iterator[bytes] | None = None) -> list[bytes]:
    """The first ``count`` JPEG images of a multipart/x-mixed-replace body (read from ``chunks`` if given)."""
    boundary = response.headers["content-type"].split("boundary=")[1].encode()
    buffer, parts = b"", []
    for chunk in chunks if chunks is not None else response.iter_bytes():
        buffer += chunk
        while True:
            start = buffer.find(b"\r\n\r\n")
            if not buffer.startswith(b"--" + boundary) or start < 0:
                break
            headers = buffer[:start].decode()
            length = int(headers.split("Content-Length: ")[1].split("\r\n")[0])
            if len(buffer) < start + 4 + length + 2:
                break
            parts.append(buffer[start + 4 : start + 4 + length])
            buffer = buffer[start + 4 + length + 2 :]
            if len(parts) == count:
                return parts
    return parts


def test_mjpeg_stream_sends_masked_frames_and_its_end_is_recorded(world: World, server: str) -> None:
    client = login(server, "op.vil")
    with client.stream("GET", "/api/cameras/vil-1/live.mjpeg") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("multipart/x-mixed-replace")
        parts = jpeg_parts(response, 5)
    assert len(parts) == 5
    for part in parts:
        image = cv2.imdecode(np.frombuffer(part, np.uint8), cv2.IMREAD_COLOR)
        assert image[:, : image.shape[1] * 4 // 10].max() < 20
    wait_for(lambda: actions(world, AuditAction.LIVE_ENDED), 5, "the end of the live view audited")
    [(actor, target, details)] = actions(world, AuditAction.LIVE_ENDED)
    assert (actor, target, details["ended"]) == ("op.vil", "vil-1", "left")
    assert int(details["frames"]) >= 5  # type: ignore[call-overload]


def test_logging_out_ends_the_live_view(world: World, server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_route, "RECHECK_S", 0.2)
    client = login(server, "op.vil")
    started = time.monotonic()
    with client.stream("GET", "/api/cameras/vil-1/live.mjpeg") as response:
        chunks = response.iter_bytes()
        assert len(jpeg_parts(response, 2, chunks)) == 2
        other = httpx.Client(base_url=server, cookies=client.cookies, headers=client.headers, timeout=5)
        assert other.post("/api/auth/logout").status_code == 204
        for _ in chunks:  # the server ends the body by itself
            assert time.monotonic() - started < 10, "the live view went on after logout"
    wait_for(lambda: actions(world, AuditAction.LIVE_ENDED), 5, "the end of the live view audited")
    assert [d["ended"] for _, _, d in actions(world, AuditAction.LIVE_ENDED)] == ["session ended"]


def sse_events(lines: Iterator[str], wanted: str, timeout: float) -> list[dict[str, object]]:
    """Data of ``wanted`` events read from an SSE body until one arrives or ``timeout`` passes."""
    import json

    deadline = time.monotonic() + timeout
    name, found = "", []
    for line in lines:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: ") and name == wanted:
            found.append(json.loads(line[6:]))
            return found
        if time.monotonic() > deadline:
            break
    return found


def test_the_feed_pushes_new_alerts_of_ones_own_cameras_only(
    world: World, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vigie.api.routes import feed as feed_route
    from vigie.domain.geometry import Box
    from vigie.domain.observation import Observation

    monkeypatch.setattr(feed_route, "POLL_S", 0.1)
    client = login(server, "op.vil")

    def raise_alert(camera: str) -> None:
        world.alerts.raise_alert(
            Observation(camera, "intrusion", "intrusion", world.clock.now, (Box(0.1, 0.1, 0.2, 0.2),), 0.9, "m@1")
        )

    raise_alert("vil-1")  # before the feed opened: in the alert list, not pushed again
    with client.stream("GET", "/api/feed") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        [cameras] = sse_events(lines, "cameras", 5)
        assert {c["id"] for c in cameras} == {"vil-1", "vil-2"}  # type: ignore[union-attr]
        raise_alert("bron-1")  # another commune's: never on this feed
        raise_alert("vil-2")
        [alert] = sse_events(lines, "alert", 5)
    assert (alert["camera_id"], alert["state"]) == ("vil-2", "pending")


def test_the_feed_ends_with_the_session(world: World, server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from vigie.api.routes import feed as feed_route

    monkeypatch.setattr(feed_route, "POLL_S", 0.1)
    monkeypatch.setattr(feed_route, "RECHECK_S", 0.2)
    client = login(server, "auditor.vil")  # no alerts to read: the feed carries camera health only
    with client.stream("GET", "/api/feed") as response:
        lines = response.iter_lines()
        assert sse_events(lines, "cameras", 5)
        assert client.post("/api/auth/logout").status_code == 204
        assert sse_events(lines, "ended", 5) == [{"reason": "session ended"}]
    assert world.client().get("/api/feed").status_code == 401


def test_a_server_without_cameras_to_read_says_live_view_is_not_available(db: Engine) -> None:
    world = build_world(db)  # no live service, no alert images
    client = world.login("op.vil")
    response = client.get("/api/cameras/vil-1/live.jpg")
    assert response.status_code == 503
    assert response.json()["error"]["message"] == "live view is not available on this server"
    assert client.get("/api/alerts/1/snapshot.jpg").status_code == 503


def wall_message(ws: object) -> tuple[str, bytes] | dict[str, object]:
    """One message of the wall: (camera, JPEG) for a picture, the decoded JSON for a text message."""
    import json

    message = ws.receive()  # type: ignore[attr-defined]
    if message.get("text") is not None:
        return dict(json.loads(message["text"]))
    data = message["bytes"]
    return data[1 : 1 + data[0]].decode(), data[1 + data[0] :]


def test_the_wall_carries_every_tile_on_one_socket_and_refuses_what_one_may_not_watch(world: World) -> None:
    client = world.login("op.vil")
    with client.websocket_connect("/api/live/wall") as ws:
        ws.send_json({"cameras": ["vil-1", "vil-2", "bron-1"]})
        seen: dict[str, bytes] = {}
        refused: list[dict[str, object]] = []
        for _ in range(40):
            message = wall_message(ws)
            if isinstance(message, dict):
                refused.append(message)
            else:
                seen[message[0]] = message[1]
            if set(seen) == {"vil-1", "vil-2"} and refused:
                break
        assert set(seen) == {"vil-1", "vil-2"}
        image = cv2.imdecode(np.frombuffer(seen["vil-1"], np.uint8), cv2.IMREAD_COLOR)
        assert image[:, : image.shape[1] * 4 // 10].max() < 20  # masks burnt in, as everywhere
        assert refused == [{"camera": "bron-1", "error": "no camera 'bron-1' among the cameras you may see"}]
        ws.send_json({"cameras": ["vil-2"]})  # the wall's next page
        ws.send_text("not json")
        for _ in range(400):  # the tiles' pictures sent before the answer come first
            answer = wall_message(ws)
            if isinstance(answer, dict):
                break
        assert isinstance(answer, dict) and "cameras" in str(answer["error"])

    def ended() -> list[tuple[str, object]]:
        return sorted(
            (e.target, e.details.get("ended")) for e in world.audit.events if e.action is AuditAction.LIVE_ENDED
        )

    # each view's end is audited by its own closing, which may come just after the socket's: waited for
    viewed = wait_for(lambda: found if len(found := ended()) >= 2 else None, 5, "both views' ends audited")
    assert viewed == [("vil-1", "left"), ("vil-2", "left")]
    assert {e.target for e in world.audit.events if e.action is AuditAction.LIVE_VIEWED} == {"vil-1", "vil-2"}


def test_the_wall_needs_a_session_and_a_page_of_this_server(world: World) -> None:
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as anonymous, world.client().websocket_connect("/api/live/wall"):
        pass
    assert anonymous.value.code == 4401
    client = world.login("op.vil")
    with (
        pytest.raises(WebSocketDisconnect) as foreign,
        client.websocket_connect("/api/live/wall", headers={"Origin": "https://evil.example"}),
    ):
        pass
    assert foreign.value.code == 1008
    with pytest.raises(WebSocketDisconnect) as forbidden, world.login("admin.vil").websocket_connect("/api/live/wall"):
        pass
    assert forbidden.value.code == 4403  # administrators manage accounts, they watch no video
    assert [e.target for e in world.audit.events if e.action is AuditAction.ACCESS_DENIED] == ["GET /api/live/wall"]


# --- The camera's own H.264 as fragmented MP4 over a WebSocket (issue 16) -----------------------------------------


@pytest.fixture(scope="module")
def h264(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s of real H.264 (160×96, 10 fps, a keyframe a second): what vil-2 sends when passed through."""
    return write_h264(tmp_path_factory.mktemp("fmp4") / "vil-2.ts", seconds=4.0)


@pytest.fixture
def fmp4_world(db: Engine, h264: Path) -> World:
    return build_world(db, live=partial(live_service, passthrough=h264))


def fmp4_messages(ws: object, fragments: int) -> tuple[list[dict[str, object]], list[bytes]]:
    """Text messages (decoded) and binary messages of a live.fmp4 socket until ``fragments`` binary messages after
    the init segment arrived (a binary message may hold several fragments)."""
    texts: list[dict[str, object]] = []
    binaries: list[bytes] = []
    while len(binaries) < fragments + 1:
        message = ws.receive()  # type: ignore[attr-defined]
        if message.get("text") is not None:
            texts.append(json.loads(message["text"]))
        elif message.get("bytes") is not None:
            binaries.append(message["bytes"])
        else:
            break
    return texts, binaries


def test_a_viewer_gets_the_cameras_own_h264_as_fragmented_mp4_and_the_view_is_audited(fmp4_world: World) -> None:
    world = fmp4_world
    client = world.login("op.vil")
    assert client.get("/api/cameras/live.fmp4").json() == {"cameras": ["vil-2"]}
    with client.websocket_connect("/api/cameras/vil-2/live.fmp4?quality=full") as ws:
        texts, binaries = fmp4_messages(ws, 12)
    assert texts[0]["codec"] == "avc1.42c00a"  # Constrained Baseline, level 1.0: read from the stream's SPS
    assert (texts[0]["mime"], texts[0]["width"], texts[0]["height"]) == ('video/mp4; codecs="avc1.42c00a"', 160, 96)
    assert binaries[0][4:8] == b"ftyp" and b"moov" in binaries[0]  # the init segment first
    assert all(b[4:8] == b"moof" for b in binaries[1:])
    with av.open(io.BytesIO(b"".join(binaries))) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(frames) >= 12  # decodable from the first fragment on: it starts at a keyframe
    assert {frame.shape for frame in frames} == {(96, 160, 3)}
    assert float(np.std(frames[-1])) > 20  # the camera's picture (a gradient), not a blank
    viewed = actions(world, AuditAction.LIVE_VIEWED)
    assert viewed == [("op.vil", "vil-2", {"quality": "full", "transport": "fmp4"})]
    wait_for(lambda: actions(world, AuditAction.LIVE_ENDED), 5, "the end of the fMP4 view audited")
    [(actor, target, details)] = actions(world, AuditAction.LIVE_ENDED)
    assert (actor, target, details["ended"], details["transport"]) == ("op.vil", "vil-2", "left", "fmp4")
    assert int(details["frames"]) >= 12  # type: ignore[call-overload]
    assert details["dropped"] == 0


def test_a_masked_camera_is_never_passed_through(fmp4_world: World) -> None:
    from starlette.websockets import WebSocketDisconnect

    world = fmp4_world
    binaries: list[bytes] = []
    with world.login("op.vil").websocket_connect("/api/cameras/vil-1/live.fmp4") as ws:
        refusal = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                binaries.append(ws.receive_bytes())
    assert refusal["code"] == "mjpeg_only"
    assert "privacy masks" in refusal["error"]
    assert closed.value.code == 4406 and binaries == []
    assert actions(world, AuditAction.LIVE_VIEWED) == []  # no view opened: the console shows it as MJPEG instead
    response = world.login("op.vil").get("/api/cameras/vil-1/live.jpg")
    assert response.status_code == 200  # the masked MJPEG fallback


@pytest.mark.parametrize(
    ("username", "camera", "code", "close"),
    [
        ("op.bron", "vil-2", "not_found", 4404),  # another commune's camera: as if it did not exist
        ("op.vil", "nowhere", "not_found", 4404),
        ("admin.vil", "vil-2", "forbidden", 4403),  # administrators watch no video
        ("op.untrained", "vil-2", "forbidden", 4403),  # no data-protection training recorded (L9)
    ],
)
def test_who_may_watch_the_passed_through_stream(
    fmp4_world: World, username: str, camera: str, code: str, close: int
) -> None:
    from starlette.websockets import WebSocketDisconnect

    world = fmp4_world
    with world.login(username).websocket_connect(f"/api/cameras/{camera}/live.fmp4") as ws:
        refusal = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_bytes()
    assert (refusal["code"], closed.value.code) == (code, close)
    assert actions(world, AuditAction.LIVE_VIEWED) == []
    denied = [actor for actor, _, _ in actions(world, AuditAction.ACCESS_DENIED)]
    assert denied == ([username] if close == 4403 else [])


def test_the_passed_through_stream_needs_a_session_and_a_page_of_this_server(fmp4_world: World) -> None:
    from starlette.websockets import WebSocketDisconnect

    world = fmp4_world
    with (
        pytest.raises(WebSocketDisconnect) as anonymous,
        world.client().websocket_connect("/api/cameras/vil-2/live.fmp4"),
    ):
        pass
    assert anonymous.value.code == 4401
    with (
        pytest.raises(WebSocketDisconnect) as foreign,
        world.login("op.vil").websocket_connect(
            "/api/cameras/vil-2/live.fmp4", headers={"Origin": "https://evil.example"}
        ),
    ):
        pass
    assert foreign.value.code == 1008
    assert world.client().get("/api/cameras/live.fmp4").status_code == 401
    assert world.login("admin.vil").get("/api/cameras/live.fmp4").status_code == 403
    assert actions(world, AuditAction.LIVE_VIEWED) == []


def test_logging_out_ends_the_passed_through_view(fmp4_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_route, "RECHECK_S", 0.2)
    world = fmp4_world
    client = world.login("op.vil")
    started = time.monotonic()
    with client.websocket_connect("/api/cameras/vil-2/live.fmp4") as ws:
        fmp4_messages(ws, 2)
        assert client.post("/api/auth/logout").status_code == 204
        message = ws.receive()
        while message["type"] != "websocket.close":  # fragments until the server ends the view by itself
            assert time.monotonic() - started < 10, "the live view went on after logout"
            message = ws.receive()
    assert message["code"] == 4401
    wait_for(lambda: actions(world, AuditAction.LIVE_ENDED), 5, "the end of the fMP4 view audited")
    assert [d["ended"] for _, _, d in actions(world, AuditAction.LIVE_ENDED)] == ["session ended"]
