"""Camera accounts kept in the keys folder, sealed under the secrets passphrase; never the factory ones (L17)."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from vigie.governance.camera_credentials import (
    FILE_NAME,
    CameraAccount,
    CameraCredentialStore,
    CredentialError,
    with_account,
)
from vigie.governance.keys_folder import KeysFolder, KeyStorageError, SecretsPassphrase

PASSPHRASE = SecretsPassphrase(b"a test passphrase, long enough", "$VIGIE_SECRETS_PASSPHRASE")
OTHER = SecretsPassphrase(b"another passphrase, as long", "the secrets key file /etc/vigie/secrets.key")
PASSWORD = "Qx7!pw-of-cam:001/é"


def store(path: Path, passphrase: SecretsPassphrase | None = PASSPHRASE) -> CameraCredentialStore:
    return CameraCredentialStore(KeysFolder(path, passphrase=passphrase))


def test_accounts_are_sealed_under_the_passphrase(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    assert store(keys).accounts() == {}
    assert store(keys).set("cam-001", "vigie-rec", PASSWORD) is False
    assert store(keys).set("cam-002", "vigie-rec", "another-one") is False
    raw = (keys / FILE_NAME).read_bytes()
    assert PASSWORD.encode() not in raw and b"vigie-rec" not in raw and b"another-one" not in raw
    assert stat.S_IMODE((keys / FILE_NAME).stat().st_mode) == 0o600
    assert store(keys).accounts()["cam-001"] == CameraAccount("vigie-rec", PASSWORD)
    assert store(keys).set("cam-001", "vigie-rec", "changed-pw") is True
    assert store(keys).remove("cam-002") is True and store(keys).remove("cam-002") is False
    assert store(keys).accounts() == {"cam-001": CameraAccount("vigie-rec", "changed-pw")}
    with pytest.raises(KeyStorageError, match="does not open it") as wrong:
        store(keys, OTHER).accounts()
    with pytest.raises(KeyStorageError, match="no secrets passphrase was given") as missing:
        store(keys, None).accounts()
    assert "changed-pw" not in str(wrong.value) + str(missing.value)
    assert "changed-pw" not in repr(store(keys).accounts())


def test_without_a_passphrase_the_file_is_clear_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        store(tmp_path / "keys", None).set("cam-001", "vigie-rec", PASSWORD)
    assert "UNENCRYPTED" in caplog.text and PASSWORD not in caplog.text
    assert store(tmp_path / "keys", None).accounts()["cam-001"].password == PASSWORD
    # A passphrase given later: the clear file is still read, and sealed at the next change.
    assert store(tmp_path / "keys").set("cam-002", "vigie-rec", "second") is False
    assert PASSWORD.encode() not in (tmp_path / "keys" / FILE_NAME).read_bytes()
    assert set(store(tmp_path / "keys").accounts()) == {"cam-001", "cam-002"}


@pytest.mark.parametrize(
    ("name", "username", "password", "message"),
    [
        ("cam-001", "admin", "admin", "factory account"),
        ("cam-001", "admin", "", "1–256 printable"),
        ("cam-001", "root", "pass\nword", "1–256 printable"),
        ("cam-001", "", "secret", "username must be"),
        ("cam-001", "a:b", "secret", "without ':'"),
        ("Cam 1", "op", "secret", "credentials name 'Cam 1'"),
        ("cam-001", "op", "x" * 257, "1–256 printable"),
    ],
)
def test_what_cannot_be_an_account_is_refused(
    tmp_path: Path, name: str, username: str, password: str, message: str
) -> None:
    with pytest.raises(CredentialError, match=message) as refused:
        store(tmp_path / "keys").set(name, username, password)
    assert not password or password not in str(refused.value)
    assert not (tmp_path / "keys" / FILE_NAME).exists()


def test_a_damaged_file_is_explained(tmp_path: Path) -> None:
    keys = KeysFolder(tmp_path / "keys")
    keys.write_private(FILE_NAME, b'{"format": "something else"}', replace=True)
    with pytest.raises(KeyStorageError, match="is damaged: restore it"):
        CameraCredentialStore(keys).accounts()


def test_the_account_goes_into_stream_urls_encoded() -> None:
    account = CameraAccount("op cam", "p@ss:w/rd%")
    assert with_account("rtsp://10.0.0.5:554/Streaming/101", account) == (
        "rtsp://op%20cam:p%40ss%3Aw%2Frd%25@10.0.0.5:554/Streaming/101"
    )
    assert with_account("https://cam.local/video?x=1", account).startswith("https://op%20cam:p%40ss")
    assert with_account("file:///srv/sim/street.mp4", account) == "file:///srv/sim/street.mp4"
    with pytest.raises(CredentialError, match="already carries an account"):
        with_account("rtsp://u:p@10.0.0.5/", account)
