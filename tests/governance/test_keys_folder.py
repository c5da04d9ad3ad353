"""The audit signing key at rest (L15): encrypted PKCS#8 under the secrets passphrase, a clear key encrypted in place
with the same key id, clear errors naming what to set for a missing or wrong passphrase, and a key or folder other
users can reach refused (or fixed when told to)."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from vigie.governance.audit import AuditKeyError, AuditKeyring, load_public_key
from vigie.governance.audit.signing import verify_signature
from vigie.governance.keys_folder import (
    KeysFolder,
    KeyStorageError,
    SealedSecretError,
    SecretsPassphrase,
    WrongPassphraseError,
    is_sealed,
    open_sealed,
    seal_secret,
)

PASSPHRASE = SecretsPassphrase(b"a test passphrase, long enough", "$VIGIE_SECRETS_PASSPHRASE")
OTHER = SecretsPassphrase(b"another passphrase, as long", "the secrets key file /etc/vigie/secrets.key")


def test_the_key_on_disk_is_encrypted_and_the_keyring_signs_with_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    keyring = AuditKeyring(tmp_path / "keys", passphrase=PASSPHRASE)
    signer = keyring.current_signer()
    pem = (tmp_path / "keys" / "signing-key.pem").read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    with pytest.raises(TypeError):
        load_pem_private_key(pem, password=None)
    assert load_pem_private_key(pem, password=PASSPHRASE.value) is not None
    signature = signer.sign({"seq": 1})
    assert verify_signature(load_public_key(keyring.public_keys()[signer.key_id]), {"seq": 1}, signature)
    assert AuditKeyring(tmp_path / "keys", passphrase=PASSPHRASE).load_or_create() == signer.key_id
    assert "UNENCRYPTED" not in caplog.text
    assert PASSPHRASE.value.decode() not in caplog.text + repr(PASSPHRASE)


def test_a_clear_key_is_encrypted_in_place_keeping_its_key_id(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    key_id = AuditKeyring(tmp_path / "keys").load_or_create()
    assert "UNENCRYPTED" in caplog.text  # said loudly where the key is kept in clear
    assert b"BEGIN PRIVATE KEY" in (tmp_path / "keys" / "signing-key.pem").read_bytes()
    assert AuditKeyring(tmp_path / "keys", passphrase=PASSPHRASE).load_or_create() == key_id
    pem = (tmp_path / "keys" / "signing-key.pem").read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert oct((tmp_path / "keys" / "signing-key.pem").stat().st_mode & 0o777) == oct(0o600)
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["public", "signing-key.pem"]  # no temp left


def test_missing_or_wrong_passphrase_says_what_to_set(tmp_path: Path) -> None:
    AuditKeyring(tmp_path / "keys", passphrase=PASSPHRASE).load_or_create()
    with pytest.raises(AuditKeyError) as missing:
        AuditKeyring(tmp_path / "keys").load_or_create()
    assert "is encrypted and no secrets passphrase was given" in str(missing.value)
    assert "VIGIE_SECRETS_PASSPHRASE" in str(missing.value) and "security.secrets_key_file" in str(missing.value)
    with pytest.raises(AuditKeyError) as wrong:
        AuditKeyring(tmp_path / "keys", passphrase=OTHER).load_or_create()
    assert "given by the secrets key file /etc/vigie/secrets.key does not open it" in str(wrong.value)
    for err in (missing.value, wrong.value):
        assert PASSPHRASE.value.decode() not in str(err) and OTHER.value.decode() not in str(err)


def test_a_key_or_folder_open_to_others_is_refused_unless_told_to_fix_it(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    key_id = AuditKeyring(keys, passphrase=PASSPHRASE).load_or_create()
    private = keys / "signing-key.pem"
    private.chmod(0o644)
    with pytest.raises(AuditKeyError, match=re.escape(f"open to other users (mode 644): run `chmod 600 {private}`")):
        AuditKeyring(keys, passphrase=PASSPHRASE).load_or_create()
    private.chmod(0o600)
    keys.chmod(0o755)
    with pytest.raises(AuditKeyError, match=re.escape(f"the keys folder {keys} is open to other users")) as caught:
        AuditKeyring(keys, passphrase=PASSPHRASE).load_or_create()
    assert f"`chmod 700 {keys}`" in str(caught.value)
    private.chmod(0o640)
    assert AuditKeyring(keys, passphrase=PASSPHRASE, fix_permissions=True).load_or_create() == key_id
    assert keys.stat().st_mode & 0o777 == 0o700
    assert private.stat().st_mode & 0o777 == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_key_owned_by_another_user_is_refused_even_with_the_fix(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    AuditKeyring(keys, passphrase=PASSPHRASE).load_or_create()
    os.chown(keys / "signing-key.pem", 54321, -1)
    with pytest.raises(AuditKeyError, match="belongs to user id 54321, not to the user running vigie"):
        AuditKeyring(keys, passphrase=PASSPHRASE, fix_permissions=True).load_or_create()


def test_a_new_key_folder_is_private(tmp_path: Path) -> None:
    folder = KeysFolder(tmp_path / "data" / "keys")
    assert folder.write_private("accounts.fernet", b"x", replace=False)
    assert not folder.write_private("accounts.fernet", b"y", replace=False)  # another process was first
    assert folder.read_private("accounts.fernet", "the accounts key") == b"x"
    assert (tmp_path / "data" / "keys").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "data" / "keys" / "accounts.fernet").stat().st_mode & 0o777 == 0o600
    assert folder.read_private("missing", "nothing") is None


def test_a_sealed_secret_opens_with_its_passphrase_only() -> None:
    sealed = seal_secret(b"the accounts key", PASSPHRASE)
    assert is_sealed(sealed) and b"the accounts key" not in sealed and PASSPHRASE.value not in sealed
    assert open_sealed(sealed, PASSPHRASE) == b"the accounts key"
    with pytest.raises(WrongPassphraseError):
        open_sealed(sealed, OTHER)
    with pytest.raises(SealedSecretError, match="damaged"):
        open_sealed(b"{not json", PASSPHRASE)
    assert not is_sealed(b"c2VjcmV0IGtleSBpbiBjbGVhciAxMjM0NTY3ODkwMTI=")


def test_storage_errors_are_audit_key_errors_for_the_commands() -> None:
    assert issubclass(AuditKeyError, KeyStorageError)


def test_a_clear_key_in_a_folder_that_cannot_be_written_is_used_and_said_to_stay_clear(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An auditor's command on a read-only copy: the key still signs; the log says it could not be encrypted."""
    key_id = AuditKeyring(tmp_path / "keys").load_or_create()

    def read_only(*_args: object, **_kwargs: object) -> bool:
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr(KeysFolder, "write_private", read_only)
    assert AuditKeyring(tmp_path / "keys", passphrase=PASSPHRASE).load_or_create() == key_id
    assert "cannot be encrypted again now: Read-only file system" in caplog.text
    assert b"BEGIN PRIVATE KEY" in (tmp_path / "keys" / "signing-key.pem").read_bytes()
