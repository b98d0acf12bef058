"""Idempotent schema steps, for revisions that must also adopt stores older than migrations."""

from __future__ import annotations

from sqlalchemy import Column, Connection, MetaData, inspect
from sqlalchemy.schema import CreateColumn


def add_missing_columns(bind: Connection, metadata: MetaData) -> None:
    """Columns (and indexes) of ``metadata`` that an existing table lacks are added to it.

    Only columns that are nullable or carry a server default can be added to a table with
    rows; every column of the baseline schema is one of those or existed from the start.
    """
    inspector = inspect(bind)
    for table in metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                _add_column(bind, table.name, column)
        indexes = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexes:
                index.create(bind)


def _add_column(bind: Connection, table: str, column: Column[object]) -> None:
    ddl = CreateColumn(column).compile(dialect=bind.dialect)
    bind.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {ddl}")


def has_column(bind: Connection, table: str, column: str) -> bool:
    return column in {c["name"] for c in inspect(bind).get_columns(table)}


def has_table(bind: Connection, table: str) -> bool:
    return inspect(bind).has_table(table)
