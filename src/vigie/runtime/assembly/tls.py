"""HTTPS served by Vigie itself (``api.tls``, L15): the certificate and key are checked before anything starts, then
handed to uvicorn.

The check loads them into a TLS context exactly as uvicorn will, so that a wrong path, a key that does not match
the certificate or a missing key passphrase stops the start with a message saying which setting to fix, instead of
a traceback from inside the server (or OpenSSL asking for a passphrase on a terminal no one watches)."""

from __future__ import annotations

import logging
import ssl
import stat
from pathlib import Path
from typing import Any, NoReturn

from vigie.config.models import TlsSettings

log = logging.getLogger(__name__)


class TlsSetupError(ValueError):
    """``api.tls`` cannot be used as configured; the message names the setting, never the key or its passphrase."""


def uvicorn_tls(settings: TlsSettings | None) -> dict[str, Any]:
    """The ``ssl_*`` arguments of ``uvicorn.Config`` for ``settings`` (none: plain HTTP, no argument), after
    checking that the certificate and its key load together."""
    if settings is None:
        return {}
    files = {"certificate_file": settings.certificate_file, "private_key_file": settings.private_key_file}
    for name, path in files.items():
        if not path.is_file():
            raise TlsSetupError(f"api.tls.{name}: {path} does not exist or is not a file")
    password = _passphrase(settings.private_key_passphrase_file)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(
            settings.certificate_file, settings.private_key_file, password if password is not None else _no_passphrase
        )
    except TlsSetupError:
        raise
    except OSError as err:
        if isinstance(err, ssl.SSLError):
            raise TlsSetupError(
                f"api.tls: the certificate {settings.certificate_file} and the private key {settings.private_key_file} "
                f"cannot be used together ({err.reason or 'not PEM'}): check that both are PEM files, that the key is "
                "the certificate's, and that `private_key_passphrase_file` holds the key's passphrase"
            ) from None
        raise TlsSetupError(
            f"api.tls: cannot read {err.filename or 'the certificate or key'}: {err.strerror}"
        ) from None
    _warn_if_world_readable(settings.private_key_file)
    return {
        "ssl_certfile": str(settings.certificate_file),
        "ssl_keyfile": str(settings.private_key_file),
        "ssl_keyfile_password": password,
    }


def _passphrase(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise TlsSetupError(f"api.tls.private_key_passphrase_file: cannot read {path}: {reason}") from None
    return lines[0].strip() if lines else ""


def _no_passphrase() -> NoReturn:
    raise TlsSetupError(
        "api.tls: the private key is encrypted: name a file holding its passphrase in "
        "`api.tls.private_key_passphrase_file`"
    )


def _warn_if_world_readable(path: Path) -> None:
    if stat.S_IMODE(path.stat().st_mode) & stat.S_IROTH:
        log.warning("the TLS private key %s is readable by every user of this machine: chmod o-r it", path)
