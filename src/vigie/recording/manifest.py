"""The manifest of a video export (L14) and its offline verification.

An export directory holds the MP4 files, ``manifest.json`` and ``manifest.sig``:

- ``manifest.json`` is the canonical JSON (``vigie.domain.audit.canonical_json``: sorted keys, compact, UTF-8) of
  the manifest: who exported what, why and on what requisition (L13), and per file the camera's identity and
  location, start and end in UTC and Europe/Paris time, duration, SHA-256, size and the source segments with
  their own SHA-256.
- ``manifest.sig`` is a detached Ed25519 signature over exactly those bytes, made with the installation's audit
  key (same key, same scheme as the audit log: base64 signature over the canonical JSON, key id = first 16 hex
  characters of the SHA-256 of the raw public key).

:func:`verify_export_dir` needs only the directory and trusted public keys: no configuration, no database, no
server. Any altered, missing or added byte or file is reported. The checks themselves
(:func:`verify_export_contents`) work on what was read of an export, so that a zip package is checked as a stream
(``vigie.services.export_package``) with the very same rules as a folder.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vigie.config.camera import Camera
from vigie.domain.audit import canonical_json
from vigie.domain.clock import LEGAL_TIME_ZONE

MANIFEST_NAME: Final = "manifest.json"
SIGNATURE_NAME: Final = "manifest.sig"
MANIFEST_FORMAT: Final = "vigie-video-export"
SIGNATURE_FORMAT: Final = "vigie-video-export-signature"
MANIFEST_VERSION: Final = 1
LOCAL_ZONE: Final = LEGAL_TIME_ZONE
"""Local time written beside UTC in every manifest: what the requisition and the operators speak in."""

IssueKind = Literal["manifest", "signature", "missing", "extra", "size", "sha256"]


class ManifestSigner(Protocol):
    """What signs a manifest: ``vigie.governance.audit.AuditSigner`` fits (recording cannot import it)."""

    @property
    def key_id(self) -> str: ...

    def sign(self, payload: Mapping[str, Any]) -> str: ...


@dataclass(frozen=True, slots=True)
class CameraIdentity:
    """What an export says about a camera (L14): its id, name and where it is."""

    id: str
    name: str
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    description: str | None = None

    @classmethod
    def of(cls, camera: Camera | CameraIdentity) -> CameraIdentity:
        if isinstance(camera, CameraIdentity):
            return camera
        loc = camera.location
        return cls(camera.id, camera.name, loc.lat, loc.lon, loc.address, loc.description)

    def to_json(self) -> dict[str, Any]:
        location = {"lat": self.lat, "lon": self.lon, "address": self.address, "description": self.description}
        return {"id": self.id, "name": self.name, "location": location}


def instant(at: datetime) -> dict[str, str]:
    """One instant in UTC (``Z``, milliseconds) and in Europe/Paris local time (with its offset)."""
    if at.tzinfo is None:
        raise ValueError("export times must be timezone-aware")
    utc = at.astimezone(UTC)
    return {
        "utc": utc.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "local": utc.astimezone(LOCAL_ZONE).isoformat(timespec="milliseconds"),
    }


def write_signed_manifest(directory: Path, manifest: Mapping[str, Any], signer: ManifestSigner) -> str:
    """Write ``manifest.json`` (canonical bytes) and its detached signature; return the manifest's SHA-256."""
    data = canonical_json(dict(manifest))
    (directory / MANIFEST_NAME).write_bytes(data)
    signature = {
        "format": SIGNATURE_FORMAT,
        "algorithm": "Ed25519",
        "signed_file": MANIFEST_NAME,
        "key_id": signer.key_id,
        "signature": signer.sign(json.loads(data)),
    }
    (directory / SIGNATURE_NAME).write_bytes(canonical_json(signature) + b"\n")
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class ExportIssue:
    """One thing wrong with an export directory; ``name`` is the file concerned."""

    kind: IssueKind
    name: str
    message: str


@dataclass(slots=True)
class ExportVerification:
    """The verdict on an export directory: ``ok`` only when there is no issue at all."""

    ok: bool = False
    key_id: str | None = None
    files_checked: int = 0
    manifest_sha256: str | None = None
    issues: list[ExportIssue] = field(default_factory=list)

    def add(self, kind: IssueKind, name: str, message: str) -> None:
        self.issues.append(ExportIssue(kind, name, message))


@dataclass(frozen=True, slots=True)
class FileDigest:
    """What the verifier needs of one file of an export: its SHA-256 and its size in bytes."""

    sha256: str
    bytes: int


@dataclass(frozen=True, slots=True)
class ExportContents:
    """An export as read, wherever it was read from (a folder, a zip package read as a stream): the exact bytes of
    ``manifest.json`` and ``manifest.sig`` (None when absent or unreadable) and the digest of every other file
    (None for a file that is there but cannot be read)."""

    manifest: bytes | None
    signature: bytes | None
    files: Mapping[str, FileDigest | None]


def verify_export_dir(directory: Path, public_keys: Mapping[str, str]) -> ExportVerification:
    """Verify an export offline against trusted public keys (PEM by key id). Never raises on bad content."""
    return verify_export_contents(read_export_dir(directory), public_keys)


def verify_export_contents(contents: ExportContents, public_keys: Mapping[str, str]) -> ExportVerification:
    """The checks of an export: canonical manifest, its signature by one of ``public_keys``, every listed file
    present with its size and SHA-256, nothing else. Never raises on bad content; messages name files, never a
    path on the machine that checks."""
    report = ExportVerification()
    manifest = _read_manifest(contents.manifest, report)
    if manifest is not None:
        _check_signature(contents.signature, manifest, public_keys, report)
        listed = _check_files(contents.files, manifest, report)
        _check_extra(contents.files, listed, report)
    report.ok = not report.issues
    return report


def read_export_dir(directory: Path) -> ExportContents:
    """Read an export folder: the manifest and its signature, and the SHA-256 of every other entry."""
    files: dict[str, FileDigest | None] = {}
    for path in sorted(directory.iterdir()):
        if path.name not in {MANIFEST_NAME, SIGNATURE_NAME}:
            files[path.name] = _digest(path)
    return ExportContents(_bytes_or_none(directory / MANIFEST_NAME), _bytes_or_none(directory / SIGNATURE_NAME), files)


def _bytes_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _digest(path: Path) -> FileDigest | None:
    try:
        with path.open("rb") as file:
            digest = hashlib.file_digest(file, "sha256").hexdigest()
            return FileDigest(digest, file.tell())
    except OSError:
        return None


def _read_manifest(data: bytes | None, report: ExportVerification) -> dict[str, Any] | None:
    if data is None:
        report.add("missing", MANIFEST_NAME, f"{MANIFEST_NAME} is missing: this is not an export, or it is incomplete")
        return None
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        report.add("manifest", MANIFEST_NAME, f"{MANIFEST_NAME} is not JSON: it was altered or truncated")
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        report.add("manifest", MANIFEST_NAME, f"{MANIFEST_NAME} is not a Vigie export manifest")
        return None
    report.manifest_sha256 = hashlib.sha256(data).hexdigest()
    if canonical_json(manifest) != data:
        report.add("manifest", MANIFEST_NAME, f"{MANIFEST_NAME} is not in canonical form: it was edited")
    return manifest


def _check_signature(
    data: bytes | None, manifest: dict[str, Any], public_keys: Mapping[str, str], report: ExportVerification
) -> None:
    if data is None:
        report.add("missing", SIGNATURE_NAME, f"{SIGNATURE_NAME} is missing: the export cannot be authenticated")
        return
    try:
        signature = json.loads(data)
        key_id, value = str(signature["key_id"]), str(signature["signature"])
    except (ValueError, KeyError, TypeError, RecursionError):
        report.add("signature", SIGNATURE_NAME, f"{SIGNATURE_NAME} is unreadable: it was altered or truncated")
        return
    report.key_id = key_id
    pem = public_keys.get(key_id)
    if pem is None:
        report.add(
            "signature",
            SIGNATURE_NAME,
            f"signed by key {key_id}, which is not among the public keys given: ask the operator for "
            f"{key_id}.pem (`vigie audit keys -o DIR` on the server)",
        )
        return
    if not _signature_valid(pem, manifest, value):
        report.add("signature", MANIFEST_NAME, f"the signature of key {key_id} does not match {MANIFEST_NAME}")


def _signature_valid(pem: str, manifest: dict[str, Any], signature: str) -> bool:
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
        if not isinstance(key, Ed25519PublicKey):
            return False
        key.verify(base64.b64decode(signature.encode("ascii"), validate=True), canonical_json(manifest))
    except (InvalidSignature, binascii.Error, UnicodeEncodeError, ValueError, TypeError):
        return False
    return True


def _check_files(
    files: Mapping[str, FileDigest | None], manifest: dict[str, Any], report: ExportVerification
) -> set[str]:
    listed: set[str] = set()
    entries = manifest.get("files")
    if not isinstance(entries, list):
        report.add("manifest", MANIFEST_NAME, f"{MANIFEST_NAME} lists no files")
        return listed
    for entry in entries:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not _plain_name(name):
            report.add("manifest", MANIFEST_NAME, f"{MANIFEST_NAME} lists a file with an unsafe name: {name!r}")
            continue
        listed.add(name)
        _check_file(name, files.get(name), entry, report)
    return listed


def _check_file(name: str, found: FileDigest | None, entry: dict[str, Any], report: ExportVerification) -> None:
    if found is None:
        report.add("missing", name, f"{name} is listed in the manifest but missing")
        return
    report.files_checked += 1
    if found.bytes != entry.get("bytes"):
        report.add("size", name, f"{name} has {found.bytes} bytes, the manifest says {entry.get('bytes')}")
    if found.sha256 != entry.get("sha256"):
        report.add("sha256", name, f"{name} does not match its SHA-256 in the manifest: it was altered")


def _check_extra(files: Mapping[str, FileDigest | None], listed: set[str], report: ExportVerification) -> None:
    for name in sorted(files):
        if name not in listed:
            report.add("extra", name, f"{name} is not part of the export (not in the manifest)")


def _plain_name(name: str) -> bool:
    return bool(name) and name not in {".", ".."} and "/" not in name and "\\" not in name and "\0" not in name
