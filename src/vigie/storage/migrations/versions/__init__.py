"""Migration scripts, one per schema revision, hand-written to run on both SQLite and PostgreSQL."""
