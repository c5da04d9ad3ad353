"""A camera group as a cluster node hosts it (:class:`vigie.cluster.host.GroupHost`), without Ray: a real recorder
on a replayed file, its segments uploaded to a real SeaweedFS by the node before they are reported, messages kept
and handed over again until the control plane acknowledges them, the spool copy deleted only then."""

# ruff: noqa: F811 - the seaweedfs and s3_store fixtures are imported, then named as arguments

from __future__ import annotations

from pathlib import Path

from tests.storage.conftest_seaweedfs import s3_store, seaweedfs  # noqa: F401 - fixtures
from tests.support.waiting import wait_for
from vigie.cluster.host import GroupHost
from vigie.domain.recording import Segment
from vigie.ingest.packets import PacketSpec
from vigie.runtime.workers.group import unpacked
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
