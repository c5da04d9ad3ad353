"""Runs panva's ``oidc-provider`` (npm, pinned in tests/oidc/package.json) with ``node``: a real OpenID Provider on
loopback for the single sign-on tests. ``scripts/setup.sh --with-oidc`` installs it (``npm ci``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.jwk import RSAKey

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "provider.mjs"
PACKAGE = HERE / "node_modules" / "oidc-provider" / "package.json"


def provider_missing() -> str | None:
    """Why the test provider cannot run here (None when it can)."""
    if shutil.which("node") is None:
        return "node is not installed (scripts/setup.sh --with-oidc installs it)"
    if not PACKAGE.is_file():
        return "oidc-provider is not installed: run `npm ci --prefix tests/oidc` (or scripts/setup.sh --with-oidc)"
    return None


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    client_id: str
    client_secret: str
    redirect_uri: str


def signing_key(kid: str = "test-key-1") -> RSAKey:
    """A fresh RSA key the provider signs ID tokens with (the test keeps it, to forge tokens the provider's
    published keys accept)."""
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


class OpenIdProvider:
    """``node provider.mjs`` on ``port``, issuer ``http://127.0.0.1:PORT``, with static clients and ``key``."""

    def __init__(self, port: int, clients: Sequence[RegisteredClient], key: RSAKey) -> None:
        self.port = port
        self.issuer = f"http://127.0.0.1:{port}"
        self.key = key
        settings: dict[str, Any] = {
            "issuer": self.issuer,
            "port": port,
            "jwks": {"keys": [key.as_dict(private=True)]},
            "clients": [
                {"client_id": c.client_id, "client_secret": c.client_secret, "redirect_uris": [c.redirect_uri]}
                for c in clients
            ],
        }
        self._proc = subprocess.Popen(
            ["node", str(SCRIPT)],
            env={**os.environ, "VIGIE_TEST_OIDC": json.dumps(settings)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stderr: list[str] = []
        ready = self._proc.stdout.readline() if self._proc.stdout else ""
        threading.Thread(target=self._drain, daemon=True).start()
        if ready.strip() != "ready":
            self.close()
            raise RuntimeError(f"oidc-provider did not start: {ready!r} {''.join(self.stderr)[-2000:]}")

    def _drain(self) -> None:
        if self._proc.stderr is not None:
            for line in self._proc.stderr:
                self.stderr.append(line)

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
