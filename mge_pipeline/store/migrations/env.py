"""Alembic's environment for the store: migrations run on the connection ``upgrade`` hands in.

There is no alembic.ini: the store upgrades itself on open (``mge_pipeline.store.migrations``),
and the connection, already holding the migration lock, arrives in ``config.attributes``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from mge_pipeline.store.migrations.settings import VERSION_TABLE
from mge_pipeline.store.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=True,  # SQLite changes a column by copying its table
    )
    with context.begin_transaction():
        context.run_migrations()


_run(context.config.attributes["connection"])
