"""Hostile zip archives for the export verifier: honest bombs, headers that lie, and the real packages they imitate.

Built in memory, quickly: zeros compress about 1000:1 with deflate, so a few megabytes of archive stand for a few
gigabytes once inflated."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

from vigie.recording.manifest import MANIFEST_FORMAT, ManifestSigner, write_signed_manifest

_MIB = 1 << 20
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"


def zeros_bomb(inflated_mib: int, name: str = "export/vil-1.mp4") -> bytes:
    """One deflated member of ``inflated_mib`` MiB of zeros whose header says so honestly (about 1000:1)."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open(name, "w", force_zip64=True) as member,
    ):
        for _ in range(inflated_mib):
            member.write(bytes(_MIB))
    return buffer.getvalue()


def lying_bomb(inflated_mib: int, name: str = "export/vil-1.mp4") -> bytes:
    """A member of ``inflated_mib`` MiB of zeros whose local and central headers claim it inflates to its own
    compressed size (and a CRC that matches nothing): by its header a harmless 1:1 member, by its data a bomb."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = b"".join(compressor.compress(bytes(_MIB)) for _ in range(inflated_mib)) + compressor.flush()
    claimed_bytes = len(data)
    encoded = name.encode()
    local = _LOCAL + struct.pack("<5H3I2H", 20, 0, 8, 0, 0, 0, len(data), claimed_bytes, len(encoded), 0)
    central = _CENTRAL + struct.pack(
        "<6H3I5H2I", 20, 20, 0, 8, 0, 0, 0, len(data), claimed_bytes, len(encoded), 0, 0, 0, 0, 0o644 << 16, 0
    )
    body = local + encoded + data
    directory = central + encoded
    end = b"PK\x05\x06" + struct.pack("<4H2IH", 0, 0, 1, 1, len(directory), len(body), 0)
    return body + directory + end


def signed_export(folder: Path, signer: ManifestSigner, files: dict[str, bytes]) -> Path:
    """An export folder as ``vigie export create`` leaves it, reduced to what the verifier reads: the files and a
    signed manifest listing their sizes and SHA-256."""
    folder.mkdir(parents=True)
    entries: list[dict[str, Any]] = []
    for name, content in files.items():
        (folder / name).write_bytes(content)
        entries.append({"name": name, "bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()})
    write_signed_manifest(folder, {"format": MANIFEST_FORMAT, "files": entries}, signer)
    return folder


def rezipped(package: bytes, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """The same members zipped again, as whoever carried the package may have done."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(buffer, "w", compression) as target:
        for member in source.infolist():
            target.writestr(member.filename, source.read(member))
    return buffer.getvalue()
