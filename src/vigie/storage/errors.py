"""Errors of the storage layer.

Driver and SQLAlchemy errors never leave this package as such: they are wrapped into
:class:`StorageError`, whose message names the database with its password hidden, so it can be logged or
shown as is.
"""

from __future__ import annotations


class StorageError(Exception):
    """The database could not do what was asked (unreachable, invalid URL, failed statement...)."""


class NaiveDatetimeError(StorageError, ValueError):
    """A datetime without a time zone was given where the storage needs an instant (aware, any zone)."""


class EventNotFoundError(StorageError, LookupError):
    """An event to update does not exist (never added, or deleted)."""
