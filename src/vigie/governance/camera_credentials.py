"""Camera accounts kept out of the configuration file: ``<data_dir>/keys/camera-credentials``.

A métropole's 4,891 cameras each have an account (L17: never the factory one). Their passwords do not belong in
``vigie.yaml`` (a file copied, diffed, mailed to an integrator): a camera names its account (``credentials: NAME``)
and the password lives here, in the keys folder, sealed under the installation's secrets passphrase like the other
private keys (:func:`vigie.governance.keys_folder.seal_secret`: scrypt, Fernet), or stored in clear with a warning
when no passphrase is given. The processes that open the cameras read it at their start; the URLs they build with
it never leave the process's memory (the configuration's URL fields have no ``repr``, and no log prints them).

Names are slugs; a password is 1–256 printable characters; factory accounts are refused (L17). Adding, changing and
removing an account is audited (``config.changed``, the name only: never the username nor the password).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import quote, urlsplit, urlunsplit

from vigie.config.camera import DEFAULT_CREDENTIALS
from vigie.config.fields import SLUG_PATTERN
from vigie.governance.keys_folder import (
    SEALED_FORMAT,
    KeysFolder,
    KeyStorageError,
    SealedSecretError,
    WrongPassphraseError,
    open_sealed,
    seal_secret,
)

FILE_NAME: Final = "camera-credentials"
WHAT: Final = "the camera credentials file"
FORMAT: Final = "vigie-camera-credentials/1"
MAX_PASSWORD: Final = 256
MAX_ACCOUNTS: Final = 100_000
_NAME = re.compile(SLUG_PATTERN)
_SCHEMES_WITH_ACCOUNTS: Final = frozenset({"rtsp", "rtsps", "http", "https"})


class CredentialError(ValueError):
    """A name, username or password that cannot be stored, or a camera whose account is missing; the message says
    what to do and never carries a password."""


@dataclass(frozen=True, slots=True)
class CameraAccount:
    username: str
    password: str = field(repr=False)


def check_account(name: str, username: str, password: str) -> None:
    """Refuse what cannot be stored: a name that is no slug, an empty or odd username, an empty, too long or
    non-printable password, a factory account (L17)."""
    if not _NAME.fullmatch(name):
        raise CredentialError(
            f"credentials name {name!r}: use lower-case letters, digits and inner hyphens (at most 64), e.g. 'cam-001'"
        )
    if not username or len(username) > 128 or not username.isprintable() or ":" in username:
        raise CredentialError(f"credentials {name}: the username must be 1–128 printable characters, without ':'")
    if not password or len(password) > MAX_PASSWORD or not password.isprintable():
        raise CredentialError(f"credentials {name}: the password must be 1–{MAX_PASSWORD} printable characters")
    if (username, password) in DEFAULT_CREDENTIALS:
        raise CredentialError(
            f"credentials {name}: that is a camera's factory account (L17); set a unique account and password on "
            "the camera first"
        )


class CameraCredentialStore:
    """Reads and writes the camera accounts in the keys folder (permissions checked on every read)."""

    def __init__(self, keys: KeysFolder) -> None:
        self.keys = keys

    @property
    def path(self) -> str:
        return str(self.keys.path / FILE_NAME)

    def accounts(self) -> dict[str, CameraAccount]:
        """Every stored account by name ({} when the file does not exist yet)."""
        data = self.keys.read_private(FILE_NAME, WHAT)
        if data is None:
            return {}
        try:
            document = json.loads(data)
            if isinstance(document, dict) and document.get("format") == SEALED_FORMAT:
                if self.keys.passphrase is None:
                    raise self.keys.missing_passphrase(self.keys.path / FILE_NAME, WHAT)
                document = json.loads(self._open(data))
            if document.get("format") != FORMAT:
                raise ValueError("unknown format")
            return {
                str(name): CameraAccount(str(entry["username"]), str(entry["password"]))
                for name, entry in dict(document["accounts"]).items()
            }
        except (ValueError, KeyError, TypeError, AttributeError):
            raise KeyStorageError(
                f"{WHAT} {self.path} is damaged: restore it from a backup, or remove it and set each camera's "
                "account again with `vigie cameras credentials set`"
            ) from None

    def _open(self, data: bytes) -> bytes:
        passphrase = self.keys.passphrase
        assert passphrase is not None
        for candidate in (passphrase, passphrase.previous):
            if candidate is None:
                continue
            try:
                return open_sealed(data, candidate)
            except WrongPassphraseError:
                continue
            except SealedSecretError:
                break
        raise self.keys.wrong_passphrase(self.keys.path / FILE_NAME, WHAT)

    def set(self, name: str, username: str, password: str) -> bool:
        """Store (or replace) an account; True when it replaced one."""
        check_account(name, username, password)
        accounts = self.accounts()
        replaced = name in accounts
        if not replaced and len(accounts) >= MAX_ACCOUNTS:
            raise CredentialError(f"the store already holds {MAX_ACCOUNTS} accounts: remove unused ones first")
        accounts[name] = CameraAccount(username, password)
        self._write(accounts)
        return replaced

    def remove(self, name: str) -> bool:
        """Forget an account; False when there was none of that name."""
        accounts = self.accounts()
        if accounts.pop(name, None) is None:
            return False
        self._write(accounts)
        return True

    def _write(self, accounts: dict[str, CameraAccount]) -> None:
        document = {
            "format": FORMAT,
            "accounts": {n: {"username": a.username, "password": a.password} for n, a in sorted(accounts.items())},
        }
        data = json.dumps(document, sort_keys=True).encode("utf-8")
        if self.keys.passphrase is not None:
            data = seal_secret(data, self.keys.passphrase)
        else:
            self.keys.warn_unencrypted(self.keys.path / FILE_NAME, WHAT)
        self.keys.write_private(FILE_NAME, data, replace=True)


def with_account(url: str, account: CameraAccount) -> str:
    """``url`` with the account in its authority (``rtsp://user:password@host:554/…``), both percent-encoded; a
    ``file:`` URL (simulated footage) is returned as it is."""
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES_WITH_ACCOUNTS:
        return url
    if parts.username is not None or parts.password is not None:
        raise CredentialError("the stream URL already carries an account: remove `user:password@` from it")
    host = parts.netloc
    userinfo = f"{quote(account.username, safe='')}:{quote(account.password, safe='')}"
    return urlunsplit((parts.scheme, f"{userinfo}@{host}", parts.path, parts.query, parts.fragment))
