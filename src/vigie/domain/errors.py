"""Errors every layer may raise and the API may answer, whatever layer they come from."""

from __future__ import annotations


class StoreUnavailableError(Exception):
    """A store cannot be read or written now (the database locked, read-only, unreachable or lost): the same
    request may succeed later. The API answers 503 with ``Retry-After``; its message may name the server's
    database and is logged, never shown to clients."""
