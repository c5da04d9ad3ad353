"""What only the S3 store promises, against a real SeaweedFS: errors without secrets, multipart, paging, buckets."""

# ruff: noqa: F811 - the seaweedfs and s3_store fixtures are imported, then named as arguments

from __future__ import annotations

import io
import socket
import uuid
from pathlib import Path

import pytest
from tests.storage.conftest_seaweedfs import s3_store, s3_store_for, seaweedfs  # noqa: F401 - fixtures
from tests.storage.seaweedfs import SeaweedS3

from vigie.storage import S3SegmentStore, SegmentStoreError, StorageError

KEY = "cam-001/2026/11/28/20261128T101500Z.ts"
SECRET = "s3cr3t-Never-Shown-42"
URL_PASSWORD = "url-Password-Never-Shown"


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_endpoint_is_a_store_error_without_the_secret(tmp_path: Path) -> None:
    store = S3SegmentStore(
        f"http://user:{URL_PASSWORD}@127.0.0.1:{closed_port()}", "bucket", "access", SECRET, max_attempts=1
    )
    assert SECRET not in repr(store) and URL_PASSWORD not in repr(store)
    for action in (
        lambda: store.put(KEY, write(tmp_path / "a.ts", b"x")),
        lambda: store.exists(KEY),
        lambda: store.open(KEY),
        lambda: store.delete(KEY),
        lambda: list(store.keys()),
        store.create_bucket_if_missing,
    ):
        with pytest.raises(SegmentStoreError) as caught:
            action()
        assert isinstance(caught.value, StorageError)
        assert SECRET not in str(caught.value) and URL_PASSWORD not in str(caught.value)
        assert "bucket 'bucket'" in str(caught.value)


def test_wrong_credentials_are_a_store_error_without_the_secret(seaweedfs: SeaweedS3, tmp_path: Path) -> None:
    store = S3SegmentStore(seaweedfs.endpoint_url, "vigie-tests", seaweedfs.access_key, SECRET)
    with pytest.raises(SegmentStoreError, match="SignatureDoesNotMatch") as caught:
        store.put(KEY, write(tmp_path / "a.ts", b"x"))
    assert SECRET not in str(caught.value)
    with pytest.raises(SegmentStoreError) as caught:
        store.exists(KEY)
    assert SECRET not in str(caught.value)


def test_a_secret_echoed_by_the_library_is_redacted() -> None:
    store = S3SegmentStore("http://127.0.0.1:1", "bucket", "access", SECRET)
    with pytest.raises(SegmentStoreError) as caught:
        store._fail("read", KEY, RuntimeError(f"signature computed with {SECRET}"))
    assert SECRET not in str(caught.value)
    assert "***" in str(caught.value)


def test_multipart_upload_round_trip(seaweedfs: SeaweedS3, tmp_path: Path) -> None:
    mib = 1024 * 1024
    store = s3_store_for(seaweedfs, multipart_threshold=5 * mib, multipart_chunksize=5 * mib)
    data = bytes(range(256)) * (6 * mib // 256) + b"tail"
    assert store.put(KEY, write(tmp_path / "big.ts", data)) == len(data)
    with store.open(KEY) as stream:
        assert stream.read(10) == data[:10]
        assert stream.read() == data[10:]


def test_listing_follows_pages(seaweedfs: SeaweedS3, tmp_path: Path) -> None:
    store = s3_store_for(seaweedfs, list_page_size=2)
    source = write(tmp_path / "a.ts", b"x")
    keys = [f"cam-001/2026/11/28/{n:02}.ts" for n in range(5)]
    for key in keys:
        store.put(key, source)
    assert sorted(store.keys("cam-001/")) == keys


def test_prefix_isolates_stores_on_one_bucket(seaweedfs: SeaweedS3, tmp_path: Path) -> None:
    first, second = s3_store_for(seaweedfs), s3_store_for(seaweedfs)
    first.put(KEY, write(tmp_path / "a.ts", b"x"))
    assert not second.exists(KEY)
    assert list(second.keys()) == []
    assert first.prefix.endswith("/")


def test_create_bucket_if_missing(seaweedfs: SeaweedS3, tmp_path: Path) -> None:
    bucket = f"vigie-{uuid.uuid4().hex[:12]}"
    store = S3SegmentStore(seaweedfs.endpoint_url, bucket, seaweedfs.access_key, seaweedfs.secret_key)
    with pytest.raises(SegmentStoreError, match="NoSuchBucket"):
        store.put(KEY, write(tmp_path / "a.ts", b"x"))
    assert store.create_bucket_if_missing() is True
    assert store.create_bucket_if_missing() is False
    store.put(KEY, write(tmp_path / "a.ts", b"x"))
    assert list(store.keys()) == [KEY]


def test_open_stream_is_a_closable_binary_file(s3_store: S3SegmentStore, tmp_path: Path) -> None:
    s3_store.put(KEY, write(tmp_path / "a.ts", b"0123456789"))
    stream = s3_store.open(KEY)
    assert isinstance(stream, io.BufferedReader)
    assert stream.readable()
    assert stream.read(4) == b"0123"
    chunk = bytearray(3)
    assert stream.readinto(chunk) == 3 and bytes(chunk) == b"456"
    stream.close()
    assert stream.closed
