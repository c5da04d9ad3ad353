"""Issue 15, D9: segments recorded and audit entries made while the database refuses writes used to be dropped
("handling a worker message failed"), and ``/healthz`` said 200 throughout. Now they are kept in the journal and
written, in order, when the database takes writes again; ``/readyz`` says not ready meanwhile.

The service runs in this process on a real camera (a video file, paced and looped like a live stream), on a clock
far from the host's day; the database is made immutable (``chattr +i``, as in the issue) or, where that cannot be
done, locked by another connection."""

from __future__ import annotations

import itertools
import os
import signal
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support.clocks import T0, RunningClock
from tests.support.configs import camera_yaml, config_yaml
from tests.support.db_faults import IMMUTABLE, LOCKED, immutable_possible, unwritable_database
from tests.support.videos import write_moving_square_video
from tests.support.waiting import wait_for
from vigie.config import load_config_text
from vigie.domain.audit import GENESIS_HASH, AuditAction, AuditRecord
from vigie.domain.recording import SegmentState
from vigie.recording.segment_writer import start_from_key
from vigie.runtime.assembly.service import VigieService
from vigie.storage import SqlAuditStore, create_engine_for

VALID = ((T0 - timedelta(days=365)).date().isoformat(), (T0 + timedelta(days=5 * 365)).date().isoformat())


def _records(store: SqlAuditStore, action: AuditAction) -> list[AuditRecord]:
    return [r for r in store.records() if r.action == action]


def _recorded(root: Path, after: datetime, before: datetime) -> list[str]:
    """Finished segment files of the camera on disk, started in (after, before)."""
    keys = (p.relative_to(root).as_posix() for p in root.glob("cam-1/**/*.ts") if "quarantine" not in p.parts)
    return sorted(k for k in keys if after < (start_from_key(k) or after) < before)


def _ready(api: TestClient) -> int:
    return int(api.get("/readyz").status_code)


@pytest.mark.parametrize("mode", [IMMUTABLE, LOCKED])
def test_what_is_recorded_while_the_database_refuses_writes_reaches_it_after(
    tmp_path: Path, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    if mode == IMMUTABLE and not immutable_possible(tmp_path):
        pytest.skip("files cannot be made immutable here (chattr +i needs root and a filesystem that supports it)")
    video = write_moving_square_video(tmp_path / "cam.mp4", seconds=20.0)
    text = config_yaml(tmp_path, camera_yaml("cam-1", video.as_uri(), valid=VALID), storage="  segment_seconds: 2\n")
    config = load_config_text(text)
    clock = RunningClock(T0)
    service = VigieService(config, simulated_cameras=frozenset({"cam-1"}), clock=clock)
    api = TestClient(service.app)
    store = SqlAuditStore(create_engine_for(config.storage.database_url))  # another reader, as an auditor
    root = config.storage.data_dir / "segments"
    service.start()
    try:
        wait_for(lambda: service.segments.count(camera_id="cam-1") >= 1, 40, "a segment indexed")
        wait_for(lambda: _records(store, AuditAction.GATE_OPENED), 40, "motion running on the simulated camera")
        assert _ready(api) == 200, api.get("/readyz").json()

        with unwritable_database(tmp_path / "vigie.db", mode):
            began = clock()
            wait_for(lambda: _ready(api) == 503, 20, "readiness to say not ready")
            answer = api.get("/readyz").json()["error"]
            assert answer["code"] == "not_ready", answer
            database = next(c for c in answer["details"] if c["name"] == "database")
            assert not database["ok"] and "not writable" in database["detail"], database
            assert api.get("/healthz").status_code == 200, "liveness is not readiness"
            killed = service.supervisor.pids()["analysis:cam-1"]
            os.kill(killed, signal.SIGKILL)  # its gate closes and opens again: audit entries made during the outage
            wait_for(
                lambda: service.supervisor.pids().get("analysis:cam-1", killed) != killed, 20, "analysis restarted"
            )
            wait_for(lambda: _recorded(root, began, clock())[3:], 30, "segments recorded during the outage")
            kept = service.journal.path
            wait_for(lambda: "gate.opened" in kept.read_text(), 20, "the reopened gate kept in the journal")
            ended = clock()
        wait_for(lambda: _ready(api) == 200, 30, "ready again once the journal is written")
    finally:
        service.stop()

    during = _recorded(root, began, ended)
    assert len(during) >= 3
    assert [k for k in during if service.segments.by_key(k) is None] == [], "every segment of the outage is indexed"
    playable = {s.key for s in service.segments.between("cam-1", began, ended + timedelta(seconds=2))}
    assert set(during) <= playable, "they play and export: the index serves them to the timeline"
    assert service.segments.count(camera_id="cam-1", state=SegmentState.MISSING) == 0

    records = list(store.records())
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    assert all(r.is_consistent() for r in records) and records[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records)), "one unbroken chain"
    (unavailable,) = _records(store, AuditAction.DATABASE_UNAVAILABLE)
    (recovered,) = _records(store, AuditAction.DATABASE_RECOVERED)
    closed = [r for r in _records(store, AuditAction.GATE_CLOSED) if began <= r.at <= ended]
    reopened = [r for r in _records(store, AuditAction.GATE_OPENED) if began <= r.at <= ended]
    assert closed and reopened, "the gate's transitions during the outage are in the chain"
    assert unavailable.seq < closed[0].seq < reopened[0].seq < recovered.seq
    assert began - timedelta(seconds=15) <= unavailable.at <= ended
    assert recovered.details["replayed"] >= len(closed) + len(reopened) + 1
    assert len(service.journal) == 0 and not service.journal.path.exists()
    assert "handling a worker message failed" not in caplog.text, "a refused write is kept, not a failure"
