"""The purge job over a real SQLite index and a real directory of segment files."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.audit_sinks import ListAudit
from vigie.domain.audit import AuditAction
from vigie.domain.recording import Hold, Segment, SegmentState
from vigie.recording.purge import Purger
from vigie.storage import (
    SqlDestructionRegister,
    SqlHoldRepo,
    SqlSegmentIndex,
    create_engine_for,
    migrate,
)
from vigie.storage.segment_store import FileSegmentStore

NOW = datetime(2025, 6, 1, tzinfo=UTC)
DAY = timedelta(days=1)
RETENTION = {"cam-a": 7 * DAY, "cam-b": 30 * DAY}


@dataclass
class Rig:
    index: SqlSegmentIndex
    holds: SqlHoldRepo
    register: SqlDestructionRegister
    store: FileSegmentStore
    audit: ListAudit
    tmp: Path
    free: list[int]

    def segment(self, camera: str, age_days: float, size: int = 100) -> Segment:
        """A one-minute segment of ``camera`` that ended ``age_days`` before NOW, with its bytes in the store."""
        end = NOW - timedelta(days=age_days)
        key = f"{camera}/{end:%Y%m%dT%H%M%S}.mp4"
        source = self.tmp / "source.bin"
        source.write_bytes(b"x" * size)
        self.store.put(key, source)
        return self.index.add(Segment(camera, key, end - timedelta(minutes=1), end, size, "0" * 64))

    def hold_on(self, segment: Segment) -> Hold:
        hold = Hold(segment.camera_id, segment.start, segment.end, "REQ-7", "PV-7", "OPJ Leroy", placed_at=NOW)
        return self.holds.place(hold)

    def purger(self, min_free: int = 0) -> Purger:
        return Purger(
            self.index,
            self.store,
            holds_source=self.holds,
            register=self.register,
            audit=self.audit,
            retention_for_camera=RETENTION.__getitem__,
            clock=lambda: NOW,
            free_bytes=lambda: self.free[0],
            min_free_bytes=min_free,
            batch=2,  # several pages even with a handful of segments
        )

    def state(self, segment: Segment) -> SegmentState:
        stored = self.index.get(segment.id or 0)
        assert stored is not None
        return stored.state


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(engine)
    store = FileSegmentStore(tmp_path / "segments")
    yield Rig(
        SqlSegmentIndex(engine),
        SqlHoldRepo(engine),
        SqlDestructionRegister(engine),
        store,
        ListAudit(),
        tmp_path,
        [10**12],
    )
    engine.dispose()


def test_run_destroys_expired_unheld_segments_registers_and_audits_once(rig: Rig) -> None:
    old1, old2 = rig.segment("cam-a", 9, 100), rig.segment("cam-a", 8, 50)
    kept_by_hold = rig.segment("cam-a", 10, 70)
    recent = rig.segment("cam-a", 6)
    b_old = rig.segment("cam-b", 20)  # under cam-b's 30 days
    hold = rig.hold_on(kept_by_hold)

    report = rig.purger().run()

    assert {k: (t.segments, t.bytes) for k, t in report.expired.items()} == {"cam-a": (2, 150)}
    assert report.held_kept == 1 and not report.disk_full and report.alarm is None
    for gone in (old1, old2):
        assert not rig.store.exists(gone.key) and rig.state(gone) is SegmentState.DELETED
    for kept in (kept_by_hold, recent, b_old):
        assert rig.store.exists(kept.key) and rig.state(kept) is SegmentState.COMPLETE
    lines = rig.register.all()
    assert [(r.segment_id, r.destroyed_at, r.reason) for r in lines] == [
        (old1.id, NOW, "retention"),
        (old2.id, NOW, "retention"),
    ]
    [event] = rig.audit.events
    assert (event.action, event.actor, event.target) == (AuditAction.DELETION, "system:retention", "recordings")
    assert event.details["retention"] == {"cam-a": {"segments": 2, "bytes": 150}}
    assert event.details["held_kept"] == 1

    assert rig.purger().run().destroyed == 0
    assert len(rig.audit.events) == 1  # a run that destroys nothing leaves no entry

    rig.holds.lift(hold.id or 0, NOW - timedelta(seconds=1), "bob", "case closed")
    assert rig.purger().run().expired["cam-a"].segments == 1
    assert rig.state(kept_by_hold) is SegmentState.DELETED


def test_a_missing_file_or_a_failing_store_never_stops_the_run(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    vanished, failing, fine = rig.segment("cam-a", 9), rig.segment("cam-a", 10), rig.segment("cam-a", 11)
    rig.store.delete(vanished.key)
    real_delete = rig.store.delete

    def flaky_delete(key: str) -> None:
        if key == failing.key:
            raise PermissionError(13, "Permission denied", key)
        real_delete(key)

    monkeypatch.setattr(rig.store, "delete", flaky_delete)
    report = rig.purger().run()

    assert report.missing == [vanished.key] and report.failed == [failing.key]
    assert rig.state(vanished) is SegmentState.MISSING
    assert rig.state(failing) is SegmentState.COMPLETE and rig.store.exists(failing.key)  # retried next run
    assert rig.state(fine) is SegmentState.DELETED
    assert [r.segment_id for r in rig.register.all()] == [fine.id]  # no line for what was not destroyed here
    assert rig.audit.events[0].details["missing_keys"] == [vanished.key]


def test_disk_full_purges_oldest_unheld_early_and_never_a_held_one(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    held = rig.segment("cam-b", 5, 400)  # the oldest, but held
    first, second, third = rig.segment("cam-b", 4, 100), rig.segment("cam-a", 3, 100), rig.segment("cam-b", 2, 100)
    rig.hold_on(held)
    rig.free[0] = 850  # below the 1000 wanted: free 150 more

    with caplog.at_level(logging.WARNING, logger="vigie.recording.purge"):
        report = rig.purger(min_free=1000).run()

    assert report.disk_full and report.alarm == "disk full: purged 2 unheld segments early; 1 held segments kept"
    assert report.alarm in caplog.text
    assert [rig.state(s) for s in (held, first, second, third)] == [
        SegmentState.COMPLETE,
        SegmentState.DELETED,
        SegmentState.DELETED,
        SegmentState.COMPLETE,
    ]
    assert rig.store.exists(held.key)
    assert {r.reason for r in rig.register.all()} == {"disk_pressure"}
    [event] = rig.audit.events
    assert event.details["disk_pressure"] == {
        "cam-a": {"segments": 1, "bytes": 100},
        "cam-b": {"segments": 1, "bytes": 100},
    }
    assert event.details["disk_full"] is True


def test_disk_full_with_everything_held_purges_nothing_and_still_alarms(rig: Rig) -> None:
    segments = [rig.segment("cam-b", age) for age in (3, 2, 1)]
    for segment in segments:
        rig.hold_on(segment)
    rig.free[0] = 0
    report = rig.purger(min_free=10**9).run()
    assert report.alarm == "disk full: purged 0 unheld segments early; 3 held segments kept"
    assert all(rig.store.exists(s.key) for s in segments)
    assert rig.audit.events[0].details["disk_full"] is True
