"""Engines and schema migrations for the two supported databases: SQLite (embedded default) and PostgreSQL.

SQLite is opened in WAL mode so readers never block the writer, with a busy timeout so a writer waits
for the lock instead of failing with "database is locked", and every write transaction starts with
``BEGIN IMMEDIATE``: a transaction that reads and then writes (an upsert) takes the write lock up front,
because SQLite cannot make a deferred reader wait for a lock it needs to upgrade. Reads use
:func:`for_reading`, whose transactions start deferred and so never wait for the writer.

Nothing here keeps a module-level engine: the composition root builds one with :func:`create_engine_for` and
passes it to the repositories.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.engine import URL, make_url

from vigie.domain.errors import StoreUnavailableError
from vigie.domain.redact import redact_text, redact_url
from vigie.storage.errors import StorageError

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
"""The packaged Alembic script directory, resolved from this file so it is found when Vigie is installed."""

SQLITE_BUSY_TIMEOUT_MS: Final = 5000
"""How long a SQLite writer waits for the write lock before giving up."""

POSTGRES_CONNECT_TIMEOUT_S: Final = 10
"""How long a PostgreSQL connection attempt may take, unless the URL says otherwise."""

_BEGIN_OPTION: Final = "vigie_sqlite_begin"
_MIGRATION_LOCK_KEY: Final = 0x76696769  # "vigi": the PostgreSQL advisory lock held while migrating
_SUPPORTED: Final = ("sqlite", "postgresql")
PROBE_BUSY_TIMEOUT_MS: Final = 250
"""How long a write probe waits for the SQLite write lock: a probe tells, it must not hold the writer up."""


class DatabaseUnavailableError(StorageError, StoreUnavailableError):
    """The database cannot be reached or written now (locked, read-only, disk error, connection lost): the same
    write may succeed later, so what must not be lost is kept and tried again, never dropped."""


class DatabaseLostError(DatabaseUnavailableError):
    """The database this process opened is gone (its file deleted or replaced): nothing more is written to it,
    since what would be written there would vanish with the last open handle."""


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """Which file a path names: device and inode. A file deleted and created again has another identity."""

    device: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity | None:
        """The identity of the file at ``path`` now, or None when there is none."""
        try:
            found = os.stat(path)
        except FileNotFoundError:
            return None
        return cls(found.st_dev, found.st_ino)

    def __str__(self) -> str:
        return f"device {self.device}, inode {self.inode}"


class WriteGuard:
    """Refuses every write transaction on an engine once :meth:`block` is called (reads go on): installed by the
    service so that after the database is found lost, no part of it writes into a deleted file."""

    def __init__(self) -> None:
        self._reason: str | None = None
        self._lock = threading.Lock()

    @property
    def reason(self) -> str | None:
        """Why writes are refused, or None while they are allowed."""
        return self._reason

    def block(self, reason: str) -> None:
        with self._lock:
            if self._reason is None:
                self._reason = reason

    def check(self, conn: Connection) -> None:
        """Called as a transaction begins: raise :class:`DatabaseLostError` for a write when blocked."""
        reason = self._reason
        if reason is not None and conn.get_execution_options().get(_BEGIN_OPTION) != "DEFERRED":
            raise DatabaseLostError(f"writes to the database are stopped: {reason}")


def guard_writes(engine: Engine) -> WriteGuard:
    """Install a :class:`WriteGuard` on ``engine``, checked before any other ``begin`` hook (so a refused write
    never takes the SQLite write lock)."""
    guard = WriteGuard()
    event.listen(engine, "begin", guard.check, insert=True)
    return guard


def sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite engine (None for PostgreSQL, in-memory and URI databases)."""
    database = engine.url.database
    if engine.url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return Path(database).expanduser().resolve()


def probe_write(engine: Engine) -> None:
    """Write to the database and commit (the schema revision row, set to itself): raise
    :class:`DatabaseUnavailableError` when it cannot be written now. On SQLite the probe waits at most
    ``PROBE_BUSY_TIMEOUT_MS`` for the write lock (a locked database is found in a quarter of a second, not five)."""
    statement = "UPDATE alembic_version SET version_num = version_num"
    if engine.url.get_backend_name() != "sqlite":
        with storage_errors(engine, "write to the database"), engine.begin() as conn:
            conn.execute(text(statement))
        return
    where = engine.url.render_as_string(hide_password=True)
    try:
        raw = engine.raw_connection()
    except exc.SQLAlchemyError as err:
        raise DatabaseUnavailableError(f"cannot open the database ({where}): {_first_line(err)}") from err
    try:
        cursor = raw.cursor()
        cursor.execute(f"PRAGMA busy_timeout={PROBE_BUSY_TIMEOUT_MS}")
        try:
            cursor.execute("BEGIN IMMEDIATE")
            try:
                cursor.execute(statement)
                cursor.execute("COMMIT")
            except Exception:
                with suppress(Exception):  # SQLite may have rolled back already (an I/O error)
                    cursor.execute("ROLLBACK")
                raise
        finally:
            with suppress(Exception):
                cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.close()
    except Exception as err:  # the driver's own errors (sqlite3.OperationalError): not wrapped by SQLAlchemy here
        if _needs_reopen(err):  # see _configure_sqlite: fresh connections once the file can be written again
            raw.invalidate()
            engine.dispose()
        raise DatabaseUnavailableError(f"cannot write to the database ({where}): {_first_line(err)}") from err
    finally:
        raw.close()


def _needs_reopen(err: BaseException | None) -> bool:
    """Whether a SQLite error leaves the connection unusable for writes even after the cause is gone."""
    text_ = str(err).lower()
    return any(sign in text_ for sign in ("readonly database", "disk i/o error", "unable to open database file"))


def _first_line(err: BaseException) -> str:
    lines = redact_text(str(err)).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def create_engine_for(url: str, *, echo: bool = False) -> Engine:
    """Build an engine for ``url`` (``sqlite:///path/to/vigie.db`` or ``postgresql+psycopg://...``).

    For a SQLite file the parent directory is created. Nothing connects yet: an unreachable server shows up
    as a :class:`StorageError` on first use (:func:`ping`, :func:`migrate`, a repository call).
    """
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            _create_sqlite_parent(parsed)
            engine = create_engine(parsed, echo=echo)
            _configure_sqlite(engine)
        else:
            connect_args: dict[str, Any] = {}
            if "connect_timeout" not in parsed.query:
                connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
            engine = create_engine(parsed, echo=echo, pool_pre_ping=True, connect_args=connect_args)
    except (exc.SQLAlchemyError, ImportError, ValueError, TypeError) as err:
        raise StorageError(f"cannot create an engine for {redact_url(url)}: {_scrub(str(err), parsed)}") from err
    return engine


def for_reading(engine: Engine) -> Engine:
    """The same engine (same pool) whose SQLite transactions start deferred: for sessions that only read."""
    return engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"})


def ping(engine: Engine) -> None:
    """Check the database answers (readiness probes); raise :class:`StorageError` if it does not."""
    with storage_errors(engine, "reach the database"), for_reading(engine).connect() as conn:
        conn.execute(text("SELECT 1"))


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest revision; does nothing when it is already there.

    The whole upgrade runs in one transaction (SQLite and PostgreSQL both have transactional DDL), under the
    write lock on SQLite and an advisory lock on PostgreSQL, so two processes starting together do not both
    migrate.
    """
    with storage_errors(engine, "migrate the schema"), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        command.upgrade(_alembic_config(conn), "head")


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at; ``None`` for a database never migrated."""
    with storage_errors(engine, "read the schema revision"), for_reading(engine).connect() as conn:
        revision: str | None = MigrationContext.configure(conn).get_current_revision()
        return revision


def head_revision() -> str:
    """The newest schema revision this version of Vigie knows."""
    head: str | None = ScriptDirectory.from_config(_alembic_config(None)).get_current_head()
    if head is None:
        raise StorageError(f"no migration found in {MIGRATIONS_DIR}")
    return head


@contextmanager
def storage_errors(engine: Engine, doing: str) -> Iterator[None]:
    """Turn SQLAlchemy, driver and Alembic errors raised inside the block into :class:`StorageError`.

    The message says what was being done and on which database, with the password hidden, followed by the
    driver's first line with any credential removed; the original error stays available as ``__cause__``.
    """
    try:
        yield
    except (exc.SQLAlchemyError, CommandError) as err:
        cause = err.orig if isinstance(err, exc.DBAPIError) and err.orig is not None else err
        lines = str(cause).strip().splitlines()
        detail = lines[0] if lines else type(cause).__name__
        where = engine.url.render_as_string(hide_password=True)
        kind = DatabaseUnavailableError if _unavailable(err) else StorageError
        raise kind(f"cannot {doing} ({where}): {_scrub(detail, engine.url)}") from err


def _unavailable(err: Exception) -> bool:
    """Whether a driver error says the database cannot be used now (locked, read-only, I/O, connection), rather
    than that the statement is wrong (a constraint, a missing table): the former passes, the latter does not."""
    if isinstance(err, exc.IntegrityError | exc.ProgrammingError | exc.DataError):
        return False
    if isinstance(err, exc.OperationalError | exc.InterfaceError):
        text_ = str(err.orig if err.orig is not None else err).lower()
        return "no such table" not in text_ and "no such column" not in text_ and "syntax error" not in text_
    return isinstance(err, exc.DisconnectionError | exc.TimeoutError)


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except (exc.ArgumentError, ValueError) as err:
        raise StorageError(f"invalid database URL {redact_url(url)!r}: {redact_text(str(err))}") from None
    if parsed.get_backend_name() not in _SUPPORTED:
        raise StorageError(
            f"unsupported database {redact_url(url)!r}: use sqlite:///path/to/file.db "
            "or postgresql+psycopg://user:password@host/dbname"
        )
    return parsed


def _scrub(message: str, url: URL) -> str:
    message = redact_text(message)
    if url.password:
        message = message.replace(str(url.password), "***")
    return message


def _create_sqlite_parent(url: URL) -> None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StorageError(f"cannot create the directory of the SQLite database {database}: {err}") from err


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself, instead of the sqlite3 module's implicit one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
        conn.exec_driver_sql("BEGIN DEFERRED" if mode == "DEFERRED" else "BEGIN IMMEDIATE")

    @event.listens_for(engine, "handle_error")
    def _on_error(context: Any) -> None:
        # A connection opened while the file could not be written is read-only for good (SQLite falls back to
        # O_RDONLY), and one that saw an I/O error may be stale: drop them all, so the pool opens fresh ones once
        # the database can be written again. "database is locked" is not one of these: it passes by itself.
        if _needs_reopen(context.original_exception):
            context.is_disconnect = True


def _alembic_config(connection: Connection | None) -> Config:
    config = Config()
    # Config values go through configparser interpolation: a literal "%" in the install path must be doubled.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config
