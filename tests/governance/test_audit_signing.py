"""Ed25519 keys of the audit log: created once, private key 0600, rotation destroys the old private key."""

from __future__ import annotations

import hashlib
import logging
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from vigie.governance.audit import AuditKeyError, AuditKeyring, load_public_key
from vigie.governance.audit.signing import verify_signature


def test_key_is_created_once_with_private_mode(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    keyring = AuditKeyring(tmp_path / "keys")
    key_id = keyring.load_or_create()
    private = tmp_path / "keys" / "signing-key.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert AuditKeyring(tmp_path / "keys").load_or_create() == key_id
    pem = keyring.public_keys()[key_id]
    raw = load_public_key(pem).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert key_id == hashlib.sha256(raw).hexdigest()[:16]
    secret = private.read_text().splitlines()[1]
    assert secret not in caplog.text
    assert "PRIVATE" not in repr(keyring.current_signer())


def test_signatures_verify_only_with_the_right_key(tmp_path: Path) -> None:
    keyring = AuditKeyring(tmp_path / "keys")
    signer = keyring.current_signer()
    signature = signer.sign({"b": 1, "a": [1, "x"]})
    public = load_public_key(signer.public_key_pem)
    assert verify_signature(public, {"a": [1, "x"], "b": 1}, signature)
    assert not verify_signature(public, {"a": [1, "x"], "b": 2}, signature)
    assert not verify_signature(public, {"b": 1, "a": [1, "x"]}, "not base64!")
    other = load_public_key(AuditKeyring(tmp_path / "other").current_signer().public_key_pem)
    assert not verify_signature(other, {"b": 1, "a": [1, "x"]}, signature)


def test_rotate_deletes_old_private_key_and_keeps_public_keys(tmp_path: Path) -> None:
    keyring = AuditKeyring(tmp_path / "keys")
    old = keyring.load_or_create()
    old_private = (tmp_path / "keys" / "signing-key.pem").read_bytes()
    new = keyring.rotate()
    assert new != old
    assert (tmp_path / "keys" / "signing-key.pem").read_bytes() != old_private
    assert stat.S_IMODE((tmp_path / "keys" / "signing-key.pem").stat().st_mode) == 0o600
    assert set(keyring.public_keys()) == {old, new}
    assert AuditKeyring(tmp_path / "keys").load_or_create() == new
    written = keyring.export_public_keys(tmp_path / "out")
    assert sorted(p.name for p in written) == sorted([f"{old}.pem", f"{new}.pem"])
    all_text = "".join(p.read_text() for p in (tmp_path / "keys").rglob("*.pem"))
    assert all_text.count("PRIVATE KEY-----") == 2  # BEGIN and END of the one current key


def test_unreadable_key_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir(mode=0o700)
    (tmp_path / "keys" / "signing-key.pem").write_text("garbage")
    (tmp_path / "keys" / "signing-key.pem").chmod(0o600)
    with pytest.raises(AuditKeyError, match="cannot read the audit signing key"):
        AuditKeyring(tmp_path / "keys").load_or_create()
    with pytest.raises(AuditKeyError, match="not a PEM public key"):
        load_public_key("nope")
