"""What every administrative command opens first: the validated configuration, the migrated database and the
audit chain — and the one way such a command reports that it cannot run (exit code 2, nothing changed)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from vigie.config import ConfigError, VigieConfig, format_issues, load_config
from vigie.domain.clock import Clock
from vigie.governance.audit import AuditChain
from vigie.governance.keys_folder import KeyStorageError
from vigie.runtime.assembly.audit import open_audit_sink
from vigie.runtime.clock import system_clock
from vigie.storage import StorageError, create_engine_for, migrate

EXIT_UNUSABLE = 2

_clocks: list[Clock] = [system_clock]


def command_clock() -> Clock:
    """The clock the commands read: the host's, unless code running commands in its own process (the tests) set
    another with :func:`commands_on`."""
    return _clocks[-1]


@contextmanager
def commands_on(clock: Clock) -> Iterator[None]:
    """Run the commands called inside on ``clock`` (sessions, TOTP codes, dates, audit times)."""
    _clocks.append(clock)
    try:
        yield
    finally:
        _clocks.remove(clock)


class Unusable(Exception):
    """The configuration, the catalogue or the database cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class Opened:
    config: VigieConfig
    engine: Engine
    audit: AuditChain
    clock: Clock
    """The one clock of the command: everything it builds reads the time from here."""
    config_path: Path
    """The configuration file given to the command (the command-line session is kept per configuration)."""


@contextmanager
def opened(config_path: Path, clock: Clock | None = None) -> Iterator[Opened]:
    """Load and validate the configuration, open and migrate the database, open the audit chain on ``clock``
    (default: :func:`command_clock`)."""
    clock = command_clock() if clock is None else clock
    try:
        config = load_config(config_path)
    except ConfigError as err:
        print(format_issues(err.issues), file=sys.stderr)
        raise Unusable("the configuration is invalid") from err
    try:
        engine = create_engine_for(config.storage.database_url)
    except StorageError as err:
        raise Unusable(str(err)) from err
    try:
        migrate(engine)
        yield Opened(config, engine, open_audit_sink(config, engine, clock), clock, config_path)
    except (StorageError, KeyStorageError) as err:  # KeyStorageError: the private keys as stored or given (L15)
        raise Unusable(str(err)) from err
    finally:
        engine.dispose()


def run_opened(config_path: Path, action: Callable[[Opened], int], clock: Clock | None = None) -> int:
    """Run ``action`` with everything opened; an unusable configuration or database, or no signed-in account
    where one is needed (:mod:`vigie.cli.commands.session`), gives exit code 2."""
    try:
        with opened(config_path, clock) as context:
            return action(context)
    except Unusable as err:
        print(f"vigie: {err}; nothing was changed", file=sys.stderr)
        return EXIT_UNUSABLE
