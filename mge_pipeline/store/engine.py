"""Engines for the store: SQLite tuned for many writers, any other SQLAlchemy URL as given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateColumn

from mge_pipeline.exceptions import StoreError
from mge_pipeline.store.tables import metadata


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


def add_missing_columns(engine: Engine) -> None:
    """Additive migrations only: every new column has a server default, so old rows stay valid."""
    inspector = inspect(engine)
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present:
                    ddl = CreateColumn(column).compile(dialect=engine.dialect)
                    conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {ddl}"))
