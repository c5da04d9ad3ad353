"""``api.tls`` checked before the service starts (L15): a usable pair becomes uvicorn's ``ssl_*`` arguments; a
missing file, a key that is not the certificate's, or an encrypted key without its passphrase is refused with the
setting to fix (never a passphrase prompt on a terminal)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.tls import loopback_certificate
from vigie.config.models import TlsSettings
from vigie.runtime.assembly.tls import TlsSetupError, uvicorn_tls


def test_a_usable_pair_becomes_uvicorn_arguments_and_no_tls_none(tmp_path: Path) -> None:
    pair = loopback_certificate(tmp_path)
    settings = TlsSettings(certificate_file=pair.certificate_file, private_key_file=pair.private_key_file)
    assert uvicorn_tls(settings) == {
        "ssl_certfile": str(pair.certificate_file),
        "ssl_keyfile": str(pair.private_key_file),
        "ssl_keyfile_password": None,
    }
    assert uvicorn_tls(None) == {}


def test_an_encrypted_key_needs_its_passphrase_file(tmp_path: Path) -> None:
    pair = loopback_certificate(tmp_path, passphrase=b"tls key passphrase")
    settings = TlsSettings(certificate_file=pair.certificate_file, private_key_file=pair.private_key_file)
    with pytest.raises(TlsSetupError, match="private key is encrypted: name a file holding its passphrase"):
        uvicorn_tls(settings)
    (tmp_path / "key.pass").write_text("wrong passphrase\n", encoding="utf-8")
    wrong = settings.model_copy(update={"private_key_passphrase_file": tmp_path / "key.pass"})
    with pytest.raises(TlsSetupError, match="cannot be used together") as caught:
        uvicorn_tls(wrong)
    assert "wrong passphrase" not in str(caught.value)
    (tmp_path / "key.pass").write_text("tls key passphrase\n", encoding="utf-8")
    assert uvicorn_tls(wrong)["ssl_keyfile_password"] == "tls key passphrase"


def test_a_missing_file_or_a_key_of_another_certificate_is_refused(tmp_path: Path) -> None:
    pair, other = loopback_certificate(tmp_path / "a"), loopback_certificate(tmp_path / "b")
    missing = re.escape(f"api.tls.certificate_file: {tmp_path / 'none.pem'} does not exist")
    with pytest.raises(TlsSetupError, match=missing):
        uvicorn_tls(TlsSettings(certificate_file=tmp_path / "none.pem", private_key_file=pair.private_key_file))
    with pytest.raises(TlsSetupError, match="cannot be used together"):
        uvicorn_tls(TlsSettings(certificate_file=pair.certificate_file, private_key_file=other.private_key_file))


def test_a_key_every_user_can_read_is_started_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pair = loopback_certificate(tmp_path)
    pair.private_key_file.chmod(0o644)
    uvicorn_tls(TlsSettings(certificate_file=pair.certificate_file, private_key_file=pair.private_key_file))
    assert f"the TLS private key {pair.private_key_file} is readable by every user" in caplog.text
