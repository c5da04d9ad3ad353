"""Ed25519 keys that sign audit checkpoints and exports, so a verifier can tell the server vouched for them.

Layout of the keys directory (mode 0700):

- ``signing-key.pem``: the current private key, PKCS#8 PEM, mode 0600; there is only ever one. Rotation
  replaces it atomically, so the old private key is gone: what it signed can still be verified, never re-signed.
- ``public/<key_id>.pem``: the public key of every key this directory ever used, kept forever.

Given a secrets passphrase (:class:`~vigie.governance.keys_folder.SecretsPassphrase`), the private key is stored as
encrypted PKCS#8 (``BestAvailableEncryption``); a key found unencrypted is encrypted in place at its first load, with
the same key (and key id). Without one it stays in clear, with a warning at every load. The folder and the file are
checked on every load (:class:`~vigie.governance.keys_folder.KeysFolder`): a key other users could read is refused.

A key id is the first 16 hex characters of the SHA-256 of the raw 32-byte public key. A signature is the
standard base64 of the 64-byte Ed25519 signature over the canonical JSON (``vigie.domain.audit.canonical_json``)
of the signed mapping. Private key material is never logged nor put in an error message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vigie.domain.audit import canonical_json
from vigie.governance.keys_folder import KeysFolder, KeyStorageError, SecretsPassphrase

log = logging.getLogger(__name__)

PRIVATE_KEY_FILE: Final = "signing-key.pem"
PUBLIC_DIR: Final = "public"
WHAT: Final = "the audit signing key"
ENCRYPTED_PEM: Final = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


class AuditKeyError(KeyStorageError):
    """A signing or public key is missing, unreadable, not an Ed25519 key, or not usable as stored (permissions, a
    missing or wrong passphrase)."""


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """First 16 hex characters of the SHA-256 of the raw public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode("ascii")


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    """Parse an Ed25519 public key in PEM (SubjectPublicKeyInfo); raise :class:`AuditKeyError` otherwise."""
    try:
        key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    except (ValueError, TypeError) as err:
        raise AuditKeyError(f"not a PEM public key: {err}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise AuditKeyError(f"not an Ed25519 public key ({type(key).__name__})")
    return key


def verify_signature(public_key: Ed25519PublicKey, payload: Mapping[str, Any], signature: str) -> bool:
    """Whether ``signature`` (base64) is the key's signature over the canonical JSON of ``payload``."""
    try:
        raw = base64.b64decode(signature.encode("ascii"), validate=True)
        public_key.verify(raw, canonical_json(dict(payload)))
    except (InvalidSignature, binascii.Error, UnicodeEncodeError, ValueError, TypeError):
        return False
    return True


class _WrongPassword(Exception):
    """The passphrase tried does not open the key (or the encrypted file is damaged)."""


class AuditSigner:
    """Signs with one private key; holds the key in memory only."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.key_id: Final = key_id_of(private_key.public_key())
        self.public_key_pem: Final = public_key_pem(private_key.public_key())

    def sign(self, payload: Mapping[str, Any]) -> str:
        """Base64 Ed25519 signature over the canonical JSON of ``payload``."""
        return base64.b64encode(self._private_key.sign(canonical_json(dict(payload)))).decode("ascii")

    def __repr__(self) -> str:
        return f"AuditSigner(key_id={self.key_id!r})"


class AuditKeyring:
    """The signing key of this installation and the public keys of all its past keys, in ``keys_dir``.

    ``passphrase``: the secrets passphrase the private key is encrypted with at rest (none: stored in clear, with a
    warning); ``fix_permissions``: remove group and other permissions from the folder and the key instead of
    refusing them."""

    def __init__(
        self, keys_dir: Path, *, passphrase: SecretsPassphrase | None = None, fix_permissions: bool = False
    ) -> None:
        self.keys_dir = keys_dir
        self.folder = KeysFolder(keys_dir, passphrase=passphrase, fix_permissions=fix_permissions)
        self._signer: AuditSigner | None = None

    @property
    def _private_path(self) -> Path:
        return self.keys_dir / PRIVATE_KEY_FILE

    def load_or_create(self) -> str:
        """Load the signing key, creating one the first time; return its key id. Raises :class:`AuditKeyError`
        when the key cannot be used as stored (its message says what to set or run)."""
        if self._signer is None:
            try:
                key = self._read_private_key()
                if key is None:
                    signer = self._install(Ed25519PrivateKey.generate(), replace=False)
                    log.info("created audit signing key %s in %s", signer.key_id, self.keys_dir)
                else:
                    signer = AuditSigner(key)
            except AuditKeyError:
                raise
            except KeyStorageError as err:
                raise AuditKeyError(str(err)) from None
            self._write_public(signer)
            self._signer = signer
        return self._signer.key_id

    def current_signer(self) -> AuditSigner:
        self.load_or_create()
        if self._signer is None:  # pragma: no cover - load_or_create always sets it
            raise AuditKeyError(f"no signing key in {self.keys_dir}")
        return self._signer

    def rotate(self) -> str:
        """Replace the signing key by a new one (the old private key is destroyed); return the new key id."""
        old = self.current_signer()
        try:
            new = self._install(Ed25519PrivateKey.generate(), replace=True)
        except AuditKeyError:
            raise
        except KeyStorageError as err:
            raise AuditKeyError(str(err)) from None
        self._write_public(new)
        self._signer = new
        log.info("rotated audit signing key %s -> %s", old.key_id, new.key_id)
        return new.key_id

    def public_keys(self) -> dict[str, str]:
        """PEM of every public key this directory ever used, by key id."""
        self.load_or_create()
        keys: dict[str, str] = {}
        for path in sorted((self.keys_dir / PUBLIC_DIR).glob("*.pem")):
            pem = path.read_text(encoding="ascii")
            keys[key_id_of(load_public_key(pem))] = pem
        return keys

    def export_public_keys(self, out_dir: Path) -> list[Path]:
        """Write ``<key_id>.pem`` for every public key into ``out_dir``; return the files written."""
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for key_id, pem in self.public_keys().items():
            path = out_dir / f"{key_id}.pem"
            path.write_text(pem, encoding="ascii")
            written.append(path)
        return written

    def _read_private_key(self) -> Ed25519PrivateKey | None:
        """The private key on disk, or None when there is none. A key in clear is encrypted in place when a
        passphrase is given; a key encrypted with the previous passphrase (``SecretsPassphrase.previous``) is
        re-encrypted with the current one."""
        data = self.folder.read_private(PRIVATE_KEY_FILE, WHAT)
        if data is None:
            return None
        path = self._private_path
        passphrase = self.folder.passphrase
        if ENCRYPTED_PEM not in data:
            key = self._parse(data, None)
            if passphrase is None:
                self.folder.warn_unencrypted(path, WHAT)
            else:
                self._reencrypt(key, f"was stored unencrypted: encrypted now with {passphrase.source}")
            return key
        if passphrase is None:
            raise self.folder.missing_passphrase(path, WHAT)
        for candidate in (passphrase, passphrase.previous):
            if candidate is None:
                continue
            try:
                key = self._parse(data, candidate.value)
            except _WrongPassword:
                continue
            if candidate is not passphrase:
                self._reencrypt(
                    key,
                    f"was encrypted with the previous passphrase ({candidate.source}): re-encrypted with "
                    f"{passphrase.source}; the previous one is no longer needed",
                )
            return key
        raise self.folder.wrong_passphrase(path, WHAT)

    def _parse(self, data: bytes, password: bytes | None) -> Ed25519PrivateKey:
        try:
            key = serialization.load_pem_private_key(data, password=password)
        except (ValueError, TypeError) as err:
            if password is not None:
                raise _WrongPassword from None
            # The message of a key parsing error never contains key material, but keep it short anyway.
            raise AuditKeyError(
                f"cannot read the audit signing key {self._private_path}: {type(err).__name__}"
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise AuditKeyError(f"{self._private_path} is not an Ed25519 private key")
        return key

    def _reencrypt(self, key: Ed25519PrivateKey, done: str) -> None:
        try:
            self._install(key, replace=True)
        except OSError as err:  # a read-only data folder (an auditor's copy): use the key, say it stays as it is
            log.warning("%s %s cannot be encrypted again now: %s", WHAT, self._private_path, err.strerror)
        else:
            log.warning("%s %s %s", WHAT, self._private_path, done)

    def _install(self, key: Ed25519PrivateKey, *, replace: bool) -> AuditSigner:
        passphrase = self.folder.passphrase
        encryption: serialization.KeySerializationEncryption = (
            serialization.NoEncryption()
            if passphrase is None
            else serialization.BestAvailableEncryption(passphrase.value)
        )
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        self._prepare_dirs()
        if self.folder.write_private(PRIVATE_KEY_FILE, pem, replace=replace):
            if passphrase is None:
                self.folder.warn_unencrypted(self._private_path, WHAT)
            return AuditSigner(key)
        theirs = self._read_private_key()  # another process created it meanwhile: use theirs
        if theirs is None:  # pragma: no cover - it was just there
            raise AuditKeyError(f"the audit signing key {self._private_path} vanished while it was created")
        return AuditSigner(theirs)

    def _prepare_dirs(self) -> None:
        self.folder.prepare()
        (self.keys_dir / PUBLIC_DIR).mkdir(exist_ok=True)

    def _write_public(self, signer: AuditSigner) -> None:
        public_dir = self.keys_dir / PUBLIC_DIR
        public_dir.mkdir(parents=True, exist_ok=True)
        path = public_dir / f"{signer.key_id}.pem"
        if not path.exists():
            path.write_text(signer.public_key_pem, encoding="ascii")
