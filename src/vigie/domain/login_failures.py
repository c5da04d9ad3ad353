"""Failed logins with names that are no account (issue 17): the port of the table every API process shares, so
that such a name is delayed after the same number of failures as an account, whichever process received them (a
name delayed later than an account would tell that it is none)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class NameFailures(Protocol):
    """Failures in a row by keyed hash of the name typed (never the name: it may be a password typed in the wrong
    field): how many, and ``until``, the end of the delay the last one started."""

    def get(self, name_key: str) -> tuple[int, datetime] | None: ...

    def put(self, name_key: str, failures: int, until: datetime) -> None: ...

    def forget_before(self, until_before: datetime) -> int:
        """Remove the names whose delay ended before ``until_before``; how many."""
        ...
