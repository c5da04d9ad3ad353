"""Storage tests run on both backends: a SQLite file in tmp_path, and a fresh PostgreSQL database per test.

PostgreSQL comes from ``VIGIE_TEST_POSTGRES_URL`` (scripts/test.sh starts a server and sets it). Without it the
PostgreSQL cases are skipped, except in CI (``CI=true``) where they fail: a CI run must not pass by skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from vigie.storage import create_engine_for, migrate

POSTGRES_ENV = "VIGIE_TEST_POSTGRES_URL"
NO_POSTGRES = f"set {POSTGRES_ENV} or run scripts/test.sh, which starts PostgreSQL"


def postgres_base_url() -> str:
    url = os.environ.get(POSTGRES_ENV, "")
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL tests cannot run in CI: {NO_POSTGRES}")
    pytest.skip(NO_POSTGRES)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of each backend, dropped after the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'vigie.db'}"
        return
    base = make_url(postgres_base_url())
    name = f"vigie_t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            # A server zone far from UTC proves instants are converted, not just labelled.
            conn.execute(text(f"ALTER DATABASE \"{name}\" SET timezone TO 'Pacific/Chatham'"))
        yield base.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the empty database, not migrated."""
    eng = create_engine_for(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine: Engine) -> Engine:
    """An engine on a database migrated to head."""
    migrate(engine)
    return engine
