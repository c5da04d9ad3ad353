"""Who does something: the one type every use case takes for "by whom", whatever door the person came in by.

A person logged in to the console, the API or the ``vigie`` command (``vigie login``) acts under their username, in
their tenant. ``cli:<name>`` is left only for what the host itself does before or outside any account: the first
administrator's creation, the demo's set-up, and the audit commands that need the server's key (named after the
Unix user running them) — never a name typed on the command line. The audit log keeps :attr:`Actor.name`; nothing
parses it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

COMMAND_LINE_PREFIX: Final = "cli:"


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    """How the audit log names the person: a username, or ``cli:<name>`` at the server's command line."""
    role: str = ""
    """The role they act in, where the action needs one (approvals, verdicts, stop switches)."""
    commune_id: str | None = None
    """The tenant they act for; None where the action names no tenant."""

    @classmethod
    def command_line(cls, name: str, *, role: str = "", commune_id: str | None = None) -> Actor:
        """A person at the server's command line, named as they typed it (``cli:`` added once; an empty name is
        left for the use case to refuse with its own words)."""
        name = name.strip()
        full = name if name.startswith(COMMAND_LINE_PREFIX) else f"{COMMAND_LINE_PREFIX}{name}"
        return cls(full, role.strip(), commune_id)

    @property
    def at_command_line(self) -> bool:
        return self.name.startswith(COMMAND_LINE_PREFIX)

    @property
    def person(self) -> str:
        """The person's name without the ``cli:`` mark: empty when nobody was named (the use case refuses)."""
        return self.name.removeprefix(COMMAND_LINE_PREFIX).strip()
