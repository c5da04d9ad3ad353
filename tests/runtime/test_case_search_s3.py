"""The forensic searches of a case read recordings kept in an S3 store (issue 22): the métropole keeps its footage
in an object store, so a search that read only local files would find nothing there. The real parking-lot clip is
cut into segments as the recorder writes them, stored in a real SeaweedFS and in a local folder; both searches
(objects with the real YOLOX-nano, motion in a region) find the same things through the store as from the files,
as ``vigie serve`` lists them (``recorded_files``)."""

# ruff: noqa: F811 - the seaweedfs and s3_store fixtures are imported, then named as arguments

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.analytics.onnx_models import DATA, MODELS, require
from tests.storage.conftest_seaweedfs import s3_store, seaweedfs  # noqa: F401 - fixtures
from tests.support.clip_segments import cut_segments
from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig
from vigie.analytics.forensics.motion_region import MotionSearchParams, SegmentUnreadableError, search_motion
from vigie.analytics.forensics.object_search import CameraLayout, FootageObjectSearch, ObjectSearchParams
from vigie.domain.case_objects import Direction
from vigie.domain.geometry import Box
from vigie.domain.recording import Segment, SegmentState
from vigie.runtime.assembly.case_search import recorded_files
from vigie.storage import S3SegmentStore, create_engine_for, migrate
from vigie.storage.recording import SqlSegmentIndex
from vigie.storage.segment_store import FileSegmentStore

T0 = datetime(2026, 3, 14, 14, 0, tzinfo=UTC)  # the footage's own time; nothing compares it with today
CLIP = DATA / "video" / "car-detection.mp4"
CLIP_S = 21.0
CAR_PATH = Box(0.35, 0.25, 0.35, 0.45)
"""Where the red car drives up the picture between 14 s and 20 s of the clip."""


def stored(
    store: FileSegmentStore | S3SegmentStore, cut: list[Path], starts: list[datetime], database: Path
) -> SqlSegmentIndex:
    """The segments put in ``store`` and indexed in a fresh SQLite database."""
    engine = create_engine_for(f"sqlite:///{database}")
    migrate(engine)
    index = SqlSegmentIndex(engine)
    ends = [*starts[1:], T0 + timedelta(seconds=CLIP_S)]
    for path, start, end in zip(cut, starts, ends, strict=True):
        key = f"vil-1/{start:%Y/%m/%d}/{start:%Y%m%dT%H%M%S.%fZ}.ts"
        size = store.put(key, path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        index.add(Segment("vil-1", key, start, end, size, digest, SegmentState.COMPLETE))
    return index


@pytest.fixture
def stores(
    s3_store: S3SegmentStore, tmp_path: Path
) -> tuple[tuple[SqlSegmentIndex, S3SegmentStore], tuple[SqlSegmentIndex, FileSegmentStore]]:
    (tmp_path / "cut").mkdir()
    cut = cut_segments(require(CLIP), tmp_path / "cut", T0, seconds=4.0, limit=CLIP_S)
    paths, starts = [f.path for f in cut], [f.start for f in cut]
    local = FileSegmentStore(tmp_path / "local")
    remote = stored(s3_store, paths, starts, tmp_path / "s3.db")
    return (remote, s3_store), (stored(local, paths, starts, tmp_path / "local.db"), local)


def test_objects_and_motion_are_found_in_s3_as_in_local_files(
    stores: tuple[tuple[SqlSegmentIndex, S3SegmentStore], tuple[SqlSegmentIndex, FileSegmentStore]],
) -> None:
    (s3_index, s3), (local_index, local) = stores
    start, end = T0, T0 + timedelta(seconds=CLIP_S)
    remote_files = recorded_files(s3_index, s3)("vil-1", start, end)
    local_files = recorded_files(local_index, local)("vil-1", start, end)
    assert len(remote_files) == len(local_files) >= 4
    assert all(f.fetch is not None for f in remote_files) and all(f.fetch is None for f in local_files)

    detector = OnnxDetector(OnnxDetectorConfig(model_path=require(MODELS / "yolox_nano.onnx"), format="yolox"))
    layout = {"vil-1": CameraLayout(heading=0.0)}  # the camera looks north: up the picture is north
    params = ObjectSearchParams(fps=5.0, batch=8)
    window = (T0 + timedelta(seconds=14), T0 + timedelta(seconds=20))
    through_s3 = FootageObjectSearch(recorded_files(s3_index, s3), lambda _c: detector, layout, params)
    from_files = FootageObjectSearch(recorded_files(local_index, local), lambda _c: detector, layout, params)
    remote = through_s3.search(1, "vil-1", *window)
    assert [o for o in remote if o.colour == "red" and o.direction is Direction.NORTH], remote  # the red car
    assert remote == from_files.search(1, "vil-1", *window)
    car = next(o for o in remote if o.colour == "red")
    picture = through_s3.thumbnail("vil-1", car.thumbnail_at, car.box)
    assert picture[:2] == b"\xff\xd8" and picture == from_files.thumbnail("vil-1", car.thumbnail_at, car.box)

    motion = search_motion(remote_files, CAR_PATH, MotionSearchParams(step_seconds=0.5))
    assert motion.spans == search_motion(local_files, CAR_PATH, MotionSearchParams(step_seconds=0.5)).spans
    assert any(s.start <= window[1] and s.end >= window[0] for s in motion.spans), motion.spans
    assert motion.media_seconds > CLIP_S - 2


def test_a_segment_gone_from_the_store_is_named(
    stores: tuple[tuple[SqlSegmentIndex, S3SegmentStore], tuple[SqlSegmentIndex, FileSegmentStore]],
) -> None:
    (s3_index, s3), _ = stores
    files = recorded_files(s3_index, s3)("vil-1", T0, T0 + timedelta(seconds=CLIP_S))
    s3.delete(str(files[1].path))  # purged behind the index's back
    with pytest.raises(SegmentUnreadableError, match=str(files[1].path)):
        search_motion(files, CAR_PATH)
