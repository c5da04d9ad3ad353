"""The folder of the installation's private keys (``<data_dir>/keys``): who may read it, and encryption at rest.

Two private keys live there: the audit signing key (``signing-key.pem``, Ed25519 in PKCS#8, which also seals
activations and approvals) and the accounts key (``accounts.fernet``, which seals second-factor secrets in the
database). Whoever copies the data folder (a backup, a snapshot, a disk sent for repair) must not get them in clear.
With a secrets passphrase (:class:`SecretsPassphrase`: a key file kept outside the data folder, or an environment
variable) both are encrypted at rest: the signing key as encrypted PKCS#8 (``BestAvailableEncryption``), the
accounts key sealed under a key derived from the passphrase with scrypt (:func:`seal_secret`).

Every process that opens a private key checks the folder first: mode 0700 and owned by the process's user, and each
private file without any group or other permission and owned by the user. Otherwise it refuses, saying what to run;
told to (``security.fix_key_permissions``), it removes the extra permission bits instead and says so. Owners are
never changed. Passphrases and key material never appear in a message.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

log = logging.getLogger(__name__)

MIN_PASSPHRASE_LENGTH: Final = 16
"""A passphrase shorter than this is refused: the key file written by ``vigie demo`` holds 43 random characters."""
SEALED_FORMAT: Final = "vigie-sealed-key/1"
SCRYPT_N: Final = 2**15
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
SALT_BYTES: Final = 16
HOW_TO_GIVE = (
    "give the secrets passphrase with `security.secrets_key_file` (a file outside the data folder) or the environment "
    "variable named by `security.passphrase_env` (default VIGIE_SECRETS_PASSPHRASE); see docs/deployment.md"
)


class KeyStorageError(Exception):
    """A private key cannot be used as it is stored or as the passphrase is given (permissions, owner, missing or
    wrong passphrase). The message names what to set or run; never the key nor the passphrase."""


@dataclass(frozen=True, slots=True)
class SecretsPassphrase:
    """The passphrase that encrypts the private keys at rest, and where it came from (for messages)."""

    value: bytes = field(repr=False)
    source: str
    """Where it was read, as a person would set it: ``$VIGIE_SECRETS_PASSPHRASE`` or ``the key file /etc/...``."""
    previous: SecretsPassphrase | None = None
    """While the passphrase is being changed: the one it replaces. A key that only it opens is encrypted again
    with this one at its next load."""


def folder_problem(path: Path, *, fix: bool) -> str | None:
    """What is wrong with the keys folder ``path`` (mode 0700, owned by this process's user), or None."""
    return _problem(path, "the keys folder", "chmod 700", fix=fix)


def file_problem(path: Path, what: str, *, fix: bool) -> str | None:
    """What is wrong with the private file ``path`` (no group or other permission, owned by this process's user)."""
    return _problem(path, what, "chmod 600", fix=fix)


def _problem(path: Path, what: str, command: str, *, fix: bool) -> str | None:
    info = path.stat()
    user = os.geteuid()
    if info.st_uid != user:
        return (
            f"{what} {path} belongs to user id {info.st_uid}, not to the user running vigie (id {user}): "
            f"`chown` it to that user, or run vigie as its owner"
        )
    mode = stat.S_IMODE(info.st_mode)
    if not mode & 0o077:
        return None
    if fix:
        path.chmod(mode & ~0o077)
        log.warning(
            "%s %s was open to other users (mode %o): made %o (security.fix_key_permissions)",
            what,
            path,
            mode,
            mode & ~0o077,
        )
        return None
    return (
        f"{what} {path} is open to other users (mode {mode:o}): run `{command} {path}`, or set "
        "`security.fix_key_permissions: true` for vigie to fix it at start"
    )


class KeysFolder:
    """Reads and writes the private key files of one keys folder, checking permissions on every read."""

    def __init__(
        self, path: Path, *, passphrase: SecretsPassphrase | None = None, fix_permissions: bool = False
    ) -> None:
        self.path = path
        self.passphrase = passphrase
        self.fix_permissions = fix_permissions

    def prepare(self) -> None:
        """Create the folder (mode 0700) if it is missing, then check it."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.check()

    def check(self) -> None:
        """Refuse (:class:`KeyStorageError`) a folder other users may enter, or that is not this user's."""
        problem = folder_problem(self.path, fix=self.fix_permissions)
        if problem:
            raise KeyStorageError(problem)

    def read_private(self, name: str, what: str) -> bytes | None:
        """The bytes of the private file ``name``, or None when it does not exist; the folder and the file are
        checked first (``what`` names the file in messages, e.g. ``the audit signing key``)."""
        path = self.path / name
        if not path.exists():
            return None
        self.check()
        problem = file_problem(path, what, fix=self.fix_permissions)
        if problem:
            raise KeyStorageError(problem)
        try:
            return path.read_bytes()
        except OSError as err:
            raise KeyStorageError(f"cannot read {what} {path}: {err.strerror}") from None

    def write_private(self, name: str, data: bytes, *, replace: bool) -> bool:
        """Write ``data`` as the private file ``name`` (mode 0600, atomically, synced). Without ``replace`` an
        existing file is kept (another process created it meanwhile) and False is returned."""
        self.prepare()
        target = self.path / name
        temp = target.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}.new")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            if replace:
                os.replace(temp, target)
                return True
            try:
                os.link(temp, target)  # fails if another process created it meanwhile
            except FileExistsError:
                return False
            return True
        finally:
            temp.unlink(missing_ok=True)

    def missing_passphrase(self, path: Path, what: str) -> KeyStorageError:
        """The error for a key file that is encrypted while no passphrase was given."""
        return KeyStorageError(f"{what} {path} is encrypted and no secrets passphrase was given: {HOW_TO_GIVE}")

    def wrong_passphrase(self, path: Path, what: str) -> KeyStorageError:
        """The error for a passphrase that does not open ``path``."""
        source = self.passphrase.source if self.passphrase is not None else "nothing"
        previous = self.passphrase.previous if self.passphrase is not None else None
        also = f" (nor the previous one given by {previous.source})" if previous is not None else ""
        return KeyStorageError(
            f"{what} {path} is encrypted and the secrets passphrase given by {source}{also} does not open it: give "
            "the passphrase it was encrypted with (`security.secrets_key_file` or the variable named by "
            "`security.passphrase_env`, default VIGIE_SECRETS_PASSPHRASE)"
        )

    def warn_unencrypted(self, path: Path, what: str) -> None:
        log.warning(
            "%s %s is stored UNENCRYPTED: whoever copies the data folder can use it; %s",
            what,
            path,
            HOW_TO_GIVE,
        )


def _wrapping_key(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> Fernet:
    derived = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)
    return Fernet(base64.urlsafe_b64encode(derived))


def seal_secret(secret: bytes, passphrase: SecretsPassphrase) -> bytes:
    """``secret`` encrypted under a key derived from the passphrase (scrypt, a fresh salt): a one-line JSON
    document naming its format, the derivation's parameters and the Fernet token."""
    salt = secrets.token_bytes(SALT_BYTES)
    token = _wrapping_key(passphrase.value, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P).encrypt(secret)
    document = {
        "format": SEALED_FORMAT,
        "kdf": "scrypt",
        "n": SCRYPT_N,
        "r": SCRYPT_R,
        "p": SCRYPT_P,
        "salt": base64.b64encode(salt).decode("ascii"),
        "token": token.decode("ascii"),
    }
    return json.dumps(document, sort_keys=True).encode("ascii") + b"\n"


def is_sealed(data: bytes) -> bool:
    """Whether ``data`` is a document of :func:`seal_secret` (a key written before encryption is its raw text)."""
    return data.lstrip().startswith(b"{")


class SealedSecretError(ValueError):
    """The sealed document is damaged, or the passphrase does not open it."""


class WrongPassphraseError(SealedSecretError):
    """The sealed document is whole, but the passphrase does not open it."""


def open_sealed(data: bytes, passphrase: SecretsPassphrase) -> bytes:
    """The secret sealed by :func:`seal_secret`; :class:`SealedSecretError` when damaged or the wrong passphrase."""
    try:
        document = json.loads(data)
        known = document.get("format") == SEALED_FORMAT and document.get("kdf") == "scrypt"
        n, r, p = int(document["n"]), int(document["r"]), int(document["p"])
        salt = base64.b64decode(document["salt"], validate=True)
        token = str(document["token"]).encode("ascii")
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, UnicodeError):
        raise SealedSecretError("damaged sealed key") from None
    if not known:
        raise SealedSecretError("not a sealed key of a known format")
    if not (2**10 <= n <= 2**20 and 1 <= r <= 32 and 1 <= p <= 16):
        raise SealedSecretError("scrypt parameters out of range")
    try:
        return _wrapping_key(passphrase.value, salt, n, r, p).decrypt(token)
    except InvalidToken:
        raise WrongPassphraseError("the passphrase does not open it") from None
