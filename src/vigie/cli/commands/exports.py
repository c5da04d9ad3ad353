"""The ``vigie export`` commands: create (signed, audited export for a requisition) and verify (offline).

``export_create_command`` acts as the account signed in with ``vigie login``: it needs the export permission
(investigators, with a valid authorisation and training: L8, L9) and cameras the account sees, as in the API; the
manifest and the audit log name the account as the requester (L13).

``export_transmitted_command`` records, as the signed-in account, the day an export was handed to the prosecutor
(L5): into the destruction register and the audit log, with the API's rules.

``export_verify_command`` is what a court, an investigator or the CNIL runs: it reads only the export (its folder,
or the zip package as downloaded, read as a stream with the server's own checks and bounds, never unpacked) and the
public keys given to it, never the configuration or the database.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

from vigie.cli.commands.context import Opened
from vigie.cli.commands.session import run_signed_in
from vigie.domain.actor import Actor
from vigie.domain.clock import Clock
from vigie.domain.users import Permission
from vigie.governance.audit import AuditKeyError, key_id_of, load_public_key
from vigie.recording.manifest import ExportVerification, verify_export_dir
from vigie.runtime.assembly.exports import build_export_service
from vigie.services.access import Principal
from vigie.services.export_package import PackageRefused, PackageVerification, verify_package
from vigie.services.exports import ExportError, ExportNotReadyError, ExportsUnavailableError
from vigie.storage import StorageError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2


def export_create_command(  # noqa: PLR0917 - one argument per command-line option
    config_path: Path,
    cameras: list[str],
    start: datetime,
    end: datetime,
    out_dir: Path,
    reason: str,
    requisition: str,
) -> int:
    """Export ``cameras`` over [start, end) into ``out_dir`` as the signed-in account (L13: the requester is the
    account, never a name typed here): one MP4 per camera, signed manifest, audited."""

    def create(context: Opened, viewer: Principal) -> int:
        viewer.require(Permission.EXPORT)  # with the account's authorisation and training (L8, L9)
        for camera_id in cameras:
            viewer.require_camera(camera_id)
        try:
            service = build_export_service(context.config, context.engine, context.audit, context.clock)
            requester = Actor(viewer.actor, commune_id=viewer.user.commune_id)
            result = service.export(cameras, start, end, requester, reason, requisition, out_dir)
        except (ExportError, StorageError, AuditKeyError, OSError) as err:
            return _fail(f"vigie export: {err}")
        for file in result.files:
            print(
                f"{file.name}: {file.start.isoformat()} → {file.end.isoformat()}, {file.bytes} bytes, "
                f"sha256 {file.sha256}"
            )
        for camera_id in result.cameras_without_footage:
            print(f"{camera_id}: nothing recorded in the range (noted in the manifest)")
        print(
            f"exported to {out_dir} for {viewer.actor}, manifest sha256 {result.manifest_sha256}, "
            f"signed by key {result.key_id}"
        )
        print(f"check it with: vigie export verify {out_dir} --pubkey {result.key_id}.pem (from `vigie audit keys`)")
        return EXIT_OK

    return run_signed_in(config_path, "vigie export create", create)


def export_transmitted_command(
    config_path: Path, export_id: str, on: date, requisition: str, *, clock: Clock | None = None
) -> int:
    """Record, as the signed-in account, that export ``export_id`` (its API id or its manifest's SHA-256) was handed
    to the prosecutor on ``on`` under ``requisition`` (L5): the day goes into the destruction register line of every
    recording exported (``vigie recording register``), audited; the same rules as the API."""

    def record(context: Opened, viewer: Principal) -> int:
        service = build_export_service(context.config, context.engine, context.audit, context.clock)
        try:
            done = service.record_transmission_as(viewer, export_id, transmitted_on=on, requisition_ref=requisition)
        except (ExportError, ExportNotReadyError, ExportsUnavailableError, StorageError, AuditKeyError) as err:
            return _fail(f"vigie export transmitted: {err}; nothing was recorded")
        print(
            f"export {done.export_id} ({', '.join(done.camera_ids)}, {done.start.isoformat()} → "
            f"{done.end.isoformat()}): handed to the prosecutor on {done.transmitted_on.isoformat()} under "
            f"requisition {done.requisition_ref}, recorded by {done.recorded_by} in the register of "
            f"{done.recordings} recording(s)"
        )
        return EXIT_OK

    return run_signed_in(config_path, "vigie export transmitted", record, clock=clock)


def export_verify_command(directory: Path, pubkeys: list[Path]) -> int:
    """Verify an export offline against public key files (or directories of ``*.pem``): ``directory`` is the
    export folder, or its zip package (checked as the server checks one brought back: ``POST /api/exports/verify``)."""
    keys: dict[str, str] = {}
    for path in pubkeys:
        for file in sorted(path.glob("*.pem")) if path.is_dir() else [path]:
            try:
                pem = file.read_text(encoding="ascii")
                keys[key_id_of(load_public_key(pem))] = pem
            except (OSError, UnicodeDecodeError, AuditKeyError) as err:
                return _fail(f"vigie export verify: cannot use public key {file}: {err}", EXIT_CONFIG)
    report: ExportVerification | PackageVerification
    if directory.is_file():
        try:
            report = verify_package(directory, keys, name=directory.name)
        except PackageRefused as refused:
            print(f"FAILED: {refused}")
            return EXIT_FAILED
    elif directory.is_dir():
        report = verify_export_dir(directory, keys)
    else:
        return _fail(f"vigie export verify: {directory} is neither an export folder nor a package", EXIT_CONFIG)
    print(describe(report))
    return EXIT_OK if report.ok else EXIT_FAILED


def describe(report: ExportVerification | PackageVerification) -> str:
    """The verdict in words: one OK line, or one line per issue."""
    if report.ok:
        package = f"package sha256 {report.package_sha256}: " if isinstance(report, PackageVerification) else ""
        return (
            f"OK: {package}{report.files_checked} file(s) match the manifest (sha256 {report.manifest_sha256}), "
            f"signed by key {report.key_id}"
        )
    lines = [f"FAILED: {len(report.issues)} issue(s)"]
    lines += [f"  [{issue.kind}] {issue.name}: {issue.message}" for issue in report.issues]
    return "\n".join(lines)


def _fail(message: str, status: int = EXIT_FAILED) -> int:
    print(message, file=sys.stderr)
    return status
