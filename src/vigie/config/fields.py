"""The base of every configuration model, the shared field types and the error helpers.

Every model refuses unknown keys (a typo must never be silently ignored in a file that decides what is
recorded and analysed), is immutable once loaded, and hides input values from its error messages, because
those inputs can hold camera or database credentials.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
"""Identifiers: lowercase letters, digits and inner hyphens, 1 to 64 characters (``cam-001``)."""

INVALID = "vigie_invalid"
"""Error type of the checks written in this package; their context carries a ``hint``."""

DUPLICATE_ID = "vigie_duplicate_id"
"""Error type raised by the uniqueness checks of the models (the loader reports these with exact lines)."""

Loc = tuple[str | int, ...]
"""A location inside the configuration document, as pydantic reports it (``("communes", 0, "id")``)."""

K = TypeVar("K", bound=Hashable)


class ConfigModel(BaseModel):
    """Base of every configuration model: unknown keys refused, immutable, inputs kept out of errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


Slug = Annotated[
    str,
    Field(
        pattern=SLUG_PATTERN,
        title="Identifier",
        description="Lowercase letters, digits and inner hyphens, 1 to 64 characters (e.g. `cam-001`).",
    ),
]

NonEmptyText = Annotated[str, Field(min_length=1, max_length=500)]


def invalid(message: str, hint: str = "") -> PydanticCustomError:
    """Build the error a validator raises: a message saying what is wrong and a hint saying how to fix it.

    The message is used verbatim (no template substitution of user text) and must never contain a raw URL;
    callers pass URLs through :func:`vigie.domain.redact.redact_url` first.
    """
    return PydanticCustomError(INVALID, "{message}", {"message": message, "hint": hint})


@dataclass(frozen=True, slots=True)
class Duplicate:
    """An identifier seen more than once where it must be unique."""

    value: str
    loc: Loc
    first_loc: Loc


def find_duplicates(entries: Iterable[tuple[str, Loc]]) -> list[Duplicate]:
    """Return every repeated identifier after its first occurrence, with both locations."""
    seen: dict[str, Loc] = {}
    found: list[Duplicate] = []
    for value, loc in entries:
        if value in seen:
            found.append(Duplicate(value, loc, seen[value]))
        else:
            seen[value] = loc
    return found


def first_repeated(values: Sequence[K]) -> tuple[int, K] | None:
    """Index and value of the first element equal to an earlier one, or None."""
    seen: set[K] = set()
    for index, value in enumerate(values):
        if value in seen:
            return index, value
        seen.add(value)
    return None


def dotted(loc: Loc) -> str:
    """``("communes", 0, "id")`` → ``communes.0.id``."""
    return ".".join(str(part) for part in loc)


def duplicate_error(what: str, duplicates: Sequence[Duplicate]) -> PydanticCustomError:
    """The error of a model-level uniqueness check, listing every repeated identifier."""
    listed = "; ".join(f"{d.value!r} at {dotted(d.loc)} (first at {dotted(d.first_loc)})" for d in duplicates)
    return PydanticCustomError(
        DUPLICATE_ID,
        "{message}",
        {"message": f"{what} must be unique: {listed}", "hint": f"give each {what.split(maxsplit=1)[0]} its own id"},
    )
