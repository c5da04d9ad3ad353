"""Single sign-ons begun and not finished (issue 17): the port of the store every API process shares, so that the
provider's answer may reach another process than the one that sent the person to the provider."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PendingSignOn:
    """What the server keeps of a sign-on while the person is at the provider (never sent to the browser)."""

    state: str
    nonce: str
    verifier: str
    """The PKCE code verifier."""
    redirect_uri: str
    started_at: datetime


class PendingSignOns(Protocol):
    """Pending sign-ons by the SHA-256 of the value in the browser's cookie."""

    def put(self, key_sha256: str, pending: PendingSignOn) -> None: ...

    def take(self, key_sha256: str) -> PendingSignOn | None:
        """The pending sign-on, removed: a second take of the same key finds nothing (used once), also when two
        processes take it at the same time."""
        ...

    def forget_before(self, started_before: datetime) -> int:
        """Remove the sign-ons begun before ``started_before``; how many."""
        ...
