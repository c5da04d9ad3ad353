"""Credential redaction: anything shown to a person or written to a log goes through here first."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]*@)")
_SECRET_QUERY = re.compile(r"(?i)(?P<key>(?:password|passwd|pwd|pass|token|secret|auth|key)=)[^&\s]*")
REDACTED = "***"


def redact_url(url: str) -> str:
    """Return ``url`` with user, password and secret-looking query parameters replaced by ``***``.

    Works on malformed URLs too (it never raises), because it is used to build error messages about them.
    """
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
        query = _SECRET_QUERY.sub(lambda m: m.group("key") + REDACTED, parts.query)
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return redact_text(url)


def redact_text(text: str) -> str:
    """Redact every URL credential found anywhere in free text (e.g. an FFmpeg error message)."""
    text = _USERINFO.sub(lambda m: m.group("scheme") + REDACTED + "@", text)
    return _SECRET_QUERY.sub(lambda m: m.group("key") + REDACTED, text)
