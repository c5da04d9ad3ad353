"""An export package is checked as a stream, never unpacked (issue 15 D7): a zip bomb is refused on the sizes it
declares, a header that lies is caught after at most one chunk more than it claims, nothing is written anywhere,
and what is reported never carries a path; a genuine package verifies, as stored or zipped again with deflate, on
the server and with ``vigie export verify PACKAGE.zip``."""

from __future__ import annotations

import io
import random
import time
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.zip_bombs import lying_bomb, rezipped, signed_export, zeros_bomb
from vigie.cli.commands.exports import export_verify_command
from vigie.governance.audit import AuditSigner
from vigie.services.export_package import MAX_RATIO, PackageRefused, verify_package, write_package

VIDEO = random.Random(15).randbytes(1 << 20)  # 1 MiB that deflate cannot shrink, like H.264


@pytest.fixture
def signer() -> AuditSigner:
    return AuditSigner(Ed25519PrivateKey.generate())


def package_of(tmp_path: Path, signer: AuditSigner) -> bytes:
    folder = signed_export(tmp_path / "export-1", signer, {"vil-1.mp4": VIDEO})
    return write_package(folder, tmp_path / "export-1.zip").path.read_bytes()


def test_a_genuine_package_verifies_as_stored_and_zipped_again(tmp_path: Path, signer: AuditSigner) -> None:
    keys = {signer.key_id: signer.public_key_pem}
    package = package_of(tmp_path, signer)
    for variant in (package, rezipped(package)):
        report = verify_package(io.BytesIO(variant), keys, max_expanded_bytes=8 << 30)
        assert report.ok and report.files_checked == 1 and report.issues == (), report.issues
        assert report.key_id == signer.key_id and report.package_bytes == len(variant)


def test_a_zip_bomb_is_refused_before_anything_is_inflated(tmp_path: Path, signer: AuditSigner) -> None:
    bomb = zeros_bomb(64)  # 64 MiB of zeros in about 64 KB
    assert len(bomb) < 1 << 20
    started = time.monotonic()
    with pytest.raises(PackageRefused) as refused:
        verify_package(io.BytesIO(bomb), {signer.key_id: signer.public_key_pem}, max_expanded_bytes=8 << 30)
    assert time.monotonic() - started < 1.0
    message = str(refused.value)
    assert "export/vil-1.mp4" in message and f"at most {MAX_RATIO}:1" in message and "zip bomb" in message


def test_a_header_that_understates_the_data_is_refused_after_one_chunk(signer: AuditSigner) -> None:
    # The header says 1:1, the data inflates to 256 MiB: refused once the bytes out pass what the header claims.
    bomb = lying_bomb(256)
    started = time.monotonic()
    with pytest.raises(PackageRefused, match=r"inflates past the \d+ bytes its header declares"):
        verify_package(io.BytesIO(bomb), {signer.key_id: signer.public_key_pem}, max_expanded_bytes=8 << 30)
    assert time.monotonic() - started < 1.0, "at most one chunk past the claim was inflated"


def test_the_whole_package_is_bounded_by_the_callers_limit(tmp_path: Path, signer: AuditSigner) -> None:
    package = package_of(tmp_path, signer)
    with pytest.raises(PackageRefused, match="would inflate"):
        verify_package(io.BytesIO(package), {signer.key_id: signer.public_key_pem}, max_expanded_bytes=1 << 20)


def test_members_in_methods_that_inflate_without_bound_are_not_read(tmp_path: Path, signer: AuditSigner) -> None:
    package = rezipped(package_of(tmp_path, signer), zipfile.ZIP_BZIP2)
    report = verify_package(io.BytesIO(package), {signer.key_id: signer.public_key_pem})
    assert not report.ok
    assert ("package", "vil-1.mp4") in {(i.kind, i.name) for i in report.issues}


def test_messages_name_members_never_a_path_of_the_machine(tmp_path: Path, signer: AuditSigner) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("export/vil-1.mp4", VIDEO)  # no manifest, no signature
    report = verify_package(buffer, {signer.key_id: signer.public_key_pem}, name="brought.zip")
    assert not report.ok and ("missing", "manifest.json") in {(i.kind, i.name) for i in report.issues}
    for issue in report.issues:
        assert "/" not in issue.message.replace("export/", ""), issue.message


def test_vigie_export_verify_checks_the_zip_itself(
    tmp_path: Path, signer: AuditSigner, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / f"{signer.key_id}.pem").write_text(signer.public_key_pem, encoding="ascii")
    package = package_of(tmp_path, signer)
    (tmp_path / "copy.zip").write_bytes(package)
    assert export_verify_command(tmp_path / "copy.zip", [keys]) == 0
    assert capsys.readouterr().out.startswith("OK: package sha256 ")
    (tmp_path / "bomb.zip").write_bytes(zeros_bomb(16))
    assert export_verify_command(tmp_path / "bomb.zip", [keys]) == 1
    assert "FAILED: refused: export/vil-1.mp4 would inflate" in capsys.readouterr().out
