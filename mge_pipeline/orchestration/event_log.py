"""Dagster's run-sharded SQLite event log, written through long-lived engines.

Why: ``SqliteEventLogStorage._connect`` builds a new SQLAlchemy engine (``NullPool``) and SQLite
connection for every event, commits it with ``synchronous=FULL`` (an fsync per event) and
disposes the engine again. On the async executor that is 6.75 ms per event on the one event
loop that runs every atom, ~9 events per atom step (benchmarks/README.md, "Orchestration").
``MgeSqliteEventLogStorage`` keeps Dagster's files, schema and queries and changes only how
connections are made; ``benchmarks/event_log.py`` measures the difference.

What changes:

- One engine per shard (``<run_id>.db`` and ``index.db``), each pooling one connection
  (``POOL_SIZE``, ``POOL_OVERFLOW``). ``check_same_thread=False``: the event loop, the watchdog
  thread and ``run_in_executor`` workers take turns on it. SQLite's busy timeout makes another
  process (Dagit, the daemon, a second run worker) that holds the write lock be waited for,
  not failed. Dagster's per-storage ``_db_lock`` still wraps every transaction, as in the
  stock storage, so within one process transactions never overlap.
- ``journal_mode=WAL`` with ``synchronous=NORMAL``. Durability trade-off: a commit no longer
  waits for an fsync. A committed event survives a crash or kill of any process; on power loss
  or an OS crash the last events committed since the previous checkpoint may be lost (the
  database itself stays consistent). The stock storage fsyncs each event instead.
- Bound: the index shard plus at most ``max_open_run_shards`` (default
  ``DEFAULT_MAX_OPEN_RUN_SHARDS``) run shards stay open per process, least recently used
  evicted first; evicting or ``dispose()`` closes the engine, which checkpoints its WAL into
  the ``.db`` file. A finished run's shard is therefore closed once enough other runs are read
  or written, and at the latest when the instance is disposed.
- Watching: with connections kept open, commits land in ``<run_id>.db-wal`` and the ``.db``
  only changes at checkpoints, so the watchdog also reacts to the ``-wal`` file (the stock one
  watches only the ``.db``, which the stock storage rewrites on every close). A watcher woken
  by the WAL write could in principle read a moment before that commit becomes visible; it then
  gets the event at the shard's next write or when the writer closes the shard (not observed
  in the tests nor in Dagit's live view, but not excluded either).
- ``base_dir`` may be left out of the config: the storage then uses Dagster's default place for
  SQLite event logs under the instance's home (``history/runs``), learnt when the instance
  registers itself. That is what lets ``mge run`` copy ``dagster.yaml`` into a home that
  ``DAGSTER_HOME`` does not name.

Dagster internals this relies on (``dagster._core.storage.event_log.sqlite.sqlite_event_log``):
``SqliteEventLogStorage`` with its ``_connect``, ``_initdb``, ``_initialized_dbs``,
``_db_lock``, ``_base_dir``, ``_obs`` and ``_watchers``, and ``SqliteEventLogStorageWatchdog``
with ``_log_path`` and ``_process_log``; the default layout ``<home>/history/runs`` of
``dagster._core.storage.sqlite_storage``. Tested with dagster 1.13.27 only; nothing is pinned:
``mge_pipeline_tests/orchestration/test_event_log.py`` runs the same expectations on the stock
storage and on this one, so a Dagster upgrade that moves these internals shows up there.
After a fork, the child drops the engines it inherited without closing them (the parent still
uses them) and opens its own.
"""

from __future__ import annotations

import os
import sqlite3
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
from dagster._core.event_api import EventHandlerFn
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorageWatchdog,
)
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine
from watchdog.observers import Observer

__all__ = ["DEFAULT_MAX_OPEN_RUN_SHARDS", "MgeSqliteEventLogStorage"]

# A run worker writes one run shard; Dagit reads a handful at a time. Each open shard costs a
# file handle for the .db, one for the -wal and a 32 KiB -shm mapping.
DEFAULT_MAX_OPEN_RUN_SHARDS = 8

# One connection per shard in steady state: `_db_lock` serialises this storage's transactions.
# Dagster's `_initdb` nests connections (reflection, `create_all`) while creating a shard's
# schema; the overflow serves those and is closed again when they are returned.
POOL_SIZE = 1
POOL_OVERFLOW = 3

# Where DagsterSqliteStorage (the default `storage: sqlite`) keeps event logs under its home.
DEFAULT_EVENT_LOG_SUBDIR = ("history", "runs")


def _set_pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    """Runs on every new SQLite connection: WAL (persistent) and no fsync per commit."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class _WalAwareWatchdog(SqliteEventLogStorageWatchdog):
    """Dagster's watchdog, also woken by the shard's ``-wal`` file where commits now land."""

    @property
    def patterns(self) -> list[str]:
        return [self._log_path, f"{self._log_path}-wal"]

    def on_modified(self, event: Any) -> None:
        self._process_log()


class MgeSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log with one pooled engine per shard; see the module docstring.

    Configured in dagster.yaml::

        event_log_storage:
          module: mge_pipeline.orchestration.event_log
          class: MgeSqliteEventLogStorage
          config: {}            # or base_dir: /abs/path, max_open_run_shards: 8
    """

    def __init__(
        self,
        base_dir: str | None = None,
        inst_data: ConfigurableClassData | None = None,
        max_open_run_shards: int = DEFAULT_MAX_OPEN_RUN_SHARDS,
    ) -> None:
        if max_open_run_shards < 1:
            raise ValueError("max_open_run_shards must be at least 1")
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._max_open_run_shards = max_open_run_shards
        self._engines_pid = os.getpid()
        self._inst_data = inst_data
        self._configured = base_dir is not None
        if base_dir is not None:
            super().__init__(base_dir, inst_data)

    @classmethod
    def config_type(cls) -> dict[str, dg.Field]:
        return {
            "base_dir": dg.Field(dg.StringSource, is_required=False),
            "max_open_run_shards": dg.Field(
                dg.IntSource, is_required=False, default_value=DEFAULT_MAX_OPEN_RUN_SHARDS
            ),
        }

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
    ) -> MgeSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def register_instance(self, instance: Any) -> None:
        """Finishes construction under the instance's home when no ``base_dir`` was configured."""
        if not self._configured:
            base_dir = os.path.join(instance.root_directory, *DEFAULT_EVENT_LOG_SUBDIR)
            super().__init__(base_dir, self._inst_data)
            self._configured = True
        super().register_instance(instance)

    @property
    def open_shards(self) -> tuple[str, ...]:
        """Shards with an open engine in this process, least recently used first."""
        return tuple(self._engines)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _engine(self, shard: str) -> Engine:
        """The shard's engine, opened on first use; called with ``_db_lock`` held."""
        if self._engines_pid != os.getpid():
            # Inherited over fork: the parent still uses these connections, so never close them.
            for engine in self._engines.values():
                engine.dispose(close=False)
            self._engines.clear()
            self._engines_pid = os.getpid()
        if shard not in self._engines:
            self._engines[shard] = self._create_engine(shard)
            self._evict_run_shards()
        self._engines.move_to_end(shard)
        return self._engines[shard]

    def _create_engine(self, shard: str) -> Engine:
        engine = create_engine(
            self.conn_string_for_shard(shard),
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
            pool_timeout=SQLITE_BUSY_TIMEOUT_SECONDS,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        sa_event.listen(engine, "connect", _set_pragmas)
        return engine

    def _evict_run_shards(self) -> None:
        """Closes the least recently used run shards beyond the bound (never the index)."""
        run_shards = [shard for shard in self._engines if shard != INDEX_SHARD_NAME]
        for shard in run_shards[: max(0, len(run_shards) - self._max_open_run_shards)]:
            self._engines.pop(shard).dispose()

    def _dispose_engines(self, *, keep_index: bool) -> None:
        with self._db_lock:
            for shard in list(self._engines):
                if not (keep_index and shard == INDEX_SHARD_NAME):
                    self._engines.pop(shard).dispose()

    def watch(self, run_id: str, cursor: str | None, callback: EventHandlerFn) -> None:
        observer: Any = self._obs  # Dagster's __init__ leaves it typed as None
        if observer is None:
            observer = Observer()
            observer.start()
            self._obs = observer
        watchdog = _WalAwareWatchdog(self, run_id, callback, cursor)
        self._watchers[run_id][callback] = (
            watchdog,
            observer.schedule(watchdog, self._base_dir, recursive=True),
        )

    def wipe(self) -> None:
        """Closes the run shards first: the stock ``wipe`` unlinks their files."""
        self._dispose_engines(keep_index=True)
        super().wipe()

    def dispose(self) -> None:
        if not self._configured:
            return
        super().dispose()
        self._dispose_engines(keep_index=False)
