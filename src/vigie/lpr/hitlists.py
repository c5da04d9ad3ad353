"""Hit-list files a state tenant imports (L35): parsed, bounded, and vouched for before a single plate is kept.

A hit list is an export of a file the tenant is entitled to consult (stolen vehicles, wanted vehicles…); the
platform never decides what is sought, it only compares reads with what the tenant imported. The file is text::

    # comments and empty lines are ignored
    plate<TAB>reason<TAB>list
    AB-123-CD<TAB>vol déclaré 2025-118<TAB>voles
    1234 AB 56<TAB>recherche<TAB>recherches

The first other line is the header: the three column names ``plate``, ``reason``, ``list`` in any order, separated
by a tab, a semicolon or a comma — the separator of the header is that of the whole file. Plates are normalised
(capitals and digits, separators dropped, no look-alike correction: a list is typed, not read); list names are
lower-case slugs. A file is refused as a whole, naming the line and what to change: a list half imported would
silently seek fewer vehicles than the tenant thinks.

Before parsing, the file is vouched for one of two ways (:func:`verify`):

- ``checksum``: the importer gives the file's SHA-256, obtained from the list's issuer through another channel
  (the issuing system prints it); a file altered or truncated on the way does not match.
- ``signature``: a detached Ed25519 signature of the file's bytes (64 bytes, raw or base64), verified against the
  public keys the tenant registered (PEM files in ``<data_dir>/keys/hit-lists/<tenant>/``); the key that verified
  is named by :func:`key_id` in the audit.

Ed25519 through ``cryptography`` (already the audit chain's signature): no home-made cryptography here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vigie.domain.plates import PLATE_PATTERN, HitListEntry
from vigie.lpr.formats import normalise

MAX_FILE_BYTES: Final = 16 * 1024 * 1024
"""A national stolen-vehicle export is a few hundred thousand lines (~10 MB); more is not a hit list."""
MAX_ENTRIES: Final = 500_000
MAX_REASON_LENGTH: Final = 200
LIST_NAME: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
COLUMNS: Final = ("plate", "reason", "list")
SEPARATORS: Final = ("\t", ";", ",")
_SEPARATOR_NAMES: Final = {"\t": "tab", ";": "semicolon", ",": "comma"}
SIGNATURE_BYTES: Final = 64


class HitListError(ValueError):
    """The file cannot be imported as it is; the message names the line and what to change.

    ``line`` is the line the message names (None: the file as a whole), for a trace that must not copy the message
    (which may quote a plate)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        named = re.match(r"line (\d+):", message)
        self.line = int(named.group(1)) if named else None


class HitListVerificationError(HitListError):
    """The file is not the one the checksum or a registered key vouches for."""


@dataclass(frozen=True, slots=True)
class HitListFile:
    """A verified, parsed hit-list file."""

    entries: tuple[HitListEntry, ...]
    sha256: str
    verified_by: str
    """``checksum`` or ``signature:<key id>``."""

    @property
    def list_names(self) -> tuple[str, ...]:
        return tuple(sorted({e.list_name for e in self.entries}))


def normalise_plate(raw: str) -> str:
    """Capitals and digits only (``ab-123 cd`` -> ``AB123CD``), spelt by the grammar that spells reads
    (:func:`vigie.lpr.formats.normalise`): a list's plate and a read compare equal when they are the same plate.
    No look-alike correction: a list is typed, not read."""
    return normalise(raw)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def key_id(key: Ed25519PublicKey) -> str:
    """A short, stable name of a public key: the first 16 hex digits of the SHA-256 of its raw bytes."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_key(pem: bytes, name: str = "key") -> Ed25519PublicKey:
    """An Ed25519 public key from PEM (``-----BEGIN PUBLIC KEY-----``), or a :class:`HitListError` saying so."""
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        raise HitListError(f"{name}: not a PEM public key (expected -----BEGIN PUBLIC KEY-----)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise HitListError(f"{name}: an Ed25519 public key is needed, not {type(key).__name__}")
    return key


def verify(
    data: bytes,
    *,
    checksum: str | None = None,
    signature: bytes | None = None,
    keys: Mapping[str, Ed25519PublicKey] | None = None,
) -> str:
    """How ``data`` is vouched for (``checksum`` or ``signature:<key id>``), or a :class:`HitListVerificationError`.

    Exactly one of ``checksum`` (the file's SHA-256 in hex, optionally ``sha256:``-prefixed) and ``signature``
    (detached Ed25519, raw or base64, checked against ``keys`` by key id) must be given."""
    if (checksum is None) == (signature is None):
        raise HitListVerificationError(
            "give the file's SHA-256 (--checksum) or a detached Ed25519 signature (--signature), exactly one"
        )
    if len(data) > MAX_FILE_BYTES:
        raise HitListError(f"the file is {len(data)} bytes; a hit list is at most {MAX_FILE_BYTES} bytes: split it")
    if signature is not None:
        return _verify_signature(data, signature, keys or {})
    given = (checksum or "").strip().lower().removeprefix("sha256:")
    if not re.fullmatch(r"[0-9a-f]{64}", given):
        raise HitListVerificationError("the checksum must be the file's SHA-256: 64 hexadecimal digits")
    actual = sha256_hex(data)
    if given != actual:
        raise HitListVerificationError(
            f"the file's SHA-256 is {actual}, not the {given} given: the file changed on the way, or the "
            "checksum is that of another file; get both again from the list's issuer"
        )
    return "checksum"


def _verify_signature(data: bytes, signature: bytes, keys: Mapping[str, Ed25519PublicKey]) -> str:
    raw = _signature_bytes(signature)
    if not keys:
        raise HitListVerificationError(
            "no public key is registered for this tenant's hit lists: put the issuer's Ed25519 public key (PEM) in "
            "<data_dir>/keys/hit-lists/<tenant>/, or import with --checksum"
        )
    for name, key in sorted(keys.items()):
        try:
            key.verify(raw, data)
        except InvalidSignature:
            continue
        return f"signature:{name}"
    raise HitListVerificationError(
        f"the signature verifies with none of the {len(keys)} registered key(s) ({', '.join(sorted(keys))}): the "
        "file changed since it was signed, or it was signed with a key this tenant did not register"
    )


def _signature_bytes(signature: bytes) -> bytes:
    if len(signature) == SIGNATURE_BYTES:
        return signature
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != SIGNATURE_BYTES:
        raise HitListVerificationError(
            f"the signature must be {SIGNATURE_BYTES} bytes of Ed25519 signature, raw or in base64"
        )
    return raw


def read_hit_list(
    data: bytes,
    *,
    checksum: str | None = None,
    signature: bytes | None = None,
    keys: Mapping[str, Ed25519PublicKey] | None = None,
) -> HitListFile:
    """Verify ``data`` (see :func:`verify`), then parse it (see :func:`parse_hit_list`)."""
    verified_by = verify(data, checksum=checksum, signature=signature, keys=keys)
    return HitListFile(parse_hit_list(data), sha256_hex(data), verified_by)


def parse_hit_list(data: bytes) -> tuple[HitListEntry, ...]:
    """The entries of a hit-list file (format in the module's docstring), or a :class:`HitListError`."""
    if len(data) > MAX_FILE_BYTES:
        raise HitListError(f"the file is {len(data)} bytes; a hit list is at most {MAX_FILE_BYTES} bytes: split it")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        bad = data[: err.start].count(b"\n") + 1
        raise HitListError(f"line {bad}: not UTF-8 text; save the file as UTF-8") from None
    columns: dict[str, int] | None = None
    separator = "\t"
    entries: list[HitListEntry] = []
    seen: dict[tuple[str, str], int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if columns is None:
            separator, columns = _header(line, number)
            continue
        entry = _entry(line.split(separator), columns, number, separator)
        first = seen.setdefault((entry.list_name, entry.plate), number)
        if first != number:
            raise HitListError(
                f"line {number}: plate {entry.plate} is already in list {entry.list_name!r} at line {first}: "
                "keep one line per plate and list"
            )
        entries.append(entry)
        if len(entries) > MAX_ENTRIES:
            raise HitListError(f"line {number}: more than {MAX_ENTRIES} plates; split the file")
    if columns is None:
        raise HitListError(f"the file has no header line: start it with {'<TAB>'.join(COLUMNS)}")
    if not entries:
        raise HitListError("the file has a header but no plate: an empty list is not imported")
    return tuple(entries)


def _header(line: str, number: int) -> tuple[str, dict[str, int]]:
    separator = next((s for s in SEPARATORS if s in line), "\t")
    names = [name.strip().lower() for name in line.split(separator)]
    if sorted(names) != sorted(COLUMNS):
        raise HitListError(
            f"line {number}: the header must name the columns {', '.join(COLUMNS)} (once each, separated by a "
            f"tab, a semicolon or a comma), not {line.strip()!r}"
        )
    return separator, {name: index for index, name in enumerate(names)}


def _entry(fields: list[str], columns: dict[str, int], number: int, separator: str) -> HitListEntry:
    if len(fields) != len(COLUMNS):
        raise HitListError(
            f"line {number}: {len(fields)} field(s) where the header has {len(COLUMNS)}, separated by a "
            f"{_SEPARATOR_NAMES[separator]}; a reason containing a {_SEPARATOR_NAMES[separator]} needs another "
            "separator for the whole file"
        )
    raw_plate, reason, list_name = (fields[columns[c]].strip() for c in COLUMNS)
    plate = normalise_plate(raw_plate)
    if not PLATE_PATTERN.match(plate):
        raise HitListError(f"line {number}: {raw_plate!r} is not a plate (2 to 16 letters and digits)")
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise HitListError(f"line {number}: the reason must be 1 to {MAX_REASON_LENGTH} characters")
    if not LIST_NAME.match(list_name):
        raise HitListError(
            f"line {number}: list name {list_name!r} must be lower-case letters, digits, '-' or '_' (at most 64)"
        )
    return HitListEntry(plate, reason, list_name)
