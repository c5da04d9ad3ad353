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
from vigie.runtime.audit_wiring import open_audit_sink
from vigie.runtime.clock import system_clock
from vigie.storage import StorageError, create_engine_for, migrate

EXIT_UNUSABLE = 2


class Unusable(Exception):
    """The configuration, the catalogue or the database cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class Opened:
    config: VigieConfig
    engine: Engine
    audit: AuditChain
    clock: Clock
    """The one clock of the command: everything it builds reads the time from here."""


@contextmanager
def opened(config_path: Path, clock: Clock = system_clock) -> Iterator[Opened]:
    """Load and validate the configuration, open and migrate the database, open the audit chain on ``clock``."""
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
        yield Opened(config, engine, open_audit_sink(config, engine, clock), clock)
    except StorageError as err:
        raise Unusable(str(err)) from err
    finally:
        engine.dispose()


def run_opened(config_path: Path, action: Callable[[Opened], int]) -> int:
    """Run ``action`` with everything opened; an unusable configuration or database gives exit code 2."""
    try:
        with opened(config_path) as context:
            return action(context)
    except Unusable as err:
        print(f"vigie: {err}; nothing was changed", file=sys.stderr)
        return EXIT_UNUSABLE
