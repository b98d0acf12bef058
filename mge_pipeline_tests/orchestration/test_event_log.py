"""MgeSqliteEventLogStorage meets the expectations Dagster's own event-log suite sets.

Each expectation runs on Dagster's stock ``SqliteEventLogStorage`` and on ours (ids ``stock``
and ``mge``), on a real temporary instance: reading back with cursors and limits, run-status
events mirrored to the index shard, asset events, deleting, wiping, watching (in-process and
across processes, as Dagit watches a run worker), concurrent writers from threads and from
processes, a killed writer. Then what only ours promises (bounded open shards, disposal, the
default location) and a compiled MGE job run on the repository's ``dagster.yaml``.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster._core.definitions.reconstruct import build_reconstructable_job
from dagster._core.events import DagsterEvent, DagsterEventType, EngineEventData
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.base import EventLogCursor
from dagster._core.test_utils import create_run_for_test

from mge_pipeline.orchestration import default_run_config
from mge_pipeline.orchestration.event_log import MgeSqliteEventLogStorage
from mge_pipeline_tests.factories import chain_plan

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
STOCK = ("dagster._core.storage.event_log", "SqliteEventLogStorage")
OURS = ("mge_pipeline.orchestration.event_log", "MgeSqliteEventLogStorage")
WAIT_SECONDS = 20.0  # upper bound for watchers and child processes on a loaded machine


def make_event(
    run_id: str,
    message: str = "",
    event_type: DagsterEventType = DagsterEventType.ENGINE_EVENT,
    **overrides: Any,
) -> EventLogEntry:
    """A stored-event-shaped entry; engine events carry the data Dagster requires of them."""
    specific = EngineEventData() if event_type == DagsterEventType.ENGINE_EVENT else None
    fields: dict[str, Any] = {
        "error_info": None,
        "level": "debug",
        "user_message": message,
        "run_id": run_id,
        "timestamp": time.time(),
        "job_name": "job",
        "dagster_event": DagsterEvent(event_type.value, "job", event_specific_data=specific),
    }
    return EventLogEntry(**{**fields, **overrides})


def storage_overrides(module: str, class_name: str, **config: Any) -> dict[str, Any]:
    return {"event_log_storage": {"module": module, "class": class_name, "config": config}}


def messages(storage: Any, run_id: str, **query: Any) -> list[str]:
    return [entry.user_message for entry in storage.get_logs_for_run(run_id, **query)]


@pytest.fixture(params=[pytest.param(STOCK, id="stock"), pytest.param(OURS, id="mge")])
def instance(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    home = tmp_path / "dagster-home"
    home.mkdir()
    module, class_name = request.param
    overrides = storage_overrides(module, class_name, base_dir=str(home / "history" / "runs"))
    with dg.instance_for_test(temp_dir=str(home), overrides=overrides) as test_instance:
        yield test_instance


@pytest.fixture
def storage(instance: dg.DagsterInstance) -> SqliteEventLogStorage:
    event_log = instance.event_log_storage
    assert isinstance(event_log, SqliteEventLogStorage)
    return event_log


@pytest.fixture
def run_id(instance: dg.DagsterInstance) -> str:
    return create_run_for_test(instance, job_name="job").run_id


def test_events_read_back_in_order_with_cursors_and_limits(
    storage: SqliteEventLogStorage, run_id: str, instance: dg.DagsterInstance
) -> None:
    other = create_run_for_test(instance, job_name="job").run_id
    for letter in "ABCD":
        storage.store_event(make_event(run_id, letter))
        storage.store_event(make_event(other, letter.lower()))

    assert messages(storage, run_id) == list("ABCD")
    assert messages(storage, run_id, ascending=False) == list("DCBA")
    assert messages(storage, run_id, limit=2) == list("AB")
    first_two = storage.get_records_for_run(run_id, limit=2)
    assert first_two.has_more
    rest = storage.get_records_for_run(run_id, cursor=first_two.cursor)
    assert [r.event_log_entry.user_message for r in rest.records] == list("CD")
    ids = [r.storage_id for r in first_two.records + rest.records]
    assert ids == sorted(ids) and len(set(ids)) == 4
    after_first = EventLogCursor.from_storage_id(ids[0]).to_string()
    assert messages(storage, run_id, cursor=after_first) == list("BCD")
    engine_events = storage.get_records_for_run(run_id, of_type=DagsterEventType.ENGINE_EVENT)
    assert len(engine_events.records) == 4
    assert messages(storage, other) == list("abcd")
    assert storage.get_stats_for_run(run_id).run_id == run_id


def test_run_status_events_are_mirrored_to_the_index_shard(
    storage: SqliteEventLogStorage, run_id: str, instance: dg.DagsterInstance
) -> None:
    storage.store_event(make_event(run_id, "start", DagsterEventType.RUN_START))
    storage.store_event(make_event(run_id, "step"))
    storage.store_event(make_event(run_id, "done", DagsterEventType.RUN_SUCCESS))

    changes = storage.fetch_run_status_changes(DagsterEventType.RUN_SUCCESS, limit=10)
    assert [r.run_id for r in changes.records] == [run_id]
    assert not changes.has_more
    via_instance = instance.fetch_run_status_changes(DagsterEventType.RUN_START, limit=10)
    assert [r.event_log_entry.user_message for r in via_instance.records] == ["start"]
    records = storage.get_event_records(dg.EventRecordsFilter(DagsterEventType.RUN_SUCCESS))
    assert [r.event_log_entry.user_message for r in records] == ["done"]
    with storage.index_connection() as conn:
        mirrored = conn.exec_driver_sql("SELECT dagster_event_type FROM event_logs").fetchall()
    assert sorted(row[0] for row in mirrored) == ["PIPELINE_START", "PIPELINE_SUCCESS"]


@dg.op
def record_assets(context) -> None:  # type: ignore[no-untyped-def]  # Dagster reads the hint
    context.log_event(dg.AssetMaterialization(asset_key="atoms", metadata={"count": 3}))
    context.log_event(dg.AssetMaterialization(asset_key=["plan", "report"]))
    context.log_event(dg.AssetObservation(asset_key="atoms", metadata={"seen": 1}))


@dg.job
def asset_events_job() -> None:
    record_assets()


def test_asset_materializations_and_observations_are_indexed(
    storage: SqliteEventLogStorage, instance: dg.DagsterInstance
) -> None:
    first = asset_events_job.execute_in_process(instance=instance)
    second = asset_events_job.execute_in_process(instance=instance)
    assert first.success and second.success
    atoms, report = dg.AssetKey("atoms"), dg.AssetKey(["plan", "report"])

    assert set(storage.get_asset_keys()) == {atoms, report}
    latest = storage.get_latest_materialization_events([atoms, report])
    assert {key: event.run_id for key, event in latest.items() if event} == {
        atoms: second.run_id,
        report: second.run_id,
    }
    materializations = instance.fetch_materializations(atoms, limit=10)
    assert [r.run_id for r in materializations.records] == [second.run_id, first.run_id]
    observations = instance.fetch_observations(atoms, limit=10)
    assert len(observations.records) == 2
    assert storage.get_asset_keys_for_run(first.run_id) is not None


def test_deleting_a_runs_events(storage: SqliteEventLogStorage, run_id: str) -> None:
    storage.store_event(make_event(run_id, "one"))
    storage.store_event(make_event(run_id, "done", DagsterEventType.RUN_SUCCESS))

    storage.delete_events(run_id)

    assert messages(storage, run_id) == []
    changes = storage.fetch_run_status_changes(DagsterEventType.RUN_SUCCESS, limit=10)
    assert changes.records == []
    storage.store_event(make_event(run_id, "again"))
    assert messages(storage, run_id) == ["again"]


def test_wipe_removes_every_run_and_the_storage_keeps_working(
    storage: SqliteEventLogStorage, instance: dg.DagsterInstance
) -> None:
    runs = [create_run_for_test(instance, job_name="job").run_id for _ in range(3)]
    for run in runs:
        storage.store_event(make_event(run, "before", DagsterEventType.RUN_SUCCESS))

    storage.wipe()

    assert not any(Path(storage.path_for_shard(run)).exists() for run in runs)
    assert all(messages(storage, run) == [] for run in runs)
    assert storage.fetch_run_status_changes(DagsterEventType.RUN_SUCCESS, limit=10).records == []
    storage.store_event(make_event(runs[0], "after"))
    assert messages(storage, runs[0]) == ["after"]


class Watcher:
    """A watch callback that remembers messages and wakes the test when enough arrived."""

    def __init__(self, expected: int) -> None:
        self.messages: list[str] = []
        self._expected = expected
        self._enough = threading.Event()

    def __call__(self, entry: EventLogEntry, _cursor: str) -> None:
        self.messages.append(entry.user_message)
        if len(self.messages) >= self._expected:
            self._enough.set()

    def wait(self) -> bool:
        return self._enough.wait(WAIT_SECONDS)


def test_a_watcher_gets_the_events_stored_after_it_started(
    storage: SqliteEventLogStorage, run_id: str
) -> None:
    storage.store_event(make_event(run_id, "1"))
    cursor = storage.get_records_for_run(run_id).cursor
    watcher = Watcher(expected=3)
    storage.watch(run_id, cursor, watcher)
    for message in "234":
        storage.store_event(make_event(run_id, message))
    assert watcher.wait(), f"watcher saw only {watcher.messages}"

    storage.end_watch(run_id, watcher)
    # A second watcher proves event 5 was dispatched; the first, removed, must not see it.
    later = Watcher(expected=1)
    storage.watch(run_id, storage.get_records_for_run(run_id).cursor, later)
    storage.store_event(make_event(run_id, "5"))
    assert later.wait()
    storage.end_watch(run_id, later)
    assert watcher.messages == ["2", "3", "4"]
    assert later.messages == ["5"]


def store_events_in_child(ref: InstanceRef, run_id: str, prefix: str, count: int) -> None:
    """Child process body: its own instance from the parent's ref, as a run worker has."""
    with dg.DagsterInstance.from_ref(ref) as child_instance:
        for index in range(count):
            child_instance.event_log_storage.store_event(make_event(run_id, f"{prefix}{index}"))


def store_events_then_die(ref: InstanceRef, run_id: str, count: int) -> None:
    """Child process body: commits events, then is killed before any cleanup or dispose."""
    child_instance = dg.DagsterInstance.from_ref(ref)
    for index in range(count):
        child_instance.event_log_storage.store_event(make_event(run_id, str(index)))
    os.kill(os.getpid(), signal.SIGKILL)


def start_child(target: Any, *args: Any) -> Any:
    process = multiprocessing.get_context("spawn").Process(target=target, args=args)
    process.start()
    return process


def test_a_watcher_sees_events_another_process_writes(
    storage: SqliteEventLogStorage, run_id: str, instance: dg.DagsterInstance
) -> None:
    storage.store_event(make_event(run_id, "parent"))
    watcher = Watcher(expected=20)
    storage.watch(run_id, storage.get_records_for_run(run_id).cursor, watcher)

    child = start_child(store_events_in_child, instance.get_ref(), run_id, "c", 20)
    child.join(WAIT_SECONDS * 3)

    assert child.exitcode == 0
    assert watcher.wait(), f"watcher saw {len(watcher.messages)} of 20"
    storage.end_watch(run_id, watcher)
    assert watcher.messages == [f"c{i}" for i in range(20)]


def test_writer_threads_lose_no_events(storage: SqliteEventLogStorage, run_id: str) -> None:
    def write(thread: int) -> None:
        for index in range(50):
            storage.store_event(make_event(run_id, f"{thread}-{index}"))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, range(4)))  # re-raises any 'database is locked'

    stored = messages(storage, run_id)
    assert sorted(stored) == sorted(f"{t}-{i}" for t in range(4) for i in range(50))
    for thread in range(4):
        mine = [m for m in stored if m.startswith(f"{thread}-")]
        assert mine == [f"{thread}-{i}" for i in range(50)], "each writer's order is kept"


def test_two_processes_write_one_run_shard_while_it_is_read(
    storage: SqliteEventLogStorage, run_id: str, instance: dg.DagsterInstance
) -> None:
    ref = instance.get_ref()
    children = [start_child(store_events_in_child, ref, run_id, p, 150) for p in "xy"]
    reads = 0
    while any(child.is_alive() for child in children):
        storage.get_records_for_run(run_id)  # a reader in a third process, as Dagit is
        reads += 1
        children[0].join(0.02)  # leave the two cores to the writers between reads
    for child in children:
        child.join(WAIT_SECONDS * 3)

    assert [child.exitcode for child in children] == [0, 0]
    assert reads > 0
    stored = messages(storage, run_id)
    assert len(stored) == 300
    assert [m for m in stored if m[0] == "x"] == [f"x{i}" for i in range(150)]
    assert [m for m in stored if m[0] == "y"] == [f"y{i}" for i in range(150)]


def test_committed_events_survive_a_killed_writer(
    storage: SqliteEventLogStorage, run_id: str, instance: dg.DagsterInstance
) -> None:
    child = start_child(store_events_then_die, instance.get_ref(), run_id, 40)
    child.join(WAIT_SECONDS * 3)

    assert child.exitcode == -signal.SIGKILL
    assert messages(storage, run_id) == [str(i) for i in range(40)]


@pytest.fixture
def bounded_storage(tmp_path: Path) -> Iterator[MgeSqliteEventLogStorage]:
    home = tmp_path / "dagster-home"
    home.mkdir()
    overrides = storage_overrides(*OURS, max_open_run_shards=2)
    with dg.instance_for_test(temp_dir=str(home), overrides=overrides) as test_instance:
        event_log = test_instance.event_log_storage
        assert isinstance(event_log, MgeSqliteEventLogStorage)
        yield event_log


def test_open_run_shards_are_bounded_least_recently_used_first(
    bounded_storage: MgeSqliteEventLogStorage,
) -> None:
    for run in ("r1", "r2", "r3"):
        bounded_storage.store_event(make_event(run, run))
    assert bounded_storage.open_shards == ("index", "r2", "r3")
    assert not Path(bounded_storage.path_for_shard("r1") + "-wal").exists(), "closed: checkpointed"

    assert messages(bounded_storage, "r2") == ["r2"]
    bounded_storage.store_event(make_event("r1", "again"))

    assert bounded_storage.open_shards == ("index", "r2", "r1")
    assert messages(bounded_storage, "r1") == ["r1", "again"]


def test_dispose_closes_every_engine_and_checkpoints(
    bounded_storage: MgeSqliteEventLogStorage,
) -> None:
    bounded_storage.store_event(make_event("r1", "one"))
    assert Path(bounded_storage.path_for_shard("r1") + "-wal").exists()

    bounded_storage.dispose()

    assert bounded_storage.open_shards == ()
    assert not Path(bounded_storage.path_for_shard("r1") + "-wal").exists()
    with sqlite3.connect(bounded_storage.path_for_shard("r1")) as conn:
        assert conn.execute("SELECT count(*) FROM event_logs").fetchone() == (1,)


def test_without_base_dir_events_go_where_dagsters_default_storage_keeps_them(
    tmp_path: Path,
) -> None:
    (tmp_path / "default").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "default")) as default:
        expected = Path(default.event_log_storage.path_for_shard("index"))  # type: ignore[attr-defined]
    with dg.instance_for_test(
        temp_dir=str(tmp_path / "default"), overrides=storage_overrides(*OURS)
    ) as ours:
        assert Path(ours.event_log_storage.path_for_shard("index")) == expected  # type: ignore[attr-defined]
        assert expected.exists()


@pytest.mark.integration
def test_a_compiled_job_runs_on_the_repository_instance_config(
    tmp_path: Path, database_url: str
) -> None:
    home = tmp_path / "dagster-home"
    home.mkdir()
    shutil.copyfile(REPOSITORY_ROOT / "dagster.yaml", home / "dagster.yaml")
    plan = chain_plan(3)
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(yaml.safe_dump(plan.model_dump(mode="json"), sort_keys=False))
    options = {"database_url": database_url, "provider": "simulated", "latency_seconds": 0.0}
    job = build_reconstructable_job(
        "mge_pipeline.orchestration.compiler",
        "compile_masterplan_job_from_file",
        reconstructable_args=(str(plan_file),),
        reconstructable_kwargs={"options": options},
    )
    run_config = default_run_config(output_dir=str(tmp_path / "out"))
    run_config["loggers"] = {"console": {"config": {"log_level": "ERROR"}}}

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.event_log_storage, MgeSqliteEventLogStorage)
        with dg.execute_job(job, instance=instance, run_config=run_config) as result:
            assert result.success
            run_id = result.run_id
            steps = {e.step_key for e in result.all_events if e.step_key}
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS  # type: ignore[union-attr]
        stored = instance.all_logs(run_id)
        assert instance.get_run_stats(run_id).steps_succeeded == len(steps) >= 3
        success = instance.fetch_run_status_changes(DagsterEventType.RUN_SUCCESS, limit=5)
        assert [r.run_id for r in success.records] == [run_id]

    shard = home / "history" / "runs" / f"{run_id}.db"
    assert not Path(f"{shard}-wal").exists(), "disposing the instance checkpointed the shard"
    with sqlite3.connect(shard) as conn:  # what Dagit's stock reader would find
        assert conn.execute("SELECT count(*) FROM event_logs").fetchone() == (len(stored),)
    started = {e.step_key for e in stored if e.dagster_event_type == DagsterEventType.STEP_START}
    assert started == steps
