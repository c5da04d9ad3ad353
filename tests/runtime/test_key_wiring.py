"""The secrets passphrase as every ``vigie`` process reads it (L15): ``security.secrets_key_file`` kept outside the
data folder and private to the user, else ``$VIGIE_SECRETS_PASSPHRASE``; the accounts key sealed under it at rest;
the demo's own key file beside its data folder."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from vigie.config.models import VigieConfig
from vigie.governance.audit import AuditKeyError
from vigie.governance.keys_folder import KeysFolder, KeyStorageError, SecretsPassphrase, is_sealed
from vigie.runtime.assembly.audit import audit_keyring, keys_folder, secrets_passphrase
from vigie.runtime.assembly.auth import SEALING_KEY_FILE, sealing_key
from vigie.runtime.assembly.demo import demo_config, demo_secrets_key

PASSPHRASE = "a passphrase of thirty-two chars"


def config(tmp_path: Path, **security: Any) -> VigieConfig:
    return VigieConfig.model_validate(
        {"version": 1, "storage": {"data_dir": str(tmp_path / "data")}, "security": security}
    )


def key_file(path: Path, text: str = PASSPHRASE + "\n", mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_the_passphrase_comes_from_the_key_file_else_the_variable(tmp_path: Path) -> None:
    path = key_file(tmp_path / "etc" / "secrets.key")
    from_file = secrets_passphrase(config(tmp_path, secrets_key_file=str(path)), {"VIGIE_SECRETS_PASSPHRASE": "x" * 20})
    assert from_file is not None and from_file.value == PASSPHRASE.encode()  # the file wins over the variable
    assert str(path) in from_file.source and PASSPHRASE not in repr(from_file)
    from_env = secrets_passphrase(config(tmp_path), {"VIGIE_SECRETS_PASSPHRASE": f"  {PASSPHRASE}\n"})
    assert from_env == SecretsPassphrase(PASSPHRASE.encode(), "$VIGIE_SECRETS_PASSPHRASE")
    named = secrets_passphrase(config(tmp_path, passphrase_env="CITY_KEYS"), {"CITY_KEYS": PASSPHRASE})
    assert named is not None and named.source == "$CITY_KEYS"
    assert secrets_passphrase(config(tmp_path), {}) is None
    assert secrets_passphrase(config(tmp_path), {"VIGIE_SECRETS_PASSPHRASE": "  "}) is None


def test_a_key_file_that_protects_nothing_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    inside = key_file(tmp_path / "data" / "secrets.key")
    relative_data = VigieConfig.model_validate(  # the paths as written do not show it: the runtime resolves them
        {"version": 1, "storage": {"data_dir": "data"}, "security": {"secrets_key_file": str(inside)}}
    )
    with pytest.raises(KeyStorageError, match="is inside the data directory"):
        secrets_passphrase(relative_data, {})
    shared = key_file(tmp_path / "etc" / "secrets.key", mode=0o644)
    expected = re.escape(f"open to other users (mode 644): run `chmod 600 {shared.resolve()}`")
    with pytest.raises(KeyStorageError, match=expected):
        secrets_passphrase(config(tmp_path, secrets_key_file=str(shared)), {})
    fixed = secrets_passphrase(config(tmp_path, secrets_key_file=str(shared), fix_key_permissions=True), {})
    assert fixed is not None and shared.stat().st_mode & 0o777 == 0o600
    short = key_file(tmp_path / "etc" / "short.key", "too short\n")
    with pytest.raises(KeyStorageError, match="shorter than 16 characters") as caught:
        secrets_passphrase(config(tmp_path, secrets_key_file=str(short)), {})
    assert "too short" not in str(caught.value)
    with pytest.raises(KeyStorageError, match="does not exist: create it"):
        secrets_passphrase(config(tmp_path, secrets_key_file=str(tmp_path / "etc" / "none.key")), {})


def test_the_audit_keyring_reports_a_bad_key_file_as_a_key_error(tmp_path: Path) -> None:
    """The commands report key errors (``AuditKeyError``) as such: a bad passphrase source is one of them."""
    with pytest.raises(AuditKeyError, match="does not exist"):
        audit_keyring(config(tmp_path, secrets_key_file=str(tmp_path / "missing.key")), {})


def test_the_accounts_key_is_sealed_at_rest_and_a_clear_one_is_sealed_in_place(tmp_path: Path) -> None:
    keys = tmp_path / "data" / "keys"
    clear = sealing_key(KeysFolder(keys))  # an installation from before encryption
    assert (keys / SEALING_KEY_FILE).read_bytes().strip() == clear
    assert (keys.stat().st_mode & 0o777, (keys / SEALING_KEY_FILE).stat().st_mode & 0o777) == (0o700, 0o600)
    folder = keys_folder(config(tmp_path), {"VIGIE_SECRETS_PASSPHRASE": PASSPHRASE})
    assert sealing_key(folder) == clear
    stored = (keys / SEALING_KEY_FILE).read_bytes()
    assert is_sealed(stored) and clear not in stored
    assert sealing_key(folder) == clear  # opened again, not sealed twice
    with pytest.raises(KeyStorageError, match="is encrypted and no secrets passphrase was given"):
        sealing_key(KeysFolder(keys))
    wrong = KeysFolder(keys, passphrase=SecretsPassphrase(b"x" * 20, "$VIGIE_SECRETS_PASSPHRASE"))
    with pytest.raises(KeyStorageError, match=r"given by \$VIGIE_SECRETS_PASSPHRASE does not open it"):
        sealing_key(wrong)


def test_a_new_accounts_key_is_sealed_from_the_start(tmp_path: Path) -> None:
    folder = keys_folder(config(tmp_path), {"VIGIE_SECRETS_PASSPHRASE": PASSPHRASE})
    key = sealing_key(folder)
    assert is_sealed((folder.path / SEALING_KEY_FILE).read_bytes())
    assert sealing_key(keys_folder(config(tmp_path), {"VIGIE_SECRETS_PASSPHRASE": PASSPHRASE})) == key


def test_the_demo_keeps_its_key_file_beside_its_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    data.mkdir()
    path = demo_secrets_key(data)
    assert path == tmp_path / "demo.secrets-key"
    passphrase_text = path.read_text(encoding="utf-8")
    assert path.stat().st_mode & 0o777 == 0o600 and len(passphrase_text.strip()) >= 32
    assert demo_secrets_key(data) == path and path.read_text(encoding="utf-8") == passphrase_text  # kept
    demo = demo_config(data, "127.0.0.1", 8080, {"sim1": "file:///x.mp4"}, secrets_key_file=path)
    assert demo.security.secrets_key_file == path
    passphrase = secrets_passphrase(demo, {})
    assert passphrase is not None and os.fsdecode(path) in passphrase.source


def test_an_empty_key_file_is_refused_not_read_as_no_encryption(tmp_path: Path) -> None:
    empty = key_file(tmp_path / "etc" / "secrets.key", "\n")
    with pytest.raises(KeyStorageError, match="shorter than 16 characters"):
        secrets_passphrase(config(tmp_path, secrets_key_file=str(empty)), {})


def test_changing_the_passphrase_re_encrypts_both_keys_with_the_new_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old_env = {"VIGIE_SECRETS_PASSPHRASE": PASSPHRASE}
    key_id = audit_keyring(config(tmp_path), old_env).load_or_create()
    accounts = sealing_key(keys_folder(config(tmp_path), old_env))
    new = "the new passphrase, also long enough"
    changing = {"VIGIE_SECRETS_PASSPHRASE": new, "VIGIE_SECRETS_PREVIOUS_PASSPHRASE": PASSPHRASE}
    assert audit_keyring(config(tmp_path), changing).load_or_create() == key_id
    assert sealing_key(keys_folder(config(tmp_path), changing)) == accounts
    assert "re-encrypted with $VIGIE_SECRETS_PASSPHRASE" in caplog.text
    assert "sealed now with $VIGIE_SECRETS_PASSPHRASE" in caplog.text
    done = {"VIGIE_SECRETS_PASSPHRASE": new}  # the previous one removed: the new one alone opens both
    assert audit_keyring(config(tmp_path), done).load_or_create() == key_id
    assert sealing_key(keys_folder(config(tmp_path), done)) == accounts
    with pytest.raises(AuditKeyError, match="does not open it"):
        audit_keyring(config(tmp_path), old_env).load_or_create()
    with pytest.raises(KeyStorageError, match="no new passphrase is given"):
        secrets_passphrase(config(tmp_path), {"VIGIE_SECRETS_PREVIOUS_PASSPHRASE": PASSPHRASE})
    wrong_both = {"VIGIE_SECRETS_PASSPHRASE": "x" * 20, "VIGIE_SECRETS_PREVIOUS_PASSPHRASE": "y" * 20}
    with pytest.raises(AuditKeyError, match=r"nor the previous one given by \$VIGIE_SECRETS_PREVIOUS_PASSPHRASE"):
        audit_keyring(config(tmp_path), wrong_both).load_or_create()
    for text in (new, PASSPHRASE):
        assert text not in caplog.text
