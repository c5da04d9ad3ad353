"""A consistent copy of the database, and putting one back: what ``vigie backup`` stores and restores.

SQLite is copied with its own online backup API (``sqlite3.Connection.backup``), in one step: the copy is the
database as of one transaction, while the service goes on writing (in WAL mode its writers do not wait for the
reader). PostgreSQL is copied and restored by its own tools, ``pg_dump --format=custom`` and ``pg_restore`` (Debian's
``postgresql-client``): they know every object of the schema, take one snapshot, and a PostgreSQL administrator
knows their output. Hand-written SQL copying would be neither.

The password of a PostgreSQL URL is given to the tools in their environment (``PGPASSWORD``), never on their
command line (which any user of the host can read in the process list); every message is redacted.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Final, Literal

from sqlalchemy import Engine, inspect, select, table
from sqlalchemy.engine import URL, make_url

from vigie.domain.redact import redact_text, redact_url
from vigie.storage.database import sqlite_file
from vigie.storage.errors import StorageError

DatabaseKind = Literal["sqlite", "postgresql"]
SQLITE_COPY: Final = "vigie.sqlite3"
POSTGRES_DUMP: Final = "vigie.pgdump"
TOOL_TIMEOUT_S: Final = 6 * 3600
"""A dump or restore of a large installation takes minutes; one that runs for hours is stuck."""
_SEEDED: Final = frozenset({"alembic_version", "governance_version"})
"""Tables whose rows the migrations write: a fresh, migrated database has rows there and nowhere else."""


class DatabaseCopyError(StorageError):
    """The database cannot be copied or put back; the message says why (credentials redacted)."""


def database_kind(engine: Engine) -> DatabaseKind:
    backend = engine.url.get_backend_name()
    if backend == "sqlite":
        return "sqlite"
    if backend == "postgresql":
        return "postgresql"
    raise DatabaseCopyError(f"cannot back up a {backend} database: only SQLite and PostgreSQL are supported")


def copy_name(kind: DatabaseKind) -> str:
    """The file name of a copy of a database of ``kind`` inside a backup."""
    return SQLITE_COPY if kind == "sqlite" else POSTGRES_DUMP


def copy_database(engine: Engine, out: Path) -> DatabaseKind:
    """Write a consistent copy of the database of ``engine`` to the new file ``out``; return its kind."""
    kind = database_kind(engine)
    if kind == "sqlite":
        _sqlite_copy(_sqlite_path(engine), out)
    else:
        _run_tool(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={out}"], engine.url)
    return kind


def restore_database(engine: Engine, copy: Path, kind: DatabaseKind) -> None:
    """Put the copy ``copy`` back into the database of ``engine``, replacing what it holds. The caller checks
    first that replacing is what the operator wants (:func:`holds_data`)."""
    found = database_kind(engine)
    if found != kind:
        raise DatabaseCopyError(
            f"the backup holds a {kind} database but storage.database_url names a {found} one: restore it into a "
            f"{kind} database (moving between SQLite and PostgreSQL is a migration, not a restore)"
        )
    engine.dispose()  # no pooled connection of ours stays open on what is replaced
    if kind == "sqlite":
        target = _sqlite_path(engine)
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(copy, target, immutable=True)
    else:
        _run_tool(
            ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--exit-on-error", str(copy)],
            engine.url,
        )


def holds_data(engine: Engine) -> bool:
    """Whether the database has a row in any table the migrations do not seed (a fresh, migrated one has none)."""
    try:
        names = [n for n in inspect(engine).get_table_names() if n not in _SEEDED]
        with engine.connect() as conn:
            return any(conn.execute(select(1).select_from(table(n)).limit(1)).first() for n in names)
    except Exception as err:  # SQLAlchemy's errors carry the URL: said redacted, as a storage error
        raise DatabaseCopyError(f"cannot read {redact_url(str(engine.url))}: {redact_text(str(err))}") from None


class DatabaseCopier:
    """The copy, restore and emptiness check of one database, for :mod:`vigie.services.backup`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def kind(self) -> DatabaseKind:
        return database_kind(self.engine)

    def describe(self) -> str:
        """The database's URL with its credentials redacted: what messages and the audit name."""
        url = self.engine.url
        if url.get_backend_name() == "sqlite":  # no credentials; urlsplit would eat the slashes of a path
            return url.render_as_string()
        return redact_url(url.render_as_string(hide_password=False))

    def copy(self, folder: Path) -> Path:
        out = folder / copy_name(self.kind)
        copy_database(self.engine, out)
        return out

    def restore(self, copy: Path, kind: str) -> None:
        if kind not in ("sqlite", "postgresql"):
            raise DatabaseCopyError(f"the backup names an unknown database kind {kind!r}")
        restore_database(self.engine, copy, "sqlite" if kind == "sqlite" else "postgresql")

    def holds_data(self) -> bool:
        return holds_data(self.engine)


def _sqlite_path(engine: Engine) -> Path:
    path = sqlite_file(engine)
    if path is None:
        raise DatabaseCopyError("only a SQLite database in a file can be backed up (not :memory: or a URI)")
    return path


def _sqlite_copy(source: Path, target: Path, *, immutable: bool = False) -> None:
    """SQLite's online backup from ``source`` into ``target`` (created or replaced), in one step. The copy is one
    self-contained file (rollback journal, not WAL); ``immutable``: ``source`` is a backup's copy, read without
    creating anything beside it (a WAL file would change the backup's folder)."""
    if not source.is_file():
        raise DatabaseCopyError(f"the SQLite database {source} does not exist")
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro{'&immutable=1' if immutable else ''}", uri=True)
        try:
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)  # pages=-1: the whole database in one step, from one read transaction
                dst.execute("PRAGMA journal_mode=DELETE")
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as err:
        raise DatabaseCopyError(f"cannot copy the SQLite database {source} to {target}: {err}") from None


def _run_tool(command: list[str], url: URL) -> None:
    tool = command[0]
    if shutil.which(tool) is None:
        raise DatabaseCopyError(
            f"{tool} is not installed: install PostgreSQL's client tools (Debian: `apt-get install "
            "postgresql-client`), of the server's major version or newer"
        )
    args, env = _connection(url)
    try:
        done = subprocess.run(  # a fixed tool, arguments built here, no shell
            [*command, *args], env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise DatabaseCopyError(f"{tool} ran for more than {TOOL_TIMEOUT_S} s and was stopped") from None
    if done.returncode != 0:
        said = redact_text(done.stderr.strip())[-2000:] or f"exit status {done.returncode}"
        raise DatabaseCopyError(f"{tool} failed on {redact_url(url.render_as_string(hide_password=False))}: {said}")


def _connection(url: URL) -> tuple[list[str], dict[str, str]]:
    """The tools' connection arguments for a SQLAlchemy PostgreSQL URL, and their environment: the password and
    the URL's libpq options (``sslmode`` …) as ``PG*`` variables, never on the command line."""
    url = make_url(url) if isinstance(url, str) else url
    env = {**os.environ}
    args = [f"--dbname={url.database or ''}"]
    if url.host:
        args.append(f"--host={url.host}")
    if url.port:
        args.append(f"--port={url.port}")
    if url.username:
        args.append(f"--username={url.username}")
    args.append("--no-password")  # never prompt: a backup runs unattended
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    for key, value in url.query.items():
        if key in _LIBPQ_ENV and isinstance(value, str):
            env[_LIBPQ_ENV[key]] = value
    return args, env


_LIBPQ_ENV: Final = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
}
