"""Segment byte stores: the local filesystem (embedded default) and an S3 bucket (at scale).

Both implement :class:`vigie.domain.recording.SegmentStore` with the same promises:

- a key is a relative POSIX path (``cam-001/2026/11/28/20261128T101500Z.ts``); absolute keys, ``..``, empty or
  hidden components (starting with ``.``) and backslashes are refused with :class:`InvalidSegmentKeyError`;
- a reader never sees half an object: the file store writes to a hidden temporary name in the target directory,
  fsyncs it and renames it into place; S3 makes an object visible only once its upload has completed;
- ``keys`` yields every key under a string prefix, never a temporary file; the order is the store's own
  (the file store sorts lexicographically; SeaweedFS lists directory by directory);
- library errors leave as :class:`SegmentStoreError`, whose message never carries a secret.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn, TypeVar
from urllib.parse import urlsplit, urlunsplit

from vigie.storage.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

TEMP_PREFIX = ".vigie-tmp-"
"""Name prefix of the file store's temporary files (hidden; never a key, never listed)."""

_COPY_BUFFER = 1024 * 1024
_T = TypeVar("_T")


class SegmentStoreError(StorageError):
    """A segment store could not do what was asked (unreachable endpoint, denied, disk full...).

    The message names the store, the operation and the key, with credentials redacted.
    """


class InvalidSegmentKeyError(SegmentStoreError, ValueError):
    """A key is not a clean relative POSIX path (absolute, ``..``, backslash, empty or hidden component)."""


def check_key(key: str) -> str:
    """Return ``key`` when it is a valid segment key, else raise :class:`InvalidSegmentKeyError` naming it."""
    problem = _key_problem(key)
    if problem:
        raise InvalidSegmentKeyError(f"invalid segment key {key!r}: {problem}")
    return key


_KEY_RULES: tuple[tuple[Callable[[str], bool], str], ...] = (
    (lambda key: "\\" in key, "backslashes are not allowed (keys are POSIX paths)"),
    (lambda key: "\x00" in key, "NUL characters are not allowed"),
    (lambda key: key.startswith("/"), "a key must be relative, not absolute"),
    (lambda key: ".." in key.split("/"), "'..' components are not allowed"),
    (lambda key: any(part in {"", "."} for part in key.split("/")), "empty or '.' components are not allowed"),
    (lambda key: any(part.startswith(".") for part in key.split("/")), "components starting with '.' are reserved"),
)


def _key_problem(key: str) -> str | None:
    if not isinstance(key, str) or not key:
        return "a key must be a non-empty string"
    return next((message for broken, message in _KEY_RULES if broken(key)), None)


def _check_prefix(prefix: str) -> str:
    """A listing prefix is any start of a valid key: '' or 'cam-001/' or 'cam-001/2026/1'."""
    if prefix and _key_problem(prefix.removesuffix("/")):
        raise InvalidSegmentKeyError(f"invalid key prefix {prefix!r}: {_key_problem(prefix.removesuffix('/'))}")
    return prefix


class FileSegmentStore:
    """Segments as files under ``root``: the key is the relative path.

    ``put`` copies (the source stays the caller's); ``move_in`` renames a finished file into place without copying
    when it is on the same filesystem, which is how the recorder hands over segments it wrote next to the store.
    Durability: file data and the directory entry are fsynced before ``put``/``move_in`` return.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"FileSegmentStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def local_path(self, key: str) -> Path:
        """Where the bytes of ``key`` are (or would be); the file may not exist."""
        return self._path(key)

    def put(self, key: str, source: Path) -> int:
        """Copy ``source`` under ``key`` atomically (temporary file, fsync, rename); return its size."""
        target = self._path(key)
        try:
            with open(source, "rb") as src:
                return self._write_atomically(target, lambda dst: shutil.copyfileobj(src, dst, _COPY_BUFFER))
        except FileNotFoundError:
            raise
        except OSError as err:
            raise SegmentStoreError(f"cannot store {key!r} from {str(source)!r} in {self!r}: {err}") from err

    def move_in(self, key: str, source: Path) -> int:
        """Rename the finished file ``source`` to ``key`` (no copy); return its size.

        ``source`` must not be written any more. On another filesystem it is copied atomically, then removed.
        """
        target = self._path(key)
        try:
            with open(source, "rb") as src:
                os.fsync(src.fileno())
                size = os.fstat(src.fileno()).st_size
            _with_parent(target, lambda: os.replace(source, target))
        except FileNotFoundError:
            raise
        except OSError as err:
            if err.errno != errno.EXDEV:
                raise SegmentStoreError(f"cannot move {str(source)!r} to {key!r} in {self!r}: {err}") from err
            size = self.put(key, source)
            Path(source).unlink()
            return size
        _fsync_dir(target.parent)
        return size

    def _write_atomically(self, target: Path, write: Callable[[BinaryIO], object]) -> int:
        fd, tmp_name = _with_parent(target, lambda: tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent))
        try:
            with os.fdopen(fd, "wb") as dst:
                write(dst)
                dst.flush()
                os.fsync(dst.fileno())
                size = os.fstat(dst.fileno()).st_size
            os.chmod(tmp_name, 0o644)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)
        return size

    def open(self, key: str) -> BinaryIO:
        """Open the bytes of ``key`` for reading; ``FileNotFoundError`` when there are none."""
        path = self._path(key)
        if path.is_dir():
            raise FileNotFoundError(errno.ENOENT, f"no segment {key!r} in {self!r}", str(path))
        return open(path, "rb")

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove ``key`` (missing is fine) and the directories it leaves empty, up to the root."""
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except IsADirectoryError:
            return
        except OSError as err:
            raise SegmentStoreError(f"cannot delete {key!r} from {self!r}: {err}") from err
        parent = path.parent
        while parent != self.root:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key starting with ``prefix`` (a string prefix, like S3), in lexicographic order, lazily."""
        _check_prefix(prefix)
        base_dir, _, _ = prefix.rpartition("/")
        start = self.root / base_dir if base_dir else self.root
        start_key = f"{base_dir}/" if base_dir else ""
        yield from (key for key in self._walk(start, start_key) if key.startswith(prefix))

    def _walk(self, directory: Path, key_prefix: str) -> Iterator[str]:
        try:
            with os.scandir(directory) as it:
                entries = [(e.name + "/" if e.is_dir(follow_symlinks=False) else e.name, e) for e in it]
        except (FileNotFoundError, NotADirectoryError):
            return
        for name, entry in sorted(entries, key=lambda pair: pair[0]):
            if name.startswith("."):
                continue  # temporary files and anything hidden are never keys
            if name.endswith("/"):
                yield from self._walk(Path(entry.path), key_prefix + name)
            elif entry.is_file():
                yield key_prefix + name

    def free_bytes(self) -> int:
        """Free space on the store's filesystem, for the purge job."""
        return shutil.disk_usage(self.root).free

    def temporary_files(self) -> Iterator[Path]:
        """Temporary files left by a crash during ``put`` (never visible as keys); safe to delete when old."""
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith(TEMP_PREFIX):
                    yield Path(dirpath) / name


def _with_parent(target: Path, action: Callable[[], _T]) -> _T:
    """Run ``action`` after making ``target``'s directory, again if a concurrent ``delete`` pruned it meanwhile."""
    for attempt in range(3):
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            return action()
        except FileNotFoundError:
            if attempt == 2 or target.parent.exists():
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class S3SegmentStore:
    """Segments as objects of an S3 bucket (AWS, SeaweedFS, MinIO, Garage...), under an optional key prefix.

    Atomicity comes from S3 itself: an object (multipart uploads included) becomes visible only when complete, and
    a GET reads one whole version. ``boto3`` is imported when a store is built, so the embedded default never pays
    for it. Path-style addressing is used, which every S3-compatible server understands.
    """

    def __init__(  # noqa: PLR0917 - the positional order is the documented one (endpoint, bucket, keys)
        self,
        endpoint_url: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
        prefix: str = "",
        *,
        multipart_threshold: int = 64 * 1024 * 1024,
        multipart_chunksize: int = 16 * 1024 * 1024,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 60.0,
        max_attempts: int = 3,
        list_page_size: int = 1000,
    ) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        if prefix:
            _check_prefix(prefix)
            prefix = prefix if prefix.endswith("/") else prefix + "/"
        self.endpoint_url = _redact_url(endpoint_url)
        self.bucket = bucket
        self.region = region
        self.prefix = prefix
        self._hidden = [value for value in (secret_key, urlsplit(endpoint_url).password) if value]
        self._page_size = list_page_size
        self._client: S3Client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": max_attempts, "mode": "standard"},
                connect_timeout=connect_timeout_s,
                read_timeout=read_timeout_s,
            ),
        )
        self._transfer = TransferConfig(
            multipart_threshold=multipart_threshold, multipart_chunksize=multipart_chunksize, max_concurrency=4
        )

    def __repr__(self) -> str:
        return f"S3SegmentStore({self.endpoint_url!r}, bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _object(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _fail(self, action: str, key: str | None, err: Exception) -> NoReturn:
        """Raise a :class:`SegmentStoreError` for ``err``, secrets redacted, original chained."""
        where = f"s3 bucket {self.bucket!r} at {self.endpoint_url}"
        what = f"{action} {key!r}" if key is not None else action
        detail = f"{type(err).__name__}: {err}"
        for value in self._hidden:
            detail = detail.replace(value, "***")
        raise SegmentStoreError(f"cannot {what} in {where}: {detail}") from err

    def put(self, key: str, source: Path) -> int:
        """Upload ``source`` under ``key`` (multipart above the threshold); return its size."""
        name = self._object(key)
        size = Path(source).stat().st_size  # FileNotFoundError for a missing source, as for the file store
        try:
            self._client.upload_file(str(source), self.bucket, name, Config=self._transfer)
        except _boto_errors() as err:
            self._fail("store", key, err)
        return size

    def open(self, key: str) -> BinaryIO:
        """Stream the object ``key``; ``FileNotFoundError`` when there is none."""
        name = self._object(key)
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=name)
        except _boto_errors() as err:
            if _is_not_found(err):
                raise FileNotFoundError(errno.ENOENT, f"no segment {key!r} in {self!r}") from None
            self._fail("read", key, err)
        return io.BufferedReader(_S3Body(response["Body"], self, key), buffer_size=_COPY_BUFFER)

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=self._object(key))
        except _boto_errors() as err:
            if _is_not_found(err):
                return False
            self._fail("look up", key, err)
        return True

    def delete(self, key: str) -> None:
        """Remove ``key``; S3 already treats a missing key as deleted."""
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._object(key))
        except _boto_errors() as err:
            if _is_not_found(err):
                return
            self._fail("delete", key, err)

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key starting with ``prefix``, page after page, in the server's listing order."""
        _check_prefix(prefix)
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix, PaginationConfig={"PageSize": self._page_size}
        )
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"][len(self.prefix) :]
                    if _key_problem(key) is None:  # directory markers and foreign objects are not segments
                        yield key
        except _boto_errors() as err:
            self._fail("list keys under", prefix, err)

    def local_path(self, key: str) -> Path | None:
        """Always None: the bytes are not on this machine's filesystem."""
        check_key(key)
        return None

    def create_bucket_if_missing(self) -> bool:
        """Create the bucket unless it exists; return whether it was created."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
            return False
        except _boto_errors() as err:
            if not _is_not_found(err):
                self._fail("find the bucket", None, err)
        try:
            if self.region == "us-east-1":
                self._client.create_bucket(Bucket=self.bucket)
            else:
                self._client.create_bucket(
                    Bucket=self.bucket,
                    CreateBucketConfiguration={"LocationConstraint": self.region},  # type: ignore[typeddict-item]
                )
        except _boto_errors() as err:
            if _error_code(err) in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                return False
            self._fail("create the bucket", None, err)
        return True


class _S3Body(io.RawIOBase):
    """An S3 response body as a raw binary stream, with read errors wrapped and redacted."""

    def __init__(self, body: Any, store: S3SegmentStore, key: str) -> None:
        super().__init__()
        self._body = body
        self._store = store
        self._key = key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._body.read(len(view))
        except Exception as err:  # botocore and urllib3 read errors alike
            self._store._fail("read", self._key, err)
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def _boto_errors() -> tuple[type[Exception], ...]:
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError, Boto3Error)


def _error_code(err: Exception) -> str:
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _is_not_found(err: Exception) -> bool:
    return _error_code(err) in {"404", "NoSuchKey", "NoSuchBucket", "NotFound"}


def _redact_url(url: str) -> str:
    """The URL without user:password, for messages and repr."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))
