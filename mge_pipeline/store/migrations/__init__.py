"""The store's schema, created and upgraded by Alembic revisions when a store is opened.

Why on open: every MGE process (CLI, run worker, sensor, Dagit) opens the store, and a team
upgrading MGE should not have to remember a separate step. Concurrent openers are serialised
(an advisory lock on PostgreSQL, a lock file beside a SQLite database), and a store already at
the head revision costs one query. ``mge db upgrade`` / Alembic's own commands are not needed,
but ``alembic_config`` gives tests and operators the same configuration.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from mge_pipeline.store.migrations.settings import VERSION_TABLE

__all__ = ["VERSION_TABLE", "alembic_config", "current_revision", "head_revision", "upgrade"]

_HERE = Path(__file__).resolve().parent
# pg_advisory_lock key: any constant the deployment's other applications do not use.
_PG_LOCK_KEY = 0x4D4745  # "MGE"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("the store's migrations have no head revision")
    return head


def current_revision(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the store to ``revision`` (the newest by default); a no-op when it is there."""
    if revision == "head":
        with engine.connect() as connection:
            if current_revision(connection) == head_revision():
                return
    with _migration_lock(engine) as connection:
        command.upgrade(alembic_config(connection), revision)
        connection.commit()


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """One process migrates at a time; the others then find the store upgraded."""
    url = make_url(str(engine.url))
    if url.get_backend_name() == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})
            connection.commit()
            try:
                yield connection
            finally:
                connection.rollback()
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
                connection.commit()
        return
    database = url.database if url.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:":
        with engine.connect() as connection:
            yield connection
        return
    with FileLock(f"{database}.migrate.lock", timeout=300), engine.connect() as connection:
        yield connection
