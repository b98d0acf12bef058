"""Experimental event log storages for the orchestration benchmark (``--instance pooled|buffered``).

Dagster's ``SqliteEventLogStorage`` opens a new SQLAlchemy engine and SQLite connection for
every event, commits it with ``synchronous=FULL`` (an fsync of the WAL per event) and closes
the connection again, which checkpoints the WAL. On the async executor all of that happens on
the event loop thread, between atoms. These subclasses keep the same files and schema (Dagit,
the daemon and ``dagster`` CLI can read them unchanged) and change only how they are written:

``PooledSqliteEventLogStorage``
    one engine (and a few pooled connections) per shard, ``synchronous=NORMAL`` in WAL mode:
    committed events survive a crash of the process, the last ones may be lost on power loss.
``BufferedSqliteEventLogStorage``
    the pooled storage, plus a writer thread: ``store_event`` of step events only enqueues,
    the writer commits whatever accumulated in one transaction. Every read, and every run,
    asset or check event, first waits until the queue is flushed, so readers never see a gap.

They exist to measure what the storage costs; they are not used by ``mge_pipeline``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster._core.events import (
    ASSET_CHECK_EVENTS,
    ASSET_EVENTS,
    EVENT_TYPE_TO_PIPELINE_RUN_STATUS,
)
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.sql import create_engine
from sqlalchemy import event as sa_event

SQLITE_BUSY_TIMEOUT_SECONDS = 30


def _pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self._engines: dict[str, Any] = {}
        self._engines_lock = threading.Lock()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Any:
        with self._engines_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = create_engine(
                    self.conn_string_for_shard(shard),
                    connect_args={
                        "timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                        "check_same_thread": False,
                    },
                )
                sa_event.listen(engine, "connect", _pragmas)
                self._engines[shard] = engine
            return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Any]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        with self._engines_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
        super().dispose()


_STOP = object()
_SYNC_TYPES = set(ASSET_EVENTS) | set(ASSET_CHECK_EVENTS) | set(EVENT_TYPE_TO_PIPELINE_RUN_STATUS)


class BufferedSqliteEventLogStorage(PooledSqliteEventLogStorage):
    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self._queue: queue.Queue[Any] = queue.Queue()
        self._writer_ident: int | None = None
        super().__init__(base_dir, inst_data)
        self._writer = threading.Thread(
            target=self._write_loop, name="event-log-writer", daemon=True
        )
        self._writer.start()

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> BufferedSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def store_event(self, event: Any) -> None:
        if event.is_dagster_event and event.dagster_event_type in _SYNC_TYPES:
            self.flush()
            super().store_event(event)
            return
        self._queue.put(event)

    def flush(self) -> None:
        if threading.get_ident() != self._writer_ident:
            self._queue.join()

    def run_connection(self, run_id: str | None = None) -> Any:
        self.flush()
        return super().run_connection(run_id)

    def index_connection(self) -> Any:
        self.flush()
        return super().index_connection()

    def _write_loop(self) -> None:
        self._writer_ident = threading.get_ident()
        while True:
            first = self._queue.get()
            batch = [first]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                events = [e for e in batch if e is not _STOP]
                by_run: dict[str, list[Any]] = {}
                for e in events:
                    by_run.setdefault(e.run_id, []).append(e)
                for run_id, run_events in by_run.items():
                    with super().run_connection(run_id) as conn:
                        for e in run_events:
                            conn.execute(self.prepare_insert_event(e))
            finally:
                for _ in batch:
                    self._queue.task_done()
            if any(e is _STOP for e in batch):
                return

    def dispose(self) -> None:
        self._queue.put(_STOP)
        self._writer.join(timeout=10)
        super().dispose()
