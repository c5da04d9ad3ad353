"""Signatures of the Standard Webhooks specification (https://www.standardwebhooks.com, v1, symmetric).

Each request carries ``webhook-id`` (the message id, the same at every attempt), ``webhook-timestamp`` (Unix
seconds of the attempt) and ``webhook-signature``: ``v1,`` then the base64 HMAC-SHA256 of ``<id>.<timestamp>.<body>``
under the endpoint's secret (``whsec_`` then the base64 of the key's bytes). Several space-separated signatures may
be sent (a secret being rotated); a receiver accepts the request when one of them verifies and the timestamp is
within its tolerance (5 minutes by default), which defeats replays.

Written with the standard library's ``hmac``, ``hashlib`` and ``base64`` rather than the ``standardwebhooks``
package: the scheme is ten lines, the package pins old versions of its dependencies (``httpx``, ``attrs``) that
would constrain Vigie's lock, and the tests check these lines against the specification's published test vector.
:func:`verify` is the function docs/integrations.md gives receivers to copy.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix of every secret, not a secret)
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64
"""The specification's bounds on a secret's length (its bytes, before base64)."""
TOLERANCE_S = 300


class WebhookSecretError(ValueError):
    """A secret that is not ``whsec_`` followed by the base64 of 24 to 64 bytes (the message never holds it)."""


class WebhookVerificationError(ValueError):
    """A request whose headers or signature do not verify."""


def decode_secret(secret: str) -> bytes:
    """The key of a ``whsec_…`` secret."""
    if not secret.startswith(SECRET_PREFIX):
        raise WebhookSecretError(f"it does not start with {SECRET_PREFIX}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise WebhookSecretError(f"what follows {SECRET_PREFIX} is not base64") from None
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise WebhookSecretError(f"its key is {len(key)} bytes, not {MIN_KEY_BYTES} to {MAX_KEY_BYTES}")
    return key


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header of one attempt: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float, tolerance_s: int = TOLERANCE_S) -> None:
    """Check a request as a receiver must (raises :class:`WebhookVerificationError`): the three headers present
    (names in any case), the timestamp within ``tolerance_s`` of ``now`` (Unix seconds), and one ``v1`` signature
    equal to the expected one (compared in constant time). ``body``: the raw bytes received, before any parsing."""
    lower = {name.lower(): value for name, value in headers.items()}
    message_id = lower.get("webhook-id", "")
    timestamp = lower.get("webhook-timestamp", "")
    signatures = lower.get("webhook-signature", "")
    if not (message_id and timestamp and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        sent = int(timestamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a number of seconds") from None
    if abs(now - sent) > tolerance_s:
        raise WebhookVerificationError("webhook-timestamp is too old or too new (a replay?)")
    expected = sign(decode_secret(secret), message_id, sent, body).encode("ascii")
    for candidate in signatures.split(" "):
        if candidate.startswith("v1,") and hmac.compare_digest(candidate.encode("ascii", "replace"), expected):
            return
    raise WebhookVerificationError("no signature matches")
