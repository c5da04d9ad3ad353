"""Pure domain types and ports. Imports nothing from the project (checked by import-linter)."""
