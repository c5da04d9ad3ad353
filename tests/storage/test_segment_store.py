"""The SegmentStore contract, the same for every store: the local filesystem and S3 (a real SeaweedFS)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from tests.storage.conftest_seaweedfs import s3_store_for, seaweedfs  # noqa: F401 - fixture

from vigie.domain.recording import SegmentStore
from vigie.storage import FileSegmentStore, InvalidSegmentKeyError, S3SegmentStore

KEY = "cam-001/2026/11/28/20261128T101500Z.ts"
BAD_KEYS = ["/cam-001/a.ts", "cam-001/../a.ts", "..", "cam-001\\a.ts", "", "cam-001//a.ts", "./a.ts", "cam/.hidden"]


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> SegmentStore:
    if request.param == "file":
        return FileSegmentStore(tmp_path / "store")
    return s3_store_for(request.getfixturevalue("seaweedfs"))


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def read(store: SegmentStore, key: str) -> bytes:
    with store.open(key) as stream:
        return stream.read()


def test_round_trip_returns_size_and_bytes(store: SegmentStore, tmp_path: Path) -> None:
    data = bytes(range(256)) * 1000
    assert store.put(KEY, write(tmp_path / "src.ts", data)) == len(data)
    assert store.exists(KEY)
    assert read(store, KEY) == data
    local = store.local_path(KEY)
    if isinstance(store, S3SegmentStore):
        assert local is None
    else:
        assert local is not None and local.read_bytes() == data


def test_source_is_left_in_place(store: SegmentStore, tmp_path: Path) -> None:
    source = write(tmp_path / "src.ts", b"abc")
    store.put(KEY, source)
    assert source.read_bytes() == b"abc"


def test_empty_file(store: SegmentStore, tmp_path: Path) -> None:
    assert store.put(KEY, write(tmp_path / "empty.ts", b"")) == 0
    assert store.exists(KEY)
    assert read(store, KEY) == b""


def test_overwrite_replaces_bytes(store: SegmentStore, tmp_path: Path) -> None:
    store.put(KEY, write(tmp_path / "a.ts", b"first version, longer"))
    assert store.put(KEY, write(tmp_path / "b.ts", b"second")) == 6
    assert read(store, KEY) == b"second"
    assert sorted(store.keys()) == [KEY]


def test_delete_and_missing_keys(store: SegmentStore, tmp_path: Path) -> None:
    store.delete("cam-404/never.ts")  # missing is not an error
    assert not store.exists("cam-404/never.ts")
    with pytest.raises(FileNotFoundError):
        store.open("cam-404/never.ts")
    store.put(KEY, write(tmp_path / "a.ts", b"x"))
    store.delete(KEY)
    store.delete(KEY)
    assert not store.exists(KEY)
    with pytest.raises(FileNotFoundError):
        store.open(KEY)
    assert sorted(store.keys()) == []


def test_a_directory_like_prefix_is_not_a_key(store: SegmentStore, tmp_path: Path) -> None:
    store.put(KEY, write(tmp_path / "a.ts", b"x"))
    assert not store.exists("cam-001/2026")
    with pytest.raises(FileNotFoundError):
        store.open("cam-001/2026")


def test_missing_source_is_file_not_found(store: SegmentStore, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        store.put(KEY, tmp_path / "nope.ts")
    assert not store.exists(KEY)


def test_keys_by_string_prefix(store: SegmentStore, tmp_path: Path) -> None:
    source = write(tmp_path / "a.ts", b"x")
    keys = [
        "cam-002/2026/11/28/b.ts",
        "cam-001/2026/11/28/b.ts",
        "cam-001/2026/11/28/a.ts",
        "cam-001/2026/11/29/a.ts",
        "cam-001-x/a.ts",
        "cam-0010/a.ts",
        "other.ts",
    ]
    for key in keys:
        store.put(key, source)
    # Order is the store's own (SeaweedFS lists directory by directory, not in S3's lexicographic order).
    assert sorted(store.keys()) == sorted(keys)
    assert sorted(store.keys("cam-001/")) == sorted(k for k in keys if k.startswith("cam-001/"))
    assert sorted(store.keys("cam-001")) == sorted(k for k in keys if k.startswith("cam-001"))
    assert sorted(store.keys("cam-001/2026/11/2")) == sorted(k for k in keys if k.startswith("cam-001/2026/11/2"))
    assert sorted(store.keys("cam-001/2026/11/28/a")) == ["cam-001/2026/11/28/a.ts"]
    assert sorted(store.keys("cam-009/")) == []
    assert sorted(store.keys("nothing")) == []


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_refused_naming_the_key(store: SegmentStore, tmp_path: Path, key: str) -> None:
    source = write(tmp_path / "a.ts", b"x")
    for action in (
        lambda: store.put(key, source),
        lambda: store.open(key),
        lambda: store.delete(key),
        lambda: store.exists(key),
        lambda: store.local_path(key),
    ):
        with pytest.raises(ValueError, match="invalid segment key") as caught:
            action()
        assert repr(key) in str(caught.value)
        assert isinstance(caught.value, InvalidSegmentKeyError)
    with pytest.raises(ValueError, match="invalid key prefix"):
        list(store.keys("../"))


def test_a_reader_never_sees_a_partial_object(store: SegmentStore, tmp_path: Path) -> None:
    size = 256 * 1024
    versions = [write(tmp_path / f"{n}.ts", bytes([n]) * size) for n in range(2)]
    store.put(KEY, versions[0])
    done = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for n in range(12):
                store.put(KEY, versions[n % 2])
        except BaseException as err:
            errors.append(err)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    reads = 0
    while not done.is_set() or reads == 0:
        data = read(store, KEY)
        reads += 1
        assert len(data) == size
        assert data in (bytes([0]) * size, bytes([1]) * size)
    thread.join()
    assert not errors
    assert sorted(store.keys()) == [KEY]  # no temporary name ever listed
