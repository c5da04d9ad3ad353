from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from vigie.storage import (
    SqlCameraStatusRepo,
    SqlEventRepo,
    StorageError,
    create_engine_for,
    current_revision,
    migrate,
    ping,
)

SECRET = "s3cr3t-P4ss"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def unreachable_url(db_url: str) -> str:
    """The same backend as ``db_url``, but nothing answers there."""
    if db_url.startswith("sqlite"):
        return "sqlite:////proc/vigie-cannot-be-here/vigie.db"
    return make_url(db_url).set(password=SECRET, host="127.0.0.1", port=free_port()).render_as_string(False)


def test_unreachable_database_gives_a_storage_error_without_the_password(db_url: str) -> None:
    url = unreachable_url(db_url)
    if db_url.startswith("sqlite"):
        with pytest.raises(StorageError, match="vigie-cannot-be-here"):
            create_engine_for(url)
        return
    engine = create_engine_for(url)
    try:
        for call in (
            lambda: ping(engine),
            lambda: migrate(engine),
            lambda: current_revision(engine),
            lambda: SqlEventRepo(engine).list(),
            lambda: SqlCameraStatusRepo(engine).latest(),
        ):
            with pytest.raises(StorageError) as caught:
                call()
            message = str(caught.value)
            assert SECRET not in message
            assert "***" in message
            assert "127.0.0.1" in message
    finally:
        engine.dispose()


def test_wrong_password_gives_a_storage_error_without_the_password(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has no password")
    engine = create_engine_for(make_url(db_url).set(password=SECRET).render_as_string(False))
    try:
        with pytest.raises(StorageError) as caught:
            ping(engine)
        assert SECRET not in str(caught.value)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://vigie:{SECRET}@db:notaport/vigie",
        f"mysql://vigie:{SECRET}@db/vigie",
        f"postgresql+nosuchdriver://vigie:{SECRET}@db/vigie",
        "not a url",
        "",
    ],
)
def test_bad_urls_give_a_storage_error_without_the_password(url: str) -> None:
    with pytest.raises(StorageError) as caught:
        create_engine_for(url)
    assert SECRET not in str(caught.value)


def test_sqlite_parent_directory_is_created_and_wal_is_on(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "vigie.db"
    engine = create_engine_for(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            pragmas = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
            }
        assert path.parent.is_dir()
        assert pragmas == {"journal_mode": "wal", "busy_timeout": 5000, "foreign_keys": 1, "synchronous": 1}
    finally:
        engine.dispose()


def test_failed_statement_gives_a_storage_error(db_url: str) -> None:
    engine = create_engine_for(db_url)  # not migrated: the tables do not exist
    try:
        with pytest.raises(StorageError, match="cannot list events"):
            SqlEventRepo(engine).list()
    finally:
        engine.dispose()
