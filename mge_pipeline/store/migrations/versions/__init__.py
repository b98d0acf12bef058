"""Alembic revisions of the store schema, one module each, applied in order."""
