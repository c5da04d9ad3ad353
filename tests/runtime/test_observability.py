"""Metrics, the health view and the recording-gap alarm of the production composition (issue 17): ``VigieService``
built from a configuration, real worker messages handed to its sink, ``/metrics`` and ``/api/system/health`` read
through its own API."""

from __future__ import annotations

import logging
import secrets
import socket
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.support.clocks import FakeClock
from tests.support.configs import camera_yaml, config_yaml
from vigie.config import load_config_text
from vigie.domain.actor import Actor
from vigie.domain.camera import CameraHealth, HealthState
from vigie.domain.clock import legal_day
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.domain.recording import Segment
from vigie.domain.users import Role
from vigie.events.aggregation import EventAggregator
from vigie.runtime.assembly.service import ServiceError, VigieService
from vigie.runtime.workers.monitor import LINES_PER_WINDOW, LOG_WINDOW
from vigie.runtime.workers.recorder import RecordingHealth
from vigie.runtime.workers.sink import WorkerMessageSink

PASSWORD = "correct horse battery staple 1"
SEGMENT_S = 10


@pytest.fixture
def clock() -> FakeClock:
    # far from the host's day: whatever reads the host's time instead of the service's clock shows up
    return FakeClock(datetime.now().astimezone().replace(microsecond=0) - timedelta(days=3 * 365))


def build(
    tmp_path: Path, clock: FakeClock, token: str | None = None, names: tuple[str, ...] = ("cam-1", "cam-2")
) -> VigieService:
    tmp_path.mkdir(parents=True, exist_ok=True)
    day = legal_day(clock)
    valid = ((day - timedelta(days=30)).isoformat(), (day + timedelta(days=365)).isoformat())
    cameras = "".join(camera_yaml(c, f"rtsp://127.0.0.1:9/{c}", valid=valid) for c in names)
    text = config_yaml(tmp_path, cameras, storage=f"  segment_seconds: {SEGMENT_S}\n")
    if token is not None:
        token_file = tmp_path / "metrics.token"
        token_file.write_text(token + "\n")
        text = text.replace("port: 8080}", f"port: 8080, metrics_token_file: {token_file}}}")
    return VigieService(load_config_text(text), clock=clock)


def segment(camera_id: str, start: datetime, seconds: float = SEGMENT_S) -> Segment:
    end = start + timedelta(seconds=seconds)
    return Segment(camera_id, f"{camera_id}/{start.timestamp():.0f}.ts", start, end, 100_000, "0" * 64)


def scrape(api: TestClient, token: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = api.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def labels(**pairs: str) -> frozenset[tuple[str, str]]:
    return frozenset(pairs.items())


def person(service: VigieService, username: str, role: Role) -> TestClient:
    day = legal_day(service.clock)
    service.accounts.add_user(
        Actor.command_line("test"),
        username=username,
        display_name=username,
        commune_id="testville",
        roles=[role],
        password=PASSWORD,
        authorised_until=day + timedelta(days=30),
        trained_on=day,
    )
    client = TestClient(service.app)
    answer = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client


def test_metrics_follow_the_worker_messages_through_the_sink(tmp_path: Path, clock: FakeClock) -> None:
    token = secrets.token_hex(32)
    service = build(tmp_path, clock, token)
    sink = service.sink
    sink.tick()
    start = clock()
    sink(RecordingHealth("cam-1", HealthState.ONLINE, clock(), packets_per_s=25.0, non_monotonic=2))
    sink(
        CameraHealth(
            "cam-1", HealthState.ONLINE, clock(), "", 4.0, 3, fps_decoded=12.5, decode_s=0.002, inference_s=0.015
        )
    )
    sink(RecordingHealth("cam-2", HealthState.OFFLINE, clock(), "camera cam-2: cannot open the stream"))
    clock.advance(seconds=SEGMENT_S)
    sink(segment("cam-1", start))
    clock.advance(seconds=SEGMENT_S)
    sink(segment("cam-1", start + timedelta(seconds=SEGMENT_S)))
    sink.tick()  # written to the index: the lag counts from the last one's end
    clock.advance(seconds=3)
    sink(Observation("cam-1", "intrusion", "intrusion", clock(), (Box(0.1, 0.1, 0.2, 0.3),), 0.9, "motion"))
    sink.tick()
    alert = service.alerts.pending()[0]
    service.alerts.dismiss(alert.id or 0, by=Actor("op", "operator", "testville"))

    found = scrape(TestClient(service.app), token)
    cam1 = labels(camera="cam-1")
    assert found[("vigie_camera_fps_in", labels(camera="cam-1", stream="recording"))] == 25.0
    assert found[("vigie_camera_fps_in", labels(camera="cam-1", stream="analysis"))] == 12.5
    assert found[("vigie_camera_fps_out", cam1)] == 4.0
    assert found[("vigie_camera_frames_dropped_total", labels(camera="cam-1", stream="analysis"))] == 3
    assert found[("vigie_camera_frames_dropped_total", labels(camera="cam-1", stream="recording"))] == 2
    assert found[("vigie_camera_decode_seconds", cam1)] == pytest.approx(0.002)
    assert found[("vigie_camera_inference_seconds", cam1)] == pytest.approx(0.015)
    assert found[("vigie_camera_segment_lag_seconds", cam1)] == 3.0
    assert ("vigie_camera_segment_lag_seconds", labels(camera="cam-2")) not in found, "no segment yet: no lag"
    assert found[("vigie_camera_up", labels(camera="cam-1", stream="recording"))] == 1
    assert found[("vigie_camera_up", labels(camera="cam-2", stream="recording"))] == 0
    assert found[("vigie_camera_recording_gaps_total", cam1)] == 0
    assert found[("vigie_alerts_raised_total", labels(module="intrusion"))] == 1
    assert found[("vigie_alert_verdicts_total", labels(module="intrusion", verdict="false_positive"))] == 1
    node = next(dict(key[1])["node"] for key in found if key[0] == "vigie_node_cameras")
    assert found[("vigie_node_cameras", labels(node=node))] == 2, "a camera recorded and analysed counts once"
    assert found[("vigie_node_groups", labels(node=node))] == len(service.supervisor.groups())
    assert found[("vigie_node_up", labels(node=node))] == 0, "the supervisor is not started"
    assert all(set(dict(key[1])) <= {"camera", "stream", "node", "module", "verdict"} for key in found), (
        "labels are bounded: cameras, streams, nodes, modules, verdicts"
    )


def test_the_metrics_answer_only_to_the_token(tmp_path: Path, clock: FakeClock) -> None:
    token = secrets.token_hex(32)
    api = TestClient(build(tmp_path / "on", clock, token).app)
    for header in ({}, {"Authorization": f"Bearer {token[:-1]}x"}, {"Authorization": f"Basic {token}"}):
        answer = api.get("/metrics", headers=header)
        assert answer.status_code == 401, header
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.json()["error"]["code"] == "not_authenticated"
        assert token not in answer.text
    assert scrape(api, token), "the right token reads them"
    assert "/metrics" not in api.get("/openapi.json").json()["paths"]

    off = TestClient(build(tmp_path / "off", clock).app)
    assert off.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 404

    with pytest.raises(ServiceError, match=r"metrics_token_file .*metrics.token: .*at least 32"):
        build(tmp_path / "short", clock, "too-short")


def test_a_recording_gap_raises_an_alarm_that_clears_when_recording_resumes(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    token = secrets.token_hex(32)
    service = build(tmp_path, clock, token)
    operator = person(service, "agent", Role.OPERATOR)
    investigator = person(service, "enqueteur", Role.INVESTIGATOR)
    sink = service.sink
    unwatched = operator.get("/api/system/health").json()
    assert unwatched["watching"] is False and unwatched["alarms"] == [], "before its first round (or in `vigie api`)"
    sink.tick()  # the service watches its cameras from its first round
    start = clock()
    clock.advance(seconds=SEGMENT_S)
    sink(segment("cam-1", start))
    sink.tick()
    watched = operator.get("/api/system/health").json()
    assert watched["alarms"] == [] and watched["watching"] is True

    caplog.set_level(logging.WARNING)
    clock.advance(seconds=2 * SEGMENT_S + 1)  # no segment for more than two segment lengths
    sink.tick()
    view = operator.get("/api/system/health").json()
    alarms = {a["camera_id"]: a for a in view["alarms"]}
    assert set(alarms) == {"cam-1", "cam-2"}, "cam-2 never recorded since the service started"
    assert alarms["cam-1"]["end"] is None and alarms["cam-1"]["seconds"] == 2 * SEGMENT_S + 1
    assert "cam-1: recording gap alarm raised" in caplog.text
    assert scrape(operator, token)[("vigie_camera_recording_gap_open_seconds", labels(camera="cam-1"))] == 21

    resumed = clock() + timedelta(seconds=4)  # the recorder reconnects; its first segment ends 10 s later
    clock.advance(seconds=4 + SEGMENT_S)
    sink(segment("cam-1", resumed))
    sink.tick()
    view = operator.get("/api/system/health").json()
    assert [a["camera_id"] for a in view["alarms"]] == ["cam-2"], "cam-1's alarm cleared when recording resumed"
    gap = next(g for g in view["gaps"] if g["camera_id"] == "cam-1")
    assert gap["seconds"] == 2 * SEGMENT_S + 1 + 4 and gap["end"] is not None
    assert "cam-1: recording gap alarm cleared" in caplog.text
    found = scrape(operator, token)
    assert found[("vigie_camera_recording_gap_open_seconds", labels(camera="cam-1"))] == 0
    assert found[("vigie_camera_recording_gaps_total", labels(camera="cam-1"))] == 1
    assert found[("vigie_camera_recording_gap_seconds_total", labels(camera="cam-1"))] == 25

    assert {d["name"] for d in view["disks"]} == {"recordings", "data"}
    assert all(d["free_bytes"] > 0 and d["ok"] for d in view["disks"]), view["disks"]
    assert [n["cameras"] for n in view["nodes"]] == [2]
    assert investigator.get("/api/system/health").status_code == 403, "operators and supervisors only"


def test_many_alarms_in_one_round_are_one_line_of_the_log(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    names = tuple(f"cam-{n}" for n in range(1, 9))
    service = build(tmp_path, clock, names=names)
    operator = person(service, "agent", Role.OPERATOR)
    service.sink.tick()
    caplog.set_level(logging.WARNING)
    clock.advance(seconds=2 * SEGMENT_S + 1)  # a site's network down: none of its 8 cameras records
    service.sink.tick()
    raised = [r.getMessage() for r in caplog.records if "recording gap alarm" in r.getMessage()]
    assert len(raised) == 1, raised
    assert raised[0].startswith("recording gap alarms raised for 8 cameras (cam-1, cam-2, cam-3, cam-4, cam-5, and 3")
    alarms = operator.get("/api/system/health").json()["alarms"]
    assert sorted(a["camera_id"] for a in alarms) == sorted(names), "each camera's alarm is still listed"


def test_cameras_recovering_a_few_at_a_time_are_a_bounded_number_of_lines(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """After a node came back its cameras resume a few per round: at most LINES_PER_WINDOW lines of a kind per
    window, the rest one line at the window's end, every camera's alarm cleared in the health view at once."""
    names = tuple(f"cam-{n}" for n in range(1, 41))
    service = build(tmp_path, clock, names=names)
    operator = person(service, "agent", Role.OPERATOR)
    service.sink.tick()
    clock.advance(seconds=2 * SEGMENT_S + 1)
    service.sink.tick()
    assert len(operator.get("/api/system/health").json()["alarms"]) == 40
    caplog.set_level(logging.WARNING)
    for pair in range(20):  # two cameras a round, a round every 0.25 s: 5 s for all 40
        clock.advance(seconds=0.25)
        for name in names[2 * pair : 2 * pair + 2]:
            service.sink(segment(name, clock() - timedelta(seconds=SEGMENT_S)))
        service.sink.tick()
    assert operator.get("/api/system/health").json()["alarms"] == [], "every alarm cleared as its camera resumed"
    clock.advance(seconds=LOG_WINDOW.total_seconds())
    service.sink.tick()
    cleared = [r.getMessage() for r in caplog.records if "cleared" in r.getMessage()]
    assert len(cleared) == LINES_PER_WINDOW + 1, cleared
    assert cleared[-1].startswith(f"recording gap alarms cleared for {40 - LINES_PER_WINDOW} cameras (cam-21, ")


def test_the_single_host_is_one_node_named_by_vigie_node_or_the_host(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIE_NODE", "poste-central-1")
    service = build(tmp_path, clock)
    [node] = service.supervisor.nodes()
    assert (node.node_id, node.cameras, node.alive) == ("poste-central-1", 2, False)
    assert set(node.groups) == set(service.supervisor.groups())
    monkeypatch.delenv("VIGIE_NODE")
    assert service.supervisor.nodes()[0].node_id == socket.gethostname()


class Broken:
    """An observer with a bug."""

    def observe(self, msg: object) -> None:
        raise RuntimeError("observer bug")

    def indexed(self, segments: object) -> None:
        raise RuntimeError("observer bug")

    def tick(self, now: datetime) -> None:
        raise RuntimeError("observer bug")


def test_a_failing_observer_costs_no_segment_and_does_not_flood_the_log(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    service = build(tmp_path, clock)
    sink = WorkerMessageSink(
        EventAggregator(service.events), service.status, service.audit, segments=service.segments, observers=[Broken()]
    )
    start = clock()
    for n in range(3):
        sink(segment("cam-1", start + timedelta(seconds=n * SEGMENT_S)))
        sink.tick()
    assert service.segments.count(camera_id="cam-1") == 3
    assert caplog.text.count("an observer of the worker messages failed") == 1
