"""WS-Security UsernameToken with PasswordDigest, the authentication every ONVIF device supports.

The client sends ``Username``, a random ``Nonce`` (Base64), ``Created`` (its clock) and
``Password = Base64(SHA1(nonce + created + password))``. The device recomputes the digest with the password it
holds, refuses a ``Created`` too far from its own clock, and refuses a nonce it has already seen within that
window: together they stop a captured request from being replayed. ``PasswordText`` (the password in clear) is
refused: without TLS it would put the password on the wire, which Vigie never asks of a camera.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Final

from lxml import etree  # type: ignore[import-untyped]  # no stubs in the lock

from vigie.sim.onvif.soap import WSSE, WSU, not_authorized, parse_xs_datetime

_PROFILE: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
PASSWORD_DIGEST: Final = _PROFILE + "#PasswordDigest"
PASSWORD_TEXT: Final = _PROFILE + "#PasswordText"

MAX_CLOCK_SKEW: Final = timedelta(minutes=5)
"""How far ``Created`` may be from the device clock (WS-Security's usual freshness window)."""

MAX_REMEMBERED_NONCES: Final = 10_000
"""Nonces remembered per device (oldest forgotten first; each is also forgotten after the freshness window)."""


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """Base64(SHA1(nonce + created + password)), the UsernameToken profile's PasswordDigest."""
    return base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()  # noqa: S324


class NonceCache:
    """The nonces seen within the freshness window, bounded; a repeated one is a replay."""

    def __init__(self, capacity: int = MAX_REMEMBERED_NONCES) -> None:
        self._seen: OrderedDict[bytes, datetime] = OrderedDict()
        self._capacity = capacity

    def first_use(self, nonce: bytes, now: datetime) -> bool:
        """Record ``nonce``; False when it was already used within the window."""
        while self._seen and (next(iter(self._seen.values())) < now - 2 * MAX_CLOCK_SKEW):
            self._seen.popitem(last=False)
        if nonce in self._seen:
            return False
        self._seen[nonce] = now
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True


def check_username_token(
    header: etree._Element | None, username: str, password: str, now: datetime, nonces: NonceCache
) -> None:
    """Accept the request's UsernameToken or raise the ``ter:NotAuthorized`` fault. The fault's reason says
    what was wrong without echoing the credentials (a wrong user and a wrong password read the same)."""
    token = None if header is None else header.find(f"{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    if token is None:
        raise not_authorized("the request carries no WS-Security UsernameToken")
    given_user = token.findtext(f"{{{WSSE}}}Username") or ""
    password_element = token.find(f"{{{WSSE}}}Password")
    nonce_text = token.findtext(f"{{{WSSE}}}Nonce")
    created = token.findtext(f"{{{WSU}}}Created")
    if password_element is None or nonce_text is None or created is None:
        raise not_authorized("the UsernameToken needs Password, Nonce and Created (PasswordDigest)")
    if password_element.get("Type", PASSWORD_TEXT) != PASSWORD_DIGEST:
        raise not_authorized("only PasswordDigest is accepted: a clear-text password is refused")
    try:
        nonce = base64.b64decode(nonce_text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise not_authorized("the UsernameToken's Nonce is not Base64") from None
    expected = password_digest(nonce, created.strip(), password)
    user_ok = hmac.compare_digest(given_user.strip().encode(), username.encode())
    digest_ok = hmac.compare_digest((password_element.text or "").strip().encode(), expected.encode())
    if not (user_ok and digest_ok):
        raise not_authorized("wrong username or password")
    try:
        created_at = parse_xs_datetime(created.strip())
    except Exception:  # any unreadable Created is the same refusal
        raise not_authorized("the UsernameToken's Created is not an xs:dateTime") from None
    if abs(created_at - now) > MAX_CLOCK_SKEW:
        raise not_authorized(
            f"the UsernameToken was created at {created.strip()}, more than {MAX_CLOCK_SKEW} from the device "
            "clock (read it with GetSystemDateAndTime)"
        )
    if not nonces.first_use(nonce, now):
        raise not_authorized("the UsernameToken's nonce was already used (replayed request)")
