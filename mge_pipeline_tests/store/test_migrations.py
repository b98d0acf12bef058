"""Schema creation and upgrades go through the Alembic revisions, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib.util
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select

from mge_pipeline.domain import AttemptRecord
from mge_pipeline.store import MgeStore, migrations
from mge_pipeline.store import tables as t
from mge_pipeline.store.engine import normalise_database_url
from mge_pipeline_tests.factories import make_plan

VERSIONS = Path(migrations.__file__).parent / "versions"


def _baseline() -> ModuleType:
    """The first revision's module (its file name starts with a digit: no plain import)."""
    spec = importlib.util.spec_from_file_location("baseline", VERSIONS / "0001_baseline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _old_attempt_row() -> dict[str, object]:
    """An attempt as the code before issue 14 wrote it: a temperature, no model or effort."""
    return {
        "execution_id": "run1",
        "atom_id": "a",
        "attempt_number": 1,
        "temperature": 0.7,
        "prompt_tokens": 10,
        "response_tokens": 5,
        "cost_usd": 0.01,
        "duration_seconds": 1.0,
        "api_retries": 0,
        "passed": True,
        "errors": [],
    }


def _new_attempt() -> AttemptRecord:
    """An attempt on a model that takes no temperature, as issue 14's code records it."""
    return AttemptRecord(
        atom_id="b",
        attempt_number=1,
        temperature=None,
        model="claude-opus-5",
        effort="high",
        prompt_tokens=10,
        response_tokens=5,
        cost_usd=0.02,
        duration_seconds=1.0,
        api_retries=0,
        passed=True,
    )


def _schema_differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn)
            return [d for d in compare_metadata(context, t.metadata) if _ours(d)]
    finally:
        engine.dispose()


def _ours(difference: object) -> bool:
    """Dagster's tables may share a PostgreSQL database; only MGE's tables are compared."""
    names = set(t.metadata.tables)
    text = repr(difference)
    return any(f"'{name}'" in text for name in names) or "remove_table" not in text


def test_a_new_store_is_created_at_the_newest_revision(database_url: str) -> None:
    store = MgeStore(database_url)
    with store.engine.connect() as conn:
        assert migrations.current_revision(conn) == migrations.head_revision()
    store.dispose()
    assert _schema_differences(database_url) == [], "the revisions build exactly tables.py"


def test_a_store_created_before_migrations_is_upgraded_and_keeps_its_rows(
    database_url: str,
) -> None:
    # The way the code before migrations made a store: create_all of its tables, no version.
    old = create_engine(normalise_database_url(database_url))
    _baseline().baseline_metadata().create_all(old)
    with old.begin() as conn:
        conn.execute(t.attempts.insert().values(_old_attempt_row()))
    assert "mge_alembic_version" not in inspect(old).get_table_names()
    old.dispose()

    store = MgeStore(database_url)
    store.start_execution(
        execution_id="run1",
        plan=make_plan(),
        total_waves=1,
        budget_usd=1.0,
        provider="simulated",
        model="m",
        output_dir="/tmp/mge-17-migrated",
    )
    store.record_attempt("run1", _new_attempt())
    attempts = {a.atom_id: a for a in store.attempts("run1")}
    assert attempts["a"].temperature == 0.7 and attempts["a"].model == ""
    assert attempts["b"].temperature is None
    assert (attempts["b"].model, attempts["b"].effort) == ("claude-opus-5", "high")
    with store.engine.connect() as conn:
        assert migrations.current_revision(conn) == migrations.head_revision()
        assert conn.execute(select(t.batch_requests)).all() == []
    store.dispose()
    assert _schema_differences(database_url) == []


def test_a_store_at_the_initial_revision_is_upgraded(database_url: str) -> None:
    engine = create_engine(normalise_database_url(database_url))
    migrations.upgrade(engine, "0001")
    with engine.connect() as conn:
        assert migrations.current_revision(conn) == "0001"
    with engine.begin() as conn:
        conn.execute(t.attempts.insert().values(_old_attempt_row()))
    # The old schema refuses what issue 14's code writes.
    with pytest.raises(Exception, match=r"(?i)null"), engine.begin() as conn:
        conn.execute(t.attempts.insert().values({**_old_attempt_row(), "temperature": None}))
    engine.dispose()

    store = MgeStore(database_url)
    store.record_attempt("run1", _new_attempt())
    assert sorted(a.atom_id for a in store.attempts("run1")) == ["a", "b"]
    store.dispose()


def test_a_store_with_some_tables_missing_gets_them(database_url: str) -> None:
    """Stores made by even older code lack whole tables (review, batches): adopted as well."""
    old = create_engine(normalise_database_url(database_url))
    metadata = _baseline().baseline_metadata()
    metadata.tables["masterplans"].create(old)
    metadata.tables["attempts"].create(old)
    old.dispose()
    store = MgeStore(database_url)
    store.save_masterplan(make_plan(id="p1"), status="ready")
    store.dispose()
    assert _schema_differences(database_url) == []


def test_stores_opened_at_once_migrate_once(database_url: str) -> None:
    def open_store(_: int) -> str | None:
        store = MgeStore(database_url)
        try:
            with store.engine.connect() as conn:
                return migrations.current_revision(conn)
        finally:
            store.dispose()

    with ThreadPoolExecutor(max_workers=6) as pool:
        revisions = list(pool.map(open_store, range(6)))
    assert revisions == [migrations.head_revision()] * 6


def test_a_plain_postgresql_url_selects_psycopg2() -> None:
    url = "postgresql://postgres@127.0.0.1:5432/mge_17_test"
    assert (
        normalise_database_url(url) == "postgresql+psycopg2://postgres@127.0.0.1:5432/mge_17_test"
    )
    assert normalise_database_url("postgres://u:secret@db/mge").startswith(
        "postgresql+psycopg2://u:secret@db/mge"
    )
    assert normalise_database_url("postgresql+psycopg://db/mge") == "postgresql+psycopg://db/mge"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_the_store_on_a_plain_postgresql_url_runs_on_psycopg2(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    plain = database_url.replace("postgresql+psycopg2://", "postgresql://")
    store = MgeStore(plain)
    assert store.engine.dialect.driver == "psycopg2"
    store.save_masterplan(make_plan(id="p1"), status="draft")
    assert [p.masterplan_id for p in store.masterplans()] == ["p1"]
    updated = store.masterplans()[0].updated_at
    assert updated is not None and updated <= datetime.now(UTC)
    store.dispose()
