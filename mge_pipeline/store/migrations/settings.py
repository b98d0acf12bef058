"""Names the migrations share with the code that runs them."""

from __future__ import annotations

# Not Alembic's default ``alembic_version``: dagster-postgres keeps its own schema version in
# that table, and a team may point Dagster and MGE at one PostgreSQL database.
VERSION_TABLE = "mge_alembic_version"
