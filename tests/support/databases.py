"""An empty database of either backend for tests that run the service itself: a SQLite file under the test's
folder, or a fresh PostgreSQL database (from ``VIGIE_TEST_POSTGRES_URL``), dropped afterwards. Without that
variable the PostgreSQL cases are skipped, except in CI where they fail."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_ENV = "VIGIE_TEST_POSTGRES_URL"


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """The URL of an empty database of ``kind`` (``sqlite`` or ``postgres``)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'db' / 'vigie.db'}"
        return
    base_url = os.environ.get(POSTGRES_ENV, "")
    if not base_url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL tests cannot run in CI without {POSTGRES_ENV}")
        pytest.skip(f"set {POSTGRES_ENV} or run scripts/test.sh, which starts PostgreSQL")
    base = make_url(base_url)
    name = f"vigie_t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield base.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
