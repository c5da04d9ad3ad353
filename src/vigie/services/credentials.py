"""Credentials of an account: the password policy (L17) and the TOTP second factor (RFC 6238).

TOTP goes through ``cryptography``'s implementation; authenticator apps use SHA-1, 6 digits, 30 s steps.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import Final
from urllib.parse import quote

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "TOTP_DIGITS",
    "TOTP_STEP_S",
    "new_totp_secret",
    "password_problem",
    "totp_code",
    "totp_uri",
    "totp_verifier",
]

MIN_PASSWORD_LENGTH: Final = 12
MAX_PASSWORD_LENGTH: Final = 256
TOTP_DIGITS: Final = 6
TOTP_STEP_S: Final = 30
TOTP_ISSUER: Final = "Vigie"
WELL_KNOWN_PASSWORDS: Final = frozenset(
    {
        "admin",
        "administrator",
        "password",
        "motdepasse",
        "123456789012",
        "azertyuiopqs",
        "qwertyuiopas",
        "changeme",
        "vigie",
        "root",
        "default",
        "passwordpassword",
    }
)


def password_problem(password: str, username: str) -> str | None:
    """What is wrong with ``password`` for ``username`` (L17), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"the password must have at most {MAX_PASSWORD_LENGTH} characters"
    lowered = password.lower()
    if username and username.lower() in lowered:
        return "the password must not contain the username"
    if lowered in WELL_KNOWN_PASSWORDS or len(set(password)) < 4:
        return "this password is a well-known default or too repetitive: choose another one"
    return None


def new_totp_secret() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def totp_uri(secret: str, username: str) -> str:
    label = quote(f"{TOTP_ISSUER}:{username}")
    return f"otpauth://totp/{label}?secret={secret}&issuer={TOTP_ISSUER}&digits={TOTP_DIGITS}&period={TOTP_STEP_S}"


def totp_code(secret: str, at: datetime) -> str:
    """The code an authenticator app shows at ``at`` (for tests and the enrolment check)."""
    return totp_verifier(secret).generate(int(at.timestamp())).decode("ascii")


def totp_verifier(secret: str) -> TOTP:
    return TOTP(base64.b32decode(secret), TOTP_DIGITS, SHA1(), TOTP_STEP_S, enforce_key_length=False)  # noqa: S303 - RFC 6238 authenticator apps use SHA-1
