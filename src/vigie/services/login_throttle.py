"""How long a username waits after failed logins: an exponential delay, the same for every name typed.

The delay replaces a lockout that anyone could trigger by typing a victim's name five times (issue 15, D12), and
which answered ``locked`` for real accounts only, so that names could be enumerated. Now:

- after ``THROTTLE_AFTER`` failures in a row for a name, further attempts with that name are refused (429 with
  ``Retry-After``) for ``THROTTLE_FIRST``, doubling with each further failure up to ``THROTTLE_LONGEST``;
- attempts refused during the delay are not checked and do not lengthen it (an attacker keeps the delay at most
  ``THROTTLE_LONGEST``, never more);
- failures are forgotten ``FORGET_AFTER`` after the last one (or after the end of the delay it started);
- a name that is no account is throttled exactly like an account: same count, same delay, same answer. Accounts
  keep their count in their row, other names in a table keyed by a keyed hash (the name typed may be a password
  typed in the wrong field); both in the database, shared by every API process (issue 17: behind a load balancer a
  name must not be delayed later than an account, which would tell it is none). The hash key is derived from the
  keys folder, the same in every process;
- parallel attempts cannot outrun the count: a name has at most as many checks in flight as failures it may still
  make before its delay (:meth:`LoginAttempts.checking`).

The rightful person is not kept out by someone else's guesses: a correct password with a valid second factor
passes the delay (see :meth:`vigie.services.auth.AuthService.login`), and an administrator can clear it.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from vigie.domain.login_failures import NameFailures

THROTTLE_AFTER: Final = 5
"""Failures in a row for one name before attempts with it are delayed."""
THROTTLE_FIRST: Final = timedelta(seconds=30)
"""The first delay; each further failure doubles it."""
THROTTLE_LONGEST: Final = timedelta(minutes=15)
"""The delay never grows beyond this."""
FORGET_AFTER: Final = timedelta(hours=24)
"""Failures this old (counted from the last one, or from the end of the delay it started) are forgotten."""


@dataclass(frozen=True, slots=True)
class FailureRecord:
    """Failed logins in a row for one name, and ``until``: the end of the delay the last failure started (the
    failure's own instant when it started none); None when there was none."""

    failures: int = 0
    until: datetime | None = None

    def current(self, now: datetime) -> FailureRecord:
        """This record as it counts ``now``: empty once forgotten."""
        if self.until is not None and now - self.until >= FORGET_AFTER:
            return FailureRecord()
        return self

    def wait_s(self, now: datetime) -> int:
        """Whole seconds before this name may try again (0: it may now)."""
        if self.until is None or self.until <= now:
            return 0
        return max(1, math.ceil((self.until - now).total_seconds()))

    def after_failure(self, now: datetime) -> FailureRecord:
        """The record once one more failure is counted ``now``."""
        failures = self.current(now).failures + 1
        return FailureRecord(failures, now + delay_after(failures))


def delay_after(failures: int) -> timedelta:
    """The delay the ``failures``-th failure in a row starts (none below ``THROTTLE_AFTER``)."""
    if failures < THROTTLE_AFTER:
        return timedelta(0)
    doublings = min(failures - THROTTLE_AFTER, 16)  # 30 s * 2**16 is far beyond the longest delay already
    delay: timedelta = THROTTLE_FIRST * (1 << doublings)
    return min(delay, THROTTLE_LONGEST)


@dataclass(frozen=True, slots=True)
class Check:
    """A login check about to be made for one name."""

    record: FailureRecord
    """The name's failures when the check starts."""
    wait: int
    """Seconds the name must still wait (0: none)."""
    held: bool
    """False when the name has as many checks in flight as it may have: refuse this one at once."""


class LoginAttempts:
    """This process's share of the throttle, for every name typed: the failures of names that are no account (at
    most ``max_names``: those forgotten go first, then the oldest), and the attempts being checked right now.

    Checks in flight are bounded so that parallel guesses cannot outrun the count: a name may have as many checks
    in flight as failures it may still make before its delay (one once delayed), the others are refused at once.
    Names are kept under a keyed hash, never as typed.

    ``key``: the hash key (the runtime derives it from the keys folder, so that every process hashes alike; default:
    a random one). ``shared``: where failures of unknown names are counted (the runtime gives the database's table,
    shared by every API process; default: this process's bounded table). Checks in flight stay per process."""

    def __init__(
        self, max_names: int = 10_000, *, key: bytes | None = None, shared: NameFailures | None = None
    ) -> None:
        self._key = key or secrets.token_bytes(32)
        self._shared = shared
        self._max = max_names
        self._records: dict[bytes, FailureRecord] = {}
        self._in_flight: dict[bytes, int] = {}
        """Checks being made now per name; a name leaves when its last check ends (bounded by the requests)."""
        self._lock = threading.RLock()

    def _name_key(self, name: str) -> bytes:
        return hmac.new(self._key, name.strip().lower().encode("utf-8"), hashlib.sha256).digest()

    def unknown(self, name: str) -> FailureRecord:
        """The failures of a name that is no account."""
        if self._shared is not None:
            found = self._shared.get(self._name_key(name).hex())
            return FailureRecord() if found is None else FailureRecord(*found)
        with self._lock:
            return self._records.get(self._name_key(name), FailureRecord())

    def fail_unknown(self, name: str, now: datetime) -> FailureRecord:
        """Count one more failure of a name that is no account; its record afterwards."""
        if self._shared is not None:
            record = self.unknown(name).after_failure(now)
            self._shared.put(self._name_key(name).hex(), record.failures, record.until or now)
            self._shared.forget_before(now - FORGET_AFTER)
            return record
        key = self._name_key(name)
        with self._lock:
            record = self._records.pop(key, FailureRecord()).after_failure(now)  # re-inserted last: the table is
            if len(self._records) >= self._max:  # in the order of the last failure
                self._forget(now)
            self._records[key] = record
        return record

    @contextmanager
    def checking(self, name: str, record_of: Callable[[], FailureRecord], now: datetime) -> Iterator[Check]:
        """Hold one of the checks ``name`` may have in flight for the ``with`` block. ``record_of`` reads the name's
        failures as they are now; it is called under this table's lock, so that a failure written by a check that
        just ended is always seen (each check writes its failure before it ends)."""
        key = self._name_key(name)
        with self._lock:
            record = record_of()
            wait = record.wait_s(now)
            allowed = 1 if wait else max(1, THROTTLE_AFTER - record.failures)
            held = self._in_flight.get(key, 0) < allowed
            if held:
                self._in_flight[key] = self._in_flight.get(key, 0) + 1
        try:
            yield Check(record, wait, held)
        finally:
            if held:
                with self._lock:
                    left = self._in_flight.get(key, 1) - 1
                    if left > 0:
                        self._in_flight[key] = left
                    else:
                        self._in_flight.pop(key, None)

    def _forget(self, now: datetime) -> None:
        for key in [k for k, r in self._records.items() if r.current(now).failures == 0]:
            del self._records[key]
        while len(self._records) >= self._max:
            del self._records[next(iter(self._records))]
