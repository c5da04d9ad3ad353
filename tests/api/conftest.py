"""API tests run on a migrated SQLite file (the repositories themselves are tested on PostgreSQL too, in
tests/storage)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.sign_on import stack  # noqa: F401 - the OpenID provider fixture, for this folder's tests
from vigie.storage import create_engine_for, migrate


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'api.db'}")
    migrate(engine)
    yield engine
    engine.dispose()
