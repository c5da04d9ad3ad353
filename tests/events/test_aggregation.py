"""Observations become events: merged while they keep coming, closed after the cooldown, all written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.events.aggregation import AggregationPolicy, EventAggregator
from vigie.storage.database import create_engine_for, migrate
from vigie.storage.repositories import SqlEventRepo

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def repo(tmp_path: Path) -> SqlEventRepo:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'events.db'}")
    migrate(engine)
    return SqlEventRepo(engine)


def obs(camera: str, seconds: float, box: Box = Box(0.1, 0.1, 0.1, 0.1), score: float = 0.5) -> Observation:
    return Observation(camera, "motion", "motion", T0 + timedelta(seconds=seconds), (box,), score, "mog2")


def test_consecutive_observations_make_one_growing_event(repo: SqlEventRepo) -> None:
    agg = EventAggregator(repo, AggregationPolicy(cooldown=timedelta(seconds=5), flush_every=timedelta(seconds=2)))
    for i in range(10):  # 0.0 .. 4.5 s at 2 obs/s
        agg.observe(obs("cam1", i * 0.5, Box(0.1 + i * 0.02, 0.1, 0.1, 0.1), score=0.3 + i * 0.05))
    agg.close_all()
    events = repo.list()
    assert len(events) == 1
    event = events[0]
    assert event.started_at == T0 and event.ended_at == T0 + timedelta(seconds=4.5)
    assert event.observations == 10
    assert event.region.x == pytest.approx(0.1) and event.region.w == pytest.approx(0.28)
    assert event.score == pytest.approx(0.75)


def test_a_gap_longer_than_the_cooldown_opens_a_new_event(repo: SqlEventRepo) -> None:
    agg = EventAggregator(repo, AggregationPolicy(cooldown=timedelta(seconds=5)))
    agg.observe(obs("cam1", 0))
    agg.observe(obs("cam1", 1))
    agg.observe(obs("cam1", 20))
    agg.close_all()
    assert [e.started_at for e in repo.list()] == [T0 + timedelta(seconds=20), T0]


def test_cameras_are_kept_apart_and_idle_events_are_closed(repo: SqlEventRepo) -> None:
    agg = EventAggregator(repo, AggregationPolicy(cooldown=timedelta(seconds=5)))
    agg.observe(obs("cam1", 0))
    agg.observe(obs("cam2", 0.5))
    agg.observe(obs("cam1", 3))
    closed = agg.close_idle(T0 + timedelta(seconds=8))
    assert [e.camera_id for e in closed] == ["cam2"]  # cam1 was seen at 3 s, still within its cooldown
    assert {e.camera_id: e.observations for e in agg.close_all()} == {"cam1": 2}
    stored = {e.camera_id: e for e in repo.list()}
    assert stored["cam1"].ended_at == T0 + timedelta(seconds=3)
    assert stored["cam2"].observations == 1


def test_an_open_event_is_visible_while_it_grows(repo: SqlEventRepo) -> None:
    agg = EventAggregator(repo, AggregationPolicy(cooldown=timedelta(seconds=5), flush_every=timedelta(seconds=1)))
    agg.observe(obs("cam1", 0))
    assert len(repo.list()) == 1  # written as soon as it opens
    agg.observe(obs("cam1", 2))
    agg.close_idle(T0 + timedelta(seconds=2.2))  # the end of the service's round
    assert repo.list()[0].ended_at == T0 + timedelta(seconds=2)  # flushed while open


def test_continuous_activity_is_cut_into_bounded_events(repo: SqlEventRepo) -> None:
    policy = AggregationPolicy(cooldown=timedelta(seconds=5), max_duration=timedelta(seconds=60))
    agg = EventAggregator(repo, policy)
    for i in range(150):  # 150 s of uninterrupted motion, one observation a second
        agg.observe(obs("cam1", i))
    agg.close_all()
    events = sorted(repo.list(), key=lambda e: e.started_at)
    assert len(events) == 3
    assert all(e.ended_at - e.started_at <= timedelta(seconds=60) for e in events)
    assert sum(e.observations for e in events) == 150


def test_each_camera_can_have_its_own_cooldown(repo: SqlEventRepo) -> None:
    agg = EventAggregator(
        repo,
        AggregationPolicy(cooldown=timedelta(seconds=5)),
        per_camera={"quiet": AggregationPolicy(cooldown=timedelta(seconds=30))},
    )
    for camera in ("busy", "quiet"):
        agg.observe(obs(camera, 0))
        agg.observe(obs(camera, 20))  # 20 s gap: a new event with 5 s cooldown, the same one with 30 s
    agg.close_all()
    counts = {camera: len(repo.list(camera_id=camera)) for camera in ("busy", "quiet")}
    assert counts == {"busy": 2, "quiet": 1}
