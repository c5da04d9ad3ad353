"""What only the filesystem store promises: fsync before rename, move without copy, no leftovers, pruning."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from vigie.storage import FileSegmentStore, SegmentStoreError
from vigie.storage import segment_store as module

KEY = "cam-001/2026/11/28/20261128T101500Z.ts"


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_data_is_fsynced_before_the_key_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileSegmentStore(tmp_path / "store")
    store.put(KEY, write(tmp_path / "old.ts", b"old"))
    seen: list[bytes] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        seen.append(store.local_path(KEY).read_bytes())
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    store.put(KEY, write(tmp_path / "new.ts", b"new"))
    assert seen[0] == b"old"  # the file fsync happens while readers still see the previous version
    assert store.local_path(KEY).read_bytes() == b"new"


def test_a_failed_copy_leaves_the_old_version_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileSegmentStore(tmp_path / "store")
    store.put(KEY, write(tmp_path / "old.ts", b"old"))

    def broken_copy(src: object, dst: object, length: int = 0) -> None:
        dst.write(b"half")  # type: ignore[attr-defined]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copyfileobj", broken_copy)
    with pytest.raises(SegmentStoreError, match="No space left"):
        store.put(KEY, write(tmp_path / "new.ts", b"new"))
    assert store.local_path(KEY).read_bytes() == b"old"
    assert list(store.temporary_files()) == []


def test_temporary_files_are_never_keys(tmp_path: Path) -> None:
    store = FileSegmentStore(tmp_path / "store")
    store.put(KEY, write(tmp_path / "a.ts", b"x"))
    leftover = write(store.local_path(KEY).parent / f"{module.TEMP_PREFIX}crash", b"half")
    assert list(store.keys()) == [KEY]
    assert list(store.temporary_files()) == [leftover]


def test_move_in_renames_without_copying(tmp_path: Path) -> None:
    store = FileSegmentStore(tmp_path / "store")
    source = write(tmp_path / "store-spool" / "seg.ts", b"segment bytes")
    inode = source.stat().st_ino
    assert store.move_in(KEY, source) == 13
    assert not source.exists()
    assert store.local_path(KEY).stat().st_ino == inode
    assert store.local_path(KEY).read_bytes() == b"segment bytes"


def test_move_in_across_filesystems_copies_then_removes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileSegmentStore(tmp_path / "store")
    source = write(tmp_path / "elsewhere" / "seg.ts", b"segment bytes")
    real_replace = os.replace

    def cross_device(src: str | Path, dst: str | Path) -> None:
        if Path(src) == source:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", cross_device)
    assert store.move_in(KEY, source) == 13
    assert not source.exists()
    assert store.local_path(KEY).read_bytes() == b"segment bytes"


def test_move_in_missing_source(tmp_path: Path) -> None:
    store = FileSegmentStore(tmp_path / "store")
    with pytest.raises(FileNotFoundError):
        store.move_in(KEY, tmp_path / "nope.ts")


def test_delete_prunes_empty_directories_but_not_the_root(tmp_path: Path) -> None:
    store = FileSegmentStore(tmp_path / "store")
    source = write(tmp_path / "a.ts", b"x")
    store.put(KEY, source)
    store.put("cam-001/2026/11/29/a.ts", source)
    store.delete(KEY)
    assert not (store.root / "cam-001/2026/11/28").exists()
    assert (store.root / "cam-001/2026/11/29").is_dir()
    store.delete("cam-001/2026/11/29/a.ts")
    assert store.root.is_dir()
    assert list(store.root.iterdir()) == []


def test_put_recreates_a_directory_pruned_meanwhile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileSegmentStore(tmp_path / "store")
    target_dir = store.local_path(KEY).parent
    real_mkstemp = tempfile.mkstemp
    calls = 0

    def racing_mkstemp(prefix: str, dir: Path) -> tuple[int, str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            shutil.rmtree(store.root / "cam-001")  # a concurrent delete pruned the fresh directory
        return real_mkstemp(prefix=prefix, dir=dir)

    monkeypatch.setattr(tempfile, "mkstemp", racing_mkstemp)
    store.put(KEY, write(tmp_path / "a.ts", b"x"))
    assert calls == 2
    assert target_dir.is_dir() and store.exists(KEY)


def test_free_bytes_and_local_path(tmp_path: Path) -> None:
    store = FileSegmentStore(tmp_path / "store")
    assert store.free_bytes() > 0
    assert store.local_path(KEY) == tmp_path / "store" / KEY
    assert repr(store) == f"FileSegmentStore({str(tmp_path / 'store')!r})"


def test_keys_are_listed_in_lexicographic_order(tmp_path: Path) -> None:
    store = FileSegmentStore(tmp_path / "store")
    source = write(tmp_path / "a.ts", b"x")
    keys = ["cam-001/2026/b.ts", "cam-001/2026/a.ts", "cam-001-x/a.ts", "cam-0010/a.ts", "cam-001/2025/z.ts"]
    for key in keys:
        store.put(key, source)
    assert list(store.keys()) == sorted(keys)  # '-' < '/' < '0': not the order of a naive directory walk
