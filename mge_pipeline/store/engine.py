"""Engines for the store: SQLite tuned for many writers, PostgreSQL on psycopg2, others as given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from mge_pipeline.exceptions import StoreError


def normalise_database_url(url: str) -> str:
    """``postgresql://`` (and ``postgres://``) name psycopg2, the driver dagster-postgres needs.

    SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, under which dagster-postgres
    0.29 fails (``NOTIFY run_events, $1`` is a syntax error there); one server and one URL
    serve both MGE's store and Dagster's storage, so both use psycopg2. A URL that names its
    driver (``postgresql+psycopg://``) is left as given.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"store URL {url!r} is not a database URL: {exc}") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg2")
        return parsed.render_as_string(hide_password=False)
    return url


def make_engine(url: str) -> Engine:
    """SQLite gets WAL and a busy timeout: the run worker, webserver and daemon share the file."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        try:
            return create_engine(url, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            shown = parsed.render_as_string(hide_password=True)
            raise StoreError(
                f"store {shown}: its driver '{exc.name}' is not installed "
                f"(pip install {exc.name}, or use postgresql+psycopg2://)"
            ) from exc
    if parsed.database and parsed.database != ":memory:":
        folder = Path(parsed.database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"store {url}: cannot create {folder}: {exc.strerror}") from exc
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
