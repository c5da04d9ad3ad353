"""Recording into S3: the spool in front of the bucket, against a real SeaweedFS (tests/storage/seaweedfs.py).

Segments reported to the sink are uploaded by the uploader's threads, indexed by the sink at its next round, and
leave the spool; an upload failure (the bucket is missing) keeps the file and indexes nothing, and the retry
uploads it once the bucket exists; the service's start-up reconciliation counts objects in the bucket as present;
playback and export read from S3.
"""

# ruff: noqa: F811 - the seaweedfs and s3_store fixtures are imported, then named as arguments

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine

from tests.recording.export_samples import CAMERAS, ListAuditSink, decoded_levels, record
from tests.storage.conftest_seaweedfs import BUCKET, s3_store, seaweedfs  # noqa: F401 - fixtures
from tests.storage.seaweedfs import SeaweedS3
from tests.support.viewers import signed_in_viewer
from tests.support.waiting import wait_for
from vigie.domain.recording import Segment, SegmentState
from vigie.events.aggregation import EventAggregator
from vigie.governance.audit import AuditKeyring
from vigie.recording.export import ExportRequest, VideoExporter
from vigie.recording.upload import SegmentUploader
from vigie.runtime.workers.sink import WorkerMessageSink
from vigie.services.playback import PlaybackService
from vigie.storage import S3SegmentStore, SqlSegmentIndex, create_engine_for, migrate
from vigie.storage.repositories import SqlCameraStatusRepo, SqlEventRepo

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(engine)
    return engine


def sink_for(engine: Engine, uploader: SegmentUploader) -> WorkerMessageSink:
    return WorkerMessageSink(
        EventAggregator(SqlEventRepo(engine)),
        SqlCameraStatusRepo(engine),
        ListAuditSink(),
        segments=SqlSegmentIndex(engine),
        uploader=uploader,
    )


def spool_files(spool: Path) -> list[Path]:
    return [p for p in spool.rglob("*") if p.is_file()]


def test_reported_segments_are_uploaded_then_indexed_and_leave_the_spool_then_play_and_export(
    tmp_path: Path, engine: Engine, s3_store: S3SegmentStore
) -> None:
    spool = tmp_path / "spool"
    segments = record(spool, "cam-001", [(T0, 6)])
    index = SqlSegmentIndex(engine)
    sink = sink_for(engine, SegmentUploader(spool, s3_store, index))
    for segment in segments:
        sink(segment)
    wait_for(lambda: (sink.tick(), spool_files(spool) == [])[1], 30, "uploaded, indexed at a round, then deleted")
    assert sorted(s3_store.keys("cam-001/")) == [s.key for s in segments]
    for segment in segments:
        row = index.by_key(segment.key)
        assert row is not None and row.sha256 == segment.sha256
        with s3_store.open(segment.key) as stream:
            assert hashlib.sha256(stream.read()).hexdigest() == segment.sha256

    playback = PlaybackService(index, s3_store, ListAuditSink(), ["cam-001"], lambda: T0)
    viewer = signed_in_viewer(["cam-001"])
    text = playback.playlist("cam-001", T0, T0 + timedelta(seconds=6), requested_by=viewer, segment_base="/s").text
    urls = [line for line in text.splitlines() if line.startswith("/s/")]
    assert len(urls) == len(segments)
    for url, segment in zip(urls, segments, strict=True):
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        found = playback.segment(
            int(Path(parts.path).stem), query["c"], query["k"], int(query["e"]), query["s"], viewer=viewer
        )
        assert found.path is None  # no local file: streamed from the bucket
        with found.open() as stream:
            assert hashlib.sha256(stream.read()).hexdigest() == segment.sha256

    signer = AuditKeyring(tmp_path / "keys").current_signer()
    request = ExportRequest(("cam-001",), T0 + timedelta(seconds=1), T0 + timedelta(seconds=5), "agent", "vol", "PV 1")
    result = VideoExporter(index, s3_store, signer, "0.1.0").export(request, CAMERAS, tmp_path / "out", T0)
    assert len(result.files) == 1
    assert len(decoded_levels(tmp_path / "out" / result.files[0].name)) == 40


def test_a_failed_upload_keeps_the_file_indexes_nothing_and_the_retry_uploads_it(
    tmp_path: Path, engine: Engine, seaweedfs: SeaweedS3
) -> None:
    spool = tmp_path / "spool"
    segments = record(spool, "cam-001", [(T0, 4)])
    bucket = f"vigie-later-{uuid.uuid4().hex[:8]}"
    store = S3SegmentStore(seaweedfs.endpoint_url, bucket, seaweedfs.access_key, seaweedfs.secret_key)
    index = SqlSegmentIndex(engine)
    uploader = SegmentUploader(spool, store, index)
    sink = sink_for(engine, uploader)

    started = time.monotonic()
    sink(segments[0])  # the bucket does not exist: the upload (on the uploader's threads) fails
    sink(segments[1])
    assert time.monotonic() - started < 0.05, "the writer thread never waits for the store"
    assert uploader.wait(), "the uploads were tried"
    sink.tick()  # the failure collected: nothing to index
    assert len(spool_files(spool)) == 2
    assert index.by_key(segments[0].key) is None and index.by_key(segments[1].key) is None
    assert set(uploader.pending) == {s.key for s in segments}
    assert uploader.flush() == 0  # still failing: nothing lost, nothing indexed
    assert len(spool_files(spool)) == 2 and index.by_key(segments[0].key) is None

    store.create_bucket_if_missing()  # fixed
    assert uploader.flush() == 2
    assert spool_files(spool) == [] and uploader.pending == {}
    assert sorted(store.keys()) == [s.key for s in segments]
    assert [index.by_key(s.key) is not None for s in segments] == [True, True]

    # a finished file nobody reported (lost message): uploaded once old enough, read back to be indexed
    stray = record(spool, "cam-002", [(T0, 2)])[0]
    assert uploader.flush() == 0  # too recent: its recorder's message may be on the way
    assert uploader.flush(grace_s=0) == 1
    row = index.by_key(stray.key)
    assert row is not None and row.sha256 == stray.sha256 and store.exists(stray.key)
    assert spool_files(spool) == []


def test_the_service_reconciles_with_the_bucket_and_uploads_the_spool_at_start(
    tmp_path: Path, seaweedfs: SeaweedS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.configs import camera_yaml, config_yaml
    from vigie.config import load_config_text
    from vigie.runtime.assembly.service import VigieService

    prefix = f"t-{uuid.uuid4().hex[:12]}/"
    monkeypatch.setenv("TEST_S3_ACCESS", seaweedfs.access_key)
    monkeypatch.setenv("TEST_S3_SECRET", seaweedfs.secret_key)
    segments_yaml = (
        f"  segments:\n    kind: s3\n    endpoint_url: {seaweedfs.endpoint_url}\n    bucket: {BUCKET}\n"
        f"    prefix: {prefix}\n    access_key_env: TEST_S3_ACCESS\n    secret_key_env: TEST_S3_SECRET\n"
    )
    text = config_yaml(tmp_path, camera_yaml("cam-1", "rtsp://127.0.0.1:1/x")).replace("api:", segments_yaml + "api:")
    service = VigieService(load_config_text(text))
    assert isinstance(service.store, S3SegmentStore) and service.store.prefix == prefix
    spool = tmp_path / "data" / "segments"
    assert service.segments_root == spool
    uploaded, stray = record(spool, "cam-1", [(T0, 4)])
    service.store.put(uploaded.key, spool / uploaded.key)  # uploaded and indexed before a restart
    (spool / uploaded.key).unlink()
    kept = service.segments.add(uploaded)

    service.reconcile_recordings()

    assert service.segments.by_key(uploaded.key) == kept  # in the bucket: not "missing"
    row = service.segments.by_key(stray.key)  # left in the spool by a crash: uploaded and indexed
    assert row is not None and row.state is SegmentState.COMPLETE and row.sha256 == stray.sha256
    assert sorted(service.store.keys("cam-1/")) == [uploaded.key, stray.key]
    assert spool_files(spool) == []


def test_file_store_keeps_indexing_in_place(tmp_path: Path, engine: Engine) -> None:
    spool = tmp_path / "segments"
    segment: Segment = record(spool, "cam-001", [(T0, 2)])[0]
    sink = WorkerMessageSink(
        EventAggregator(SqlEventRepo(engine)),
        SqlCameraStatusRepo(engine),
        ListAuditSink(),
        segments=SqlSegmentIndex(engine),
    )
    sink(segment)
    sink.tick()  # the supervisor's round writes the buffered row
    assert SqlSegmentIndex(engine).by_key(segment.key) is not None and (spool / segment.key).is_file()
