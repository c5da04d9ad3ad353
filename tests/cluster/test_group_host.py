"""A camera group as a cluster node hosts it (:class:`vigie.cluster.host.GroupHost`), without Ray: a real recorder
on a replayed file, its segments uploaded to a real SeaweedFS by the node before they are reported, messages kept
and handed over again until the control plane acknowledges them, the spool copy deleted only then; an outbox no
control plane drains (``vigie serve`` stopped while the group records on) bounded by coalescing its health."""

# ruff: noqa: F811 - the seaweedfs and s3_store fixtures are imported, then named as arguments

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.storage.conftest_seaweedfs import s3_store, seaweedfs  # noqa: F401 - fixtures
from tests.support.waiting import wait_for
from vigie.cluster.host import GroupHost, coalesced
from vigie.domain.camera import HealthState
from vigie.domain.recording import Segment
from vigie.ingest.packets import PacketSpec
from vigie.runtime.workers.group import GroupBeat, HealthReports, unpacked
from vigie.runtime.workers.recorder import RecorderGroupSpec, RecorderSpec, RecordingHealth
from vigie.storage import S3SegmentStore


def spool_files(spool: Path) -> list[Path]:
    return sorted(p for p in spool.rglob("*.ts") if p.is_file())


def test_segments_are_reported_once_stored_again_until_acknowledged_and_leave_the_spool_then(
    tmp_path: Path, moving_square_video: Path, s3_store: S3SegmentStore
) -> None:
    spool = tmp_path / "spool"
    spec = RecorderGroupSpec(
        "recorder-0",
        (RecorderSpec(PacketSpec("cam-a", moving_square_video.as_uri()), spool, segment_seconds=2.0),),
        stall_s=10.0,
    )
    host = GroupHost(spec, store=s3_store, spool=spool, node_id="node-x", address="10.0.0.7")
    try:

        def reported() -> list[Segment]:
            drained = host.drain(0)
            return [m for m in drained.messages if isinstance(m, Segment)]

        first = wait_for(lambda: reported()[:2] if len(reported()) >= 2 else [], 60, "two segments reported")
        stored = set(s3_store.keys("cam-a/"))
        assert {s.key for s in first} <= stored, "a segment is reported only once it is in the store"
        again = host.drain(0)
        assert again.node_id == "node-x" and again.address == "10.0.0.7" and again.group == "recorder-0"
        assert [m for m in again.messages if isinstance(m, Segment)][:2] == first, "not acknowledged: handed again"
        assert all((spool / s.key).exists() for s in first), "the spool copy stays until the report is acknowledged"
        assert any(isinstance(m, RecordingHealth) for m in unpacked(again.messages)), (
            "health goes to the control plane too"
        )

        upto = again.first + list(again.messages).index(first[1])
        after = host.drain(upto)
        assert after.first == upto + 1, "acknowledged messages are forgotten"
        assert not any((spool / s.key).exists() for s in first), "acknowledged and stored: the spool copy goes"
        assert first[0] not in after.messages
    finally:
        assert host.stop(15.0), "the group stops within its grace"
    last = host.drain(0)
    tail = [m for m in last.messages if isinstance(m, Segment)]
    assert tail and tail[-1].end > first[1].end, "the segment being written at stop is finished, stored, reported"
    assert set(s3_store.keys("cam-a/")) >= {s.key for s in tail}
    assert not last.running and host.exit_code == 0


def test_without_a_control_plane_the_outbox_keeps_every_segment_and_only_the_latest_health() -> None:
    at = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)  # a fixed instant: nothing here depends on the day

    def health(camera: str, state: HealthState, n: int) -> RecordingHealth:
        return RecordingHealth(camera, state, at + timedelta(seconds=n))

    def segment(n: int) -> Segment:
        start = at + timedelta(seconds=10 * n)
        return Segment("cam-a", f"cam-a/{n}.ts", start, start + timedelta(seconds=10), 1000, "ab" * 32)

    outbox = [
        (1, GroupBeat("recorder-0", 7, ("cam-a", "cam-b"))),
        (2, HealthReports("recorder-0", tuple(health(c, HealthState.ONLINE, 1) for c in ("cam-a", "cam-b")))),
        (3, segment(0)),
        (4, GroupBeat("recorder-0", 7, ("cam-a",))),
        (5, HealthReports("recorder-0", (health("cam-b", HealthState.OFFLINE, 2),))),
        (6, segment(1)),
        (7, HealthReports("recorder-0", (health("cam-a", HealthState.ONLINE, 3),))),
        (8, GroupBeat("recorder-0", 7, ("cam-a",))),
    ]
    kept = coalesced(outbox)
    assert [seq for seq, m in kept if isinstance(m, Segment)] == [3, 6], "segments are never dropped"
    assert [seq for seq, m in kept if isinstance(m, GroupBeat)] == [8], "the latest beat"
    reports = [m for _, m in kept if isinstance(m, HealthReports)]
    assert len(reports) == 1 and [seq for seq, m in kept if isinstance(m, HealthReports)] == [7]
    latest = {r.camera_id: r for r in unpacked(reports)}
    assert latest == {"cam-b": health("cam-b", HealthState.OFFLINE, 2), "cam-a": health("cam-a", HealthState.ONLINE, 3)}
    assert [seq for seq, _ in kept] == sorted(seq for seq, _ in kept), "kept in order"


def test_an_outbox_nobody_drains_stays_bounded_and_one_acknowledgement_still_clears_it(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    missing = (tmp_path / "no-such-camera.mp4").as_uri()  # the camera fails: health and beats pile up
    spec = RecorderGroupSpec("recorder-0", (RecorderSpec(PacketSpec("cam-a", missing), spool),), stall_s=10.0)
    host = GroupHost(spec, spool=spool, node_id="node-x", address="10.0.0.7", coalesce_at=4)
    try:
        piled = wait_for(lambda: host.drain(0) if host.drain(0).last >= 10 else None, 60, "ten messages kept")
        assert len(piled.messages) <= 5, f"coalesced past 4 messages: {len(piled.messages)} kept"
        reports = [r for r in unpacked(piled.messages) if isinstance(r, RecordingHealth)]
        assert reports and reports[-1].state is HealthState.OFFLINE, "the failing camera's latest health is kept"
        after = host.drain(piled.last)
        assert after.first > piled.last, "acknowledging the last message handed forgets all that was handed"
    finally:
        assert host.stop(15.0)
