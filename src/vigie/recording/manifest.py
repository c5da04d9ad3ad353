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
server. Any altered, missing or added byte or file is reported.
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


def verify_export_dir(directory: Path, public_keys: Mapping[str, str]) -> ExportVerification:
    """Verify an export offline against trusted public keys (PEM by key id). Never raises on bad content."""
    report = ExportVerification()
    manifest = _read_manifest(directory, report)
    if manifest is not None:
        _check_signature(directory, manifest, public_keys, report)
        listed = _check_files(directory, manifest, report)
        _check_extra(directory, listed, report)
    report.ok = not report.issues
    return report


def _read_manifest(directory: Path, report: ExportVerification) -> dict[str, Any] | None:
    path = directory / MANIFEST_NAME
    try:
        data = path.read_bytes()
        manifest = json.loads(data)
    except OSError as err:
        report.add("missing", MANIFEST_NAME, f"cannot read {path}: {err.strerror or err}")
        return None
    except (UnicodeDecodeError, ValueError):
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
    directory: Path, manifest: dict[str, Any], public_keys: Mapping[str, str], report: ExportVerification
) -> None:
    try:
        signature = json.loads((directory / SIGNATURE_NAME).read_bytes())
        key_id, value = str(signature["key_id"]), str(signature["signature"])
    except OSError:
        report.add("missing", SIGNATURE_NAME, f"{SIGNATURE_NAME} is missing: the export cannot be authenticated")
        return
    except (ValueError, KeyError, TypeError):
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


def _check_files(directory: Path, manifest: dict[str, Any], report: ExportVerification) -> set[str]:
    listed: set[str] = set()
    files = manifest.get("files")
    if not isinstance(files, list):
        report.add("manifest", MANIFEST_NAME, f"{MANIFEST_NAME} lists no files")
        return listed
    for entry in files:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not _plain_name(name):
            report.add("manifest", MANIFEST_NAME, f"{MANIFEST_NAME} lists a file with an unsafe name: {name!r}")
            continue
        listed.add(name)
        _check_file(directory / name, entry, report)
    return listed


def _check_file(path: Path, entry: dict[str, Any], report: ExportVerification) -> None:
    name = path.name
    try:
        with path.open("rb") as file:
            digest = hashlib.file_digest(file, "sha256").hexdigest()
            size = file.tell()
    except OSError:
        report.add("missing", name, f"{name} is listed in the manifest but missing")
        return
    report.files_checked += 1
    if size != entry.get("bytes"):
        report.add("size", name, f"{name} has {size} bytes, the manifest says {entry.get('bytes')}")
    if digest != entry.get("sha256"):
        report.add("sha256", name, f"{name} does not match its SHA-256 in the manifest: it was altered")


def _check_extra(directory: Path, listed: set[str], report: ExportVerification) -> None:
    expected = listed | {MANIFEST_NAME, SIGNATURE_NAME}
    for path in sorted(directory.iterdir()):
        if path.name not in expected:
            report.add("extra", path.name, f"{path.name} is not part of the export (not in the manifest)")


def _plain_name(name: str) -> bool:
    return bool(name) and name not in {".", ".."} and "/" not in name and "\\" not in name and "\0" not in name
