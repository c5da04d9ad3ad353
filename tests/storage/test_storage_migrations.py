from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from vigie.storage import current_revision, head_revision, migrate
from vigie.storage.database import MIGRATIONS_DIR
from vigie.storage.tables import Base


def test_migrations_apply_on_empty_database_and_are_idempotent(engine: Engine) -> None:
    assert current_revision(engine) is None
    migrate(engine)
    migrate(engine)
    assert current_revision(engine) == head_revision() == "0024"
    tables = set(inspect(engine).get_table_names())
    assert {"events", "camera_status", "camera_health_log", "alembic_version"} <= tables


def test_migrations_build_exactly_the_mapped_schema(db: Engine) -> None:
    with db.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_indexes_serve_the_list_queries(db: Engine) -> None:
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(db).get_indexes("events")}
    assert indexes["ix_events_camera_id_started_at"] == ["camera_id", "started_at"]
    assert indexes["ix_events_ended_at"] == ["ended_at"]


def test_migrations_are_packaged_files_found_from_the_package() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert Path(MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()
