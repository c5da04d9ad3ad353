"""Alembic migrations of the Vigie schema (run them with ``vigie.storage.database.migrate``)."""
