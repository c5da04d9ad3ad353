"""The single file an export leaves the server as: a zip of the export directory, and how one is checked.

A package holds one folder (named after the package) with exactly what ``vigie export create`` writes: the MP4
files, ``manifest.json`` and ``manifest.sig``. Unzipped anywhere, ``vigie export verify FOLDER --pubkey KEYS``
checks it offline. Members are stored, not compressed: H.264 does not compress further, and storing keeps
packaging as fast as a copy.

Unpacking a package to verify it treats it as untrusted input: only plain file names in one folder, a bounded
number of members and of bytes written (a zip bomb stops at the bound), every member's CRC checked; what cannot be
read is reported by name, never raised.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from vigie.recording.export import sha256_and_size
from vigie.recording.manifest import verify_export_dir

MAX_MEMBERS: Final = 10_000
"""More members than this is not a Vigie export (one MP4 per camera, a manifest and its signature)."""
_CHUNK: Final = 1 << 20


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


def unpack_package(source: Path | IO[bytes], into: Path, max_bytes: int) -> list[PackageIssue]:
    """Extract the export folder of a package into ``into`` (an empty directory); return what was wrong with
    its members. Raise :class:`NotAPackageError` when there is nothing to extract."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise NotAPackageError("this is not a zip archive (or it is truncated): not an export package") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > MAX_MEMBERS:
            raise NotAPackageError(f"the archive holds {len(members)} files: not an export package")
        return _extract(archive, members, into, max_bytes)


def _extract(
    archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], into: Path, max_bytes: int
) -> list[PackageIssue]:
    issues: list[PackageIssue] = []
    prefix = _common_folder([m.filename for m in members])
    seen: set[str] = set()
    budget = max_bytes
    for member in members:
        name = member.filename.removeprefix(prefix)
        if not _plain_name(name):
            issues.append(PackageIssue("extra", member.filename, f"{member.filename} is not part of an export folder"))
            continue
        if name in seen:
            issues.append(PackageIssue("package", name, f"{name} is in the package twice"))
            continue
        seen.add(name)
        try:
            budget -= _copy_member(archive, member, into / name, budget)
        except _TooBig:
            issues.append(PackageIssue("package", name, f"the package unpacks to more than {max_bytes} bytes"))
            return issues
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError) as err:
            # BadZipFile: wrong CRC (a byte changed inside the archive); NotImplementedError: unknown compression;
            # RuntimeError: encrypted member. Reported by name; the verifier then also finds the file missing.
            (into / name).unlink(missing_ok=True)
            issues.append(PackageIssue("package", name, f"{name} cannot be read from the package: {err}"))
    return issues


class _TooBig(Exception):
    pass


def _copy_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, budget: int) -> int:
    """Copy one member, counting the bytes actually written (the sizes a zip declares can lie)."""
    written = 0
    with archive.open(member) as source, target.open("xb") as out:
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            if written > budget:
                raise _TooBig
            out.write(chunk)
    return written


def _common_folder(names: list[str]) -> str:
    """``"folder/"`` when every name is inside the same top folder (how packages are written), else ``""``."""
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) == 1 and all("/" in n for n in names):
        return f"{tops.pop()}/"
    return ""


def _plain_name(name: str) -> bool:
    return bool(name) and name not in {".", ".."} and not any(c in name for c in "/\\\0")


def verify_package(
    source: Path | IO[bytes],
    public_keys: Mapping[str, str],
    *,
    scratch: Path,
    max_bytes: int,
    expected: str | None = None,
    name: str = "package",
) -> PackageVerification:
    """Check a package as ``vigie export verify`` checks its unzipped folder (:func:`verify_export_dir`), after
    its own SHA-256 against ``expected`` when given; unpacked into a temporary folder under ``scratch``."""
    try:
        digest, size = sha256_of(source) if isinstance(source, Path) else sha256_of_stream(source)
    except OSError as err:
        issue = PackageIssue("missing", name, f"{name} cannot be read on the server: {err.strerror or err}")
        return PackageVerification(False, None, 0, expected, None, None, 0, (issue,))
    issues: list[PackageIssue] = []
    if expected is not None and digest != expected:
        issues.append(PackageIssue("package", name, f"{name} no longer has the SHA-256 it had when made ({expected})"))
    with tempfile.TemporaryDirectory(dir=scratch, prefix=".verify-") as folder:
        try:
            issues += unpack_package(source, Path(folder), max_bytes)
        except NotAPackageError as err:
            issues.append(PackageIssue("package", name, str(err)))
            return PackageVerification(False, digest, size, expected, None, None, 0, tuple(issues))
        found = verify_export_dir(Path(folder), public_keys)
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
