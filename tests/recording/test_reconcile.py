"""Crash safety: the pure plan, partial recovery and quarantine on real files, reconciliation against an index
(an in-memory one, and the real SQL index on SQLite)."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.recording.media import decoded, write_h264
from tests.support.recorders import MemoryIndex
from vigie.domain.recording import Segment, SegmentState
from vigie.ingest.packets import MainStream, PacketSpec
from vigie.recording.reconcile import (
    DiskListing,
    plan,
    reconcile_camera,
    recover_partial,
    recover_partials,
    scan,
)
from vigie.recording.segment_writer import SegmentWriter, segment_key
from vigie.runtime.clock import system_clock
from vigie.storage import SqlSegmentIndex, create_engine_for, migrate

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def seg(key: str, state: SegmentState = SegmentState.COMPLETE, id: int | None = 1) -> Segment:
    return Segment("cam1", key, T0, T0 + timedelta(seconds=10), 100, "0" * 64, state, id)


def test_plan_recovers_partials_indexes_strays_marks_missing_and_discards_leftovers() -> None:
    listing = DiskListing(
        segments=frozenset({"cam1/a.ts", "cam1/b.ts", "cam1/d.ts"}),
        partials=frozenset({"cam1/c.ts.partial", "cam1/d.ts.partial"}),
        recovering=frozenset({"cam1/e.ts.recover"}),
    )
    indexed = [
        seg("cam1/a.ts", id=1),
        seg("cam1/gone.ts", id=2),
        seg("cam1/q/x.ts.partial", SegmentState.QUARANTINED, 3),
    ]
    result = plan(listing, indexed)
    assert result.recover == ("cam1/c.ts.partial",)
    assert result.discard == ("cam1/d.ts.partial", "cam1/e.ts.recover")
    assert result.index == ("cam1/b.ts", "cam1/d.ts")
    assert [s.key for s in result.missing] == ["cam1/gone.ts"]


def test_plan_of_an_agreeing_directory_is_empty() -> None:
    result = plan(DiskListing(segments=frozenset({"cam1/a.ts"})), [seg("cam1/a.ts")])
    assert result.recover == result.discard == result.index == result.missing == ()


@pytest.fixture(scope="module")
def whole_segment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished 6 s segment, as the writer makes it."""
    base = tmp_path_factory.mktemp("whole")
    source = write_h264(base / "source.ts")
    with MainStream(PacketSpec("cam1", source.as_uri(), replay=False), system_clock) as stream:
        writer = SegmentWriter("cam1", base / "store", stream.video, segment_seconds=60)
        for item in stream.packets():
            writer.write(item.packet, item.at)
        segment = writer.close()
    assert segment is not None
    return base / "store" / segment.key


def place_partial(root: Path, whole: Path, fraction: float, start: datetime = T0) -> str:
    """A ``.partial`` holding the first ``fraction`` of a segment's bytes: what ``kill -9`` leaves."""
    key = segment_key("cam1", start) + ".partial"
    target = root / key
    target.parent.mkdir(parents=True, exist_ok=True)
    data = whole.read_bytes()
    target.write_bytes(data[: int(len(data) * fraction)])
    return key


def test_a_truncated_partial_is_recovered_up_to_the_cut(whole_segment: Path, tmp_path: Path) -> None:
    key = place_partial(tmp_path, whole_segment, 0.55)
    segment = recover_partial(tmp_path, key, "cam1")
    assert segment.state is SegmentState.RECOVERED
    assert segment.key == key.removesuffix(".partial") and segment.start == T0
    path = tmp_path / segment.key
    assert not (tmp_path / key).exists() and not list(tmp_path.rglob("*.recover"))
    assert segment.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() and segment.bytes == path.stat().st_size
    frames = decoded(path)
    assert 10 <= len(frames) < 60, "what was written before the cut plays; the rest is gone"
    assert frames == decoded(whole_segment)[: len(frames)]
    assert 1.0 <= segment.seconds < 6.0


def test_an_unreadable_partial_is_quarantined(tmp_path: Path) -> None:
    key = segment_key("cam1", T0) + ".partial"
    (tmp_path / key).parent.mkdir(parents=True)
    (tmp_path / key).write_bytes(b"\x47" + bytes(5000))
    segment = recover_partial(tmp_path, key, "cam1")
    assert segment.state is SegmentState.QUARANTINED
    assert segment.key.startswith("cam1/quarantine/") and (tmp_path / segment.key).is_file()
    assert not (tmp_path / key).exists()
    assert scan(tmp_path, "cam1") == DiskListing(), "quarantine is out of the camera's listing"


def test_recover_partials_at_recorder_start(whole_segment: Path, tmp_path: Path) -> None:
    place_partial(tmp_path, whole_segment, 0.5)
    place_partial(tmp_path, whole_segment, 0.0005, T0 + timedelta(minutes=1))
    states = sorted(s.state for s in recover_partials(tmp_path, "cam1"))
    assert states == [SegmentState.QUARANTINED, SegmentState.RECOVERED]
    assert recover_partials(tmp_path, "cam1") == [], "nothing left to recover the second time"


def run_reconcile_scenario(index: SqlSegmentIndex | MemoryIndex, whole: Path, root: Path) -> None:
    indexed_key = segment_key("cam1", T0)
    root.mkdir(exist_ok=True)
    shutil.copy(whole, root / "placed.ts")
    (root / indexed_key).parent.mkdir(parents=True)
    (root / "placed.ts").rename(root / indexed_key)
    index.add(Segment("cam1", indexed_key, T0, T0 + timedelta(seconds=6), whole.stat().st_size, "a" * 64))
    gone = index.add(seg(segment_key("cam1", T0 - timedelta(hours=1)), id=None))
    stray_key = segment_key("cam1", T0 + timedelta(minutes=5))
    shutil.copy(whole, root / stray_key)
    place_partial(root, whole, 0.6, T0 + timedelta(minutes=10))

    report = reconcile_camera(root, "cam1", index, T0 + timedelta(days=1))
    assert [s.key for s in report.missing] == [gone.key]
    assert [s.key for s in report.indexed] == [stray_key]
    assert report.indexed[0].sha256 == hashlib.sha256(whole.read_bytes()).hexdigest()
    assert report.indexed[0].seconds == pytest.approx(6.0, abs=0.05)
    assert [s.state for s in report.recovered] == [SegmentState.RECOVERED]
    again = reconcile_camera(root, "cam1", index, T0 + timedelta(days=1))
    assert again.recovered == again.indexed == again.missing == again.quarantined == [] == again.discarded


def test_reconcile_against_an_index(whole_segment: Path, tmp_path: Path) -> None:
    run_reconcile_scenario(MemoryIndex(), whole_segment, tmp_path)


def test_reconcile_against_the_sql_index(whole_segment: Path, tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(engine)
    index = SqlSegmentIndex(engine)
    run_reconcile_scenario(index, whole_segment, tmp_path / "segments")
    assert index.count(camera_id="cam1", state=SegmentState.MISSING) == 1
    assert index.count(camera_id="cam1", state=SegmentState.RECOVERED) == 1
