"""What is wrong with a configuration file, where, and how to fix it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vigie.domain.redact import redact_text


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a configuration file.

    ``line`` and ``column`` are 1-based and best effort: the key at fault, or its nearest existing parent
    for a missing key; None when the problem concerns the whole file (missing, unreadable). ``field`` is
    the dotted path (``communes.0.sites.1.cameras.2.authorisation.valid_until``), empty for the whole
    file. ``message`` and ``hint`` never contain credentials.
    """

    file: str
    line: int | None
    column: int | None
    field: str
    message: str
    hint: str = ""

    def __post_init__(self) -> None:
        # Last line of defence: whatever built the texts, no URL credential leaves this object.
        object.__setattr__(self, "message", redact_text(self.message))
        object.__setattr__(self, "hint", redact_text(self.hint))
        object.__setattr__(self, "field", redact_text(self.field))

    def format(self) -> str:
        """``FILE:LINE:COL: field: message (hint: ...)``."""
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


class ConfigError(ValueError):
    """The configuration file cannot be used; ``issues`` says every reason found, in file order."""

    def __init__(self, issues: Sequence[ConfigIssue]) -> None:
        self.issues: list[ConfigIssue] = list(issues)
        super().__init__(format_issues(self.issues))


def format_issues(issues: Iterable[ConfigIssue]) -> str:
    """One ``FILE:LINE:COL: field: message (hint: ...)`` line per issue."""
    return "\n".join(issue.format() for issue in issues)


def sorted_issues(issues: Iterable[ConfigIssue]) -> list[ConfigIssue]:
    """Issues in file order (whole-file issues first), without exact repeats."""
    unique = dict.fromkeys(issues)
    return sorted(unique, key=lambda i: (i.line or 0, i.column or 0, i.field, i.message))
