"""``vigie serve`` with TLS and encrypted keys, as an integrator runs it (L15): a real process serving HTTPS on
loopback with a certificate made here, its private keys encrypted at rest under a passphrase kept in a key file
outside the data folder, and the starts it must refuse (a key other users can read, no passphrase, a wrong one, a
TLS key that is not the certificate's)."""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tests.support.cli_accounts import create_account, login_env
from tests.support.configs import config_yaml
from tests.support.servers import free_port
from tests.support.tls import LoopbackCertificate, loopback_certificate
from tests.support.vigie_cli import TEST_PASSWORD, add_operator, start_vigie, stop_vigie
from tests.support.waiting import wait_for
from vigie.config import load_config
from vigie.governance.audit import key_id_of
from vigie.governance.audit.head import head_signature_ok, read_heads
from vigie.governance.keys_folder import is_sealed
from vigie.runtime.assembly.audit import audit_keyring
from vigie.runtime.clock import system_clock

PASSPHRASE_ENV = "VIGIE_SECRETS_PASSPHRASE"


def https_config(tmp_path: Path, port: int, certificate: LoopbackCertificate, secrets_key_file: Path | None) -> Path:
    """A configuration with no camera serving HTTPS on ``port``; the keys' passphrase from ``secrets_key_file``
    (none: from the environment, or nothing)."""
    text = config_yaml(tmp_path, "", port=port).replace(
        f"api: {{host: 127.0.0.1, port: {port}}}\n",
        f"api:\n  host: 127.0.0.1\n  port: {port}\n  tls:\n"
        f"    certificate_file: {certificate.certificate_file}\n"
        f"    private_key_file: {certificate.private_key_file}\n",
    )
    if secrets_key_file is not None:
        text += f"security:\n  secrets_key_file: {secrets_key_file}\n"
    path = tmp_path / ("vigie.yaml" if secrets_key_file is not None else "vigie-no-passphrase.yaml")
    path.write_text(text, encoding="utf-8")
    return path


def secrets_key_file(folder: Path) -> tuple[Path, str]:
    """A passphrase file outside the data folder, mode 0600, as an administrator makes one."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    passphrase = secrets.token_urlsafe(32)
    path = folder / "secrets.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(passphrase + "\n")
    return path, passphrase


def https_login(base: str, certificate: LoopbackCertificate, username: str) -> http.client.HTTPResponse:
    """Log in over HTTPS, verifying the server's certificate; retried while the server starts."""
    request = urllib.request.Request(
        f"{base}/api/auth/login",
        data=json.dumps({"username": username, "password": TEST_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    context = certificate.client_context()

    def attempt() -> http.client.HTTPResponse | None:
        try:
            response: http.client.HTTPResponse = urllib.request.urlopen(request, timeout=5, context=context)
        except (ConnectionError, urllib.error.URLError) as err:
            if isinstance(err, urllib.error.HTTPError):
                raise
            return None
        return response

    return wait_for(attempt, 60, "the HTTPS login")


def run_serve(config: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``vigie serve`` expected to refuse the start: its exit code and everything it printed."""
    return subprocess.run(
        [sys.executable, "-m", "vigie.cli", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.fixture
def no_passphrase_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)


@pytest.mark.usefixtures("no_passphrase_in_env")
def test_serve_over_https_with_keys_encrypted_at_rest(tmp_path: Path) -> None:
    port = free_port()
    certificate = loopback_certificate(tmp_path / "tls")
    key_file, passphrase = secrets_key_file(tmp_path / "etc")
    config = https_config(tmp_path, port, certificate, key_file)
    operator = add_operator(config)  # a command's process: opens the keys the way the service does
    proc = start_vigie("serve", "--config", str(config))
    try:
        response = https_login(f"https://127.0.0.1:{port}", certificate, operator)
        cookies = response.headers.get_all("Set-Cookie") or []
        session = [c for c in cookies if c.startswith("vigie_session=")]
        assert session and "secure" in session[0].lower(), cookies  # the session cookie never leaves over HTTP
        with pytest.raises((urllib.error.URLError, http.client.HTTPException, ConnectionError)):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/public/cameras", timeout=5)  # no plain HTTP
    finally:
        output = stop_vigie(proc, signal.SIGTERM)
    assert proc.returncode == 0, output
    assert f"https://127.0.0.1:{port}/" in output
    assert passphrase not in output
    assert "UNENCRYPTED" not in output

    keys = tmp_path / "data" / "keys"
    pem = (keys / "signing-key.pem").read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem
    with pytest.raises(TypeError):  # useless to whoever copies the data folder
        load_pem_private_key(pem, password=None)
    key = load_pem_private_key(pem, password=passphrase.encode())
    assert isinstance(key, Ed25519PrivateKey)
    public = {key_id_of(key.public_key()): key.public_key()}
    assert is_sealed((keys / "accounts.fernet").read_bytes())
    # the service signed its stop's head with that key
    head = read_heads(tmp_path / "data" / "audit-heads.jsonl")[-1]
    assert head_signature_ok(head, public) is True
    # and another command, another process, opens it the same way
    out = tmp_path / "head.json"
    command = [sys.executable, "-m", "vigie.cli", "audit", "head", "--config", str(config), "-o", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert head_signature_ok(json.loads(out.read_text(encoding="utf-8")), public) is True
    # `vigie login` in its own process opens the sealed accounts key too: a DPO's second factor is checked with it
    dpo = create_account(config, "d.dpo", ["dpo"], folder=tmp_path / "sessions", clock=system_clock)
    assert dpo.totp_secret is not None
    login_env(config, dpo)


@pytest.mark.usefixtures("no_passphrase_in_env")
def test_serve_refuses_open_keys_a_missing_or_wrong_passphrase_and_a_foreign_tls_key(tmp_path: Path) -> None:
    port = free_port()
    certificate = loopback_certificate(tmp_path / "tls")
    key_file, passphrase = secrets_key_file(tmp_path / "etc")
    config = https_config(tmp_path, port, certificate, key_file)
    add_operator(config)  # the accounts key, sealed
    audit_keyring(load_config(config)).load_or_create()  # the signing key, encrypted, as the service makes it
    signing_key = tmp_path / "data" / "keys" / "signing-key.pem"
    assert b"ENCRYPTED" in signing_key.read_bytes()

    signing_key.chmod(0o644)
    refused = run_serve(config)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "open to other users" in refused.stderr and f"chmod 600 {signing_key}" in refused.stderr
    assert "nothing was started" in refused.stderr
    signing_key.chmod(0o600)

    without = https_config(tmp_path, port, certificate, None)  # the same data folder, no passphrase given
    refused = run_serve(without)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "is encrypted and no secrets passphrase was given" in refused.stderr
    assert PASSPHRASE_ENV in refused.stderr and "security.secrets_key_file" in refused.stderr

    wrong = "not the passphrase the keys were encrypted with"
    refused = run_serve(without, {PASSPHRASE_ENV: wrong})
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"given by ${PASSPHRASE_ENV} does not open it" in refused.stderr
    assert wrong not in refused.stdout + refused.stderr
    assert passphrase not in refused.stdout + refused.stderr

    other = loopback_certificate(tmp_path / "other-tls")  # a key that is not the certificate's
    pair = LoopbackCertificate(certificate.certificate_file, other.private_key_file)
    mismatched = https_config(tmp_path, port, pair, key_file)
    refused = run_serve(mismatched)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "api.tls: the certificate" in refused.stderr and "cannot be used together" in refused.stderr
    assert "nothing was started" in refused.stderr
