"""The single file an export leaves the server as: a zip of the export directory, and how one is checked.

A package holds one folder (named after the package) with exactly what ``vigie export create`` writes: the MP4
files, ``manifest.json`` and ``manifest.sig``. ``vigie export verify PACKAGE.zip --pubkey KEYS`` checks it offline
as it is (or unzipped anywhere, ``vigie export verify FOLDER``), with the very checks the server runs. Members
are stored, not compressed: H.264 does not compress further, and storing keeps packaging as fast as a copy.

Checking a package treats it as untrusted input and never unpacks it: each member is read as a stream and hashed
while it is read (nothing is written anywhere, so a package cannot fill a disk), only plain file names in one
folder, at most :data:`MAX_MEMBERS` members, every member's CRC checked. Expansion is bounded before anything is
inflated, on the sizes the archive declares, and again on the bytes actually inflated (a header can lie): at most
:data:`MAX_RATIO` bytes per compressed byte, per member and over the whole package, and at most the caller's
``max_expanded_bytes`` in all. A package beyond those bounds is refused (:class:`PackageRefused`, a 422 at the API)
within a bounded amount of work; what cannot be read is reported by member name, never by a path of the machine
that checks.
"""

from __future__ import annotations

import copy
import hashlib
import os
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from vigie.recording.export import ExportRefused, sha256_and_size
from vigie.recording.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    ExportContents,
    FileDigest,
    verify_export_contents,
)

MAX_MEMBERS: Final = 10_000
"""More members than this is not a Vigie export (one MP4 per camera, a manifest and its signature)."""
MAX_RATIO: Final = 100
"""Most bytes one compressed byte may inflate to, per member and over the whole package. A Vigie package is stored
(1:1); one zipped again with deflate by whoever carried it gains a few percent on MP4 and about 10:1 on the
manifest. A zip bomb is 1000:1 and more."""
RATIO_SLACK: Final = 64 * 1024
"""Bytes any member (and the whole package) may inflate to beyond the ratio: a tiny member compresses better."""
MAX_MANIFEST_BYTES: Final = 64 * 2**20
"""Largest ``manifest.json`` (and ``manifest.sig``) read: they are kept in memory to be parsed. A day of 2-second
segments of one camera makes a manifest of about 13 MB."""
_CHUNK: Final = 1 << 20
_READ_METHODS: Final = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})


@dataclass(frozen=True, slots=True)
class PackageFile:
    """A package as written: where it is, its file name, SHA-256 and size."""

    path: Path
    name: str
    sha256: str
    bytes: int


@dataclass(frozen=True, slots=True)
class PackageIssue:
    """One thing wrong with a package; ``kind`` is ``package`` (the archive itself) or a kind of
    :class:`vigie.recording.manifest.ExportIssue` (``manifest``, ``signature``, ``missing``, ``extra``, ``size``,
    ``sha256``); ``name`` is the file concerned."""

    kind: str
    name: str
    message: str


@dataclass(frozen=True, slots=True)
class PackageVerification:
    """The verdict on a package: ``ok`` only when there is no issue at all."""

    ok: bool
    package_sha256: str | None
    package_bytes: int
    expected_sha256: str | None
    """The package's SHA-256 recorded when the server made it (for an export of this server), else None."""
    manifest_sha256: str | None
    key_id: str | None
    files_checked: int
    issues: tuple[PackageIssue, ...]


def write_package(directory: Path, path: Path) -> PackageFile:
    """Zip the files of ``directory`` into ``path`` under one folder named like ``path`` (without ``.zip``).

    Written beside ``path`` and renamed at the end, so a package either is complete or does not exist."""
    folder = path.name.removesuffix(".zip")
    partial = path.with_name(f".{path.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
            for file in sorted(p for p in directory.iterdir() if p.is_file()):
                archive.write(file, f"{folder}/{file.name}")
        digest, size = sha256_of(partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return PackageFile(path, path.name, digest, size)


def sha256_of(path: Path) -> tuple[str, int]:
    with path.open("rb") as file:
        return sha256_and_size(file)


def sha256_of_stream(source: IO[bytes]) -> tuple[str, int]:
    """SHA-256 and size of a seekable stream, read from its start; left at its start."""
    source.seek(0)
    result = sha256_and_size(source)
    source.seek(0)
    return result


class NotAPackageError(ValueError):
    """The file is not a zip archive at all, or not one an export can be: nothing in it can be checked."""


class PackageRefused(ExportRefused):
    """The package would inflate beyond the bounds (a zip bomb, or sizes that lie): it is not checked at all. The
    message says which member and which bound, never a path of the server."""


def verify_package(
    source: Path | IO[bytes],
    public_keys: Mapping[str, str],
    *,
    max_expanded_bytes: int | None = None,
    expected: str | None = None,
    name: str = "package",
) -> PackageVerification:
    """Check a package as ``vigie export verify`` checks an export folder (:func:`verify_export_contents`), after
    its own SHA-256 against ``expected`` when given; its members are read as streams, never written anywhere.

    Raise :class:`PackageRefused` when the package would inflate beyond :data:`MAX_RATIO` or
    ``max_expanded_bytes``; everything else wrong is an issue of the verdict."""
    try:
        digest, size = sha256_of(source) if isinstance(source, Path) else sha256_of_stream(source)
    except OSError as err:
        issue = PackageIssue("missing", name, f"{name} cannot be read: {_reason(err)}")
        return PackageVerification(False, None, 0, expected, None, None, 0, (issue,))
    issues: list[PackageIssue] = []
    if expected is not None and digest != expected:
        issues.append(PackageIssue("package", name, f"{name} no longer has the SHA-256 it had when made ({expected})"))
    try:
        contents, unreadable = read_package(source, size, max_expanded_bytes)
    except NotAPackageError as err:
        issues.append(PackageIssue("package", name, str(err)))
        return PackageVerification(False, digest, size, expected, None, None, 0, tuple(issues))
    found = verify_export_contents(contents, public_keys)
    issues += unreadable
    issues += [PackageIssue(i.kind, i.name, i.message) for i in found.issues]
    return PackageVerification(
        ok=not issues,
        package_sha256=digest,
        package_bytes=size,
        expected_sha256=expected,
        manifest_sha256=found.manifest_sha256,
        key_id=found.key_id,
        files_checked=found.files_checked,
        issues=tuple(issues),
    )


def read_package(
    source: Path | IO[bytes], package_bytes: int, max_expanded_bytes: int | None = None
) -> tuple[ExportContents, list[PackageIssue]]:
    """Read the export folder of a package (``package_bytes`` long) as a stream: the manifest and its signature
    in memory, every other member hashed while it is inflated. Return it with what was wrong with its members;
    raise :class:`NotAPackageError` when there is nothing to read, :class:`PackageRefused` beyond the bounds."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise NotAPackageError("this is not a zip archive (or it is truncated): not an export package") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > MAX_MEMBERS:
            raise NotAPackageError(f"the archive holds {len(members)} files: not an export package")
        allowed = MAX_RATIO * package_bytes + RATIO_SLACK
        if max_expanded_bytes is not None:
            allowed = min(allowed, max_expanded_bytes)
        _check_declared(members, package_bytes, allowed)
        return _read_members(archive, members, _Expansion(allowed))


def _check_declared(members: list[zipfile.ZipInfo], package_bytes: int, allowed: int) -> None:
    """Refuse on the sizes the archive declares, before inflating a byte."""
    for member in members:
        if member.file_size > MAX_RATIO * member.compress_size + RATIO_SLACK:
            ratio = member.file_size // max(member.compress_size, 1)
            raise PackageRefused(
                f"refused: {member.filename} would inflate {member.compress_size} bytes to {member.file_size} "
                f"({ratio}:1, at most {MAX_RATIO}:1 is accepted): a zip bomb, not an export package"
            )
        if _folder_name(member.filename) in {MANIFEST_NAME, SIGNATURE_NAME} and member.file_size > MAX_MANIFEST_BYTES:
            raise PackageRefused(
                f"refused: {member.filename} declares {member.file_size} bytes, more than any export manifest "
                f"({MAX_MANIFEST_BYTES} bytes)"
            )
    declared = sum(m.file_size for m in members)
    if declared > allowed:
        raise PackageRefused(
            f"refused: the package would inflate {package_bytes} bytes to {declared} (at most {allowed} are "
            f"read, {MAX_RATIO}:1): not an export package"
        )
    if sum(m.compress_size for m in members) > package_bytes:
        raise PackageRefused(
            "refused: the members of the package declare more compressed data than the package holds (members "
            "that overlap: a zip bomb, not an export package)"
        )


class _Expansion:
    """The bytes the whole package may still inflate to, counted on what actually comes out."""

    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self.inflated = 0

    def spend(self, count: int) -> None:
        self.inflated += count
        if self.inflated > self.allowed:
            raise PackageRefused(
                f"refused: the package inflates to more than {self.allowed} bytes ({MAX_RATIO}:1 at most), more "
                "than its members declare: a forged archive, not an export package"
            )


def _read_members(
    archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], expansion: _Expansion
) -> tuple[ExportContents, list[PackageIssue]]:
    issues: list[PackageIssue] = []
    prefix = _common_folder([m.filename for m in members])
    kept: dict[str, bytes] = {}
    files: dict[str, FileDigest | None] = {}
    for member in members:
        name = member.filename.removeprefix(prefix)
        if not _plain_name(name):
            issues.append(PackageIssue("extra", member.filename, f"{member.filename} is not part of an export folder"))
            continue
        if name in kept or name in files:
            issues.append(PackageIssue("package", name, f"{name} is in the package twice"))
            continue
        if member.compress_type not in _READ_METHODS:
            # bzip2 and LZMA inflate a whole chunk at once, with no bound on what comes out: never read.
            issues.append(PackageIssue("package", name, f"{name} is compressed in a way export packages never are"))
            continue
        keep = name in {MANIFEST_NAME, SIGNATURE_NAME}
        try:
            digest, data = _read_member(archive, member, expansion, keep=keep)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError) as err:
            # BadZipFile: wrong CRC (a byte changed inside the archive); NotImplementedError: unknown compression;
            # RuntimeError: encrypted member. Reported by name; the verifier then also finds the file missing.
            issues.append(PackageIssue("package", name, f"{name} cannot be read from the package: {_reason(err)}"))
            continue
        if keep:
            kept[name] = data
        else:
            files[name] = digest
    return ExportContents(kept.get(MANIFEST_NAME), kept.get(SIGNATURE_NAME), files), issues


def _read_member(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, expansion: _Expansion, *, keep: bool
) -> tuple[FileDigest, bytes]:
    """Inflate one member once, hashing it (and keeping its bytes when ``keep``), counting what comes out.

    zipfile stops a member at the size its central directory declares, and a header that says less than the data
    holds then only shows as a wrong CRC; asked to read a chunk further, it shows the lie itself, which is refused
    after at most one chunk more."""
    declared = member.file_size
    probe = copy.copy(member)
    probe.file_size = declared + _CHUNK + 1
    digest = hashlib.sha256()
    data = bytearray()
    read = 0
    with archive.open(probe) as source:
        while chunk := source.read(_CHUNK):
            read += len(chunk)
            expansion.spend(len(chunk))
            if read > declared:
                raise PackageRefused(
                    f"refused: {member.filename} inflates past the {declared} bytes its header declares: a forged "
                    "archive (a zip bomb), not an export package"
                )
            digest.update(chunk)
            if keep:
                data += chunk
    return FileDigest(digest.hexdigest(), read), bytes(data)


def _reason(err: BaseException) -> str:
    """Why a member or a file cannot be read, without the path an ``OSError`` may carry."""
    if isinstance(err, OSError):
        return err.strerror or type(err).__name__
    return str(err) or type(err).__name__


def _common_folder(names: list[str]) -> str:
    """``"folder/"`` when every name is inside the same top folder (how packages are written), else ``""``."""
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) == 1 and all("/" in n for n in names):
        return f"{tops.pop()}/"
    return ""


def _folder_name(filename: str) -> str:
    return filename.rsplit("/", 1)[-1]


def _plain_name(name: str) -> bool:
    return bool(name) and name not in {".", ".."} and not any(c in name for c in "/\\\0")
