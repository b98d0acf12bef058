"""PostgreSQL for tests: a fresh database per test on the server at 127.0.0.1:5432.

The server runs on the development and CI machines (``.ci/run`` starts it and creates the base
database). Each test gets its own database, named after the base one, dropped afterwards; when
no server can be reached the test is skipped, saying so, never silently passed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

# The base database; `.ci/run` creates it. Per-test databases are named `<base>_<hex>`.
BASE_URL = os.environ.get(
    "MGE_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/mge_17_test"
)


def _admin_engine() -> Engine:
    return create_engine(BASE_URL, isolation_level="AUTOCOMMIT")


def reachable() -> str | None:
    """None when the server answers, else why not (for the skip message)."""
    engine = _admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except OperationalError as exc:
        return str(exc.orig).strip().splitlines()[0]
    finally:
        engine.dispose()


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new empty database's URL (psycopg2 driver), dropped with its connections afterwards."""
    problem = reachable()
    if problem is not None:
        pytest.skip(f"no PostgreSQL server at {make_url(BASE_URL).render_as_string()}: {problem}")
    base = make_url(BASE_URL)
    name = f"{base.database}_{uuid.uuid4().hex[:10]}"
    engine = _admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
