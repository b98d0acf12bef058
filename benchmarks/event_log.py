"""Event log storage: ms per stored event, Dagster's stock SQLite storage against MGE's.

Stores N step events (STEP_START, STEP_INPUT, STEP_OUTPUT, HANDLED_OUTPUT, STEP_SUCCESS, ...,
captured from a real one-op run and re-addressed to a new run) into one run shard, once with
``SqliteEventLogStorage`` and once with ``MgeSqliteEventLogStorage``, each in its own temporary
directory. The two are interleaved in rounds in the same process (the order alternates per
round), so load on a shared machine hits both alike. The first event of each storage creates
the shard and is not timed. Afterwards each shard must hold every event.

    .venv/bin/python benchmarks/event_log.py                  # 2,000 events, 10 rounds
    .venv/bin/python benchmarks/event_log.py --events 500 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import dagster as dg
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log import SqliteEventLogStorage

from mge_pipeline.orchestration.event_log import MgeSqliteEventLogStorage

RUN_ID = "0f1e2d3c-0000-4000-8000-000000000001"


@dg.op
def atom(number: int) -> int:
    return number + 1


@dg.op
def source() -> int:
    return 1


@dg.job
def one_step_job() -> None:
    atom(source())


def step_event_templates() -> list[EventLogEntry]:
    """The step events of a real run: what the async executor stores for every atom step."""
    with dg.DagsterInstance.ephemeral() as instance:
        quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
        result = one_step_job.execute_in_process(instance=instance, run_config=quiet)
        entries = instance.all_logs(result.run_id)
    return [e for e in entries if e.is_dagster_event and e.step_key == "atom"]


def store(storage: SqliteEventLogStorage, templates: list[EventLogEntry], count: int) -> float:
    """Seconds to store ``count`` events, cycling through the templates."""
    start = time.perf_counter()
    for index in range(count):
        template = templates[index % len(templates)]
        storage.store_event(template._replace(run_id=RUN_ID, timestamp=time.time()))
    return time.perf_counter() - start


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return (
        f"nproc {os.cpu_count()}, {cpu}; Python {platform.python_version()}, "
        f"dagster {dg.__version__}; load average {load}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="events per storage")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds")
    args = parser.parse_args()
    per_round = args.events // args.rounds
    templates = step_event_templates()
    print(machine())
    print(
        f"{per_round * args.rounds} events per storage, {args.rounds} rounds, "
        f"{len(templates)} step event types: "
        + ", ".join(sorted({t.dagster_event_type.value for t in templates if t.dagster_event_type}))
    )

    with tempfile.TemporaryDirectory() as stock_dir, tempfile.TemporaryDirectory() as mge_dir:
        storages: dict[str, SqliteEventLogStorage] = {
            "stock SqliteEventLogStorage": SqliteEventLogStorage(stock_dir),
            "MgeSqliteEventLogStorage": MgeSqliteEventLogStorage(mge_dir),
        }
        seconds: dict[str, list[float]] = {name: [] for name in storages}
        for storage in storages.values():
            store(storage, templates, 1)  # creates the shard and its schema: not timed
        for round_index in range(args.rounds):
            names = list(storages) if round_index % 2 == 0 else list(reversed(storages))
            for name in names:
                seconds[name].append(store(storages[name], templates, per_round))

        per_event: dict[str, float] = {}
        for name, storage in storages.items():
            stored = len(storage.get_logs_for_run(RUN_ID))
            assert stored == per_round * args.rounds + 1, f"{name}: {stored} events stored"
            per_event[name] = sum(seconds[name]) / (per_round * args.rounds) * 1000
            rounds_ms = [s / per_round * 1000 for s in seconds[name]]
            print(
                f"{name:30} {per_event[name]:6.3f} ms/event (median round "
                f"{statistics.median(rounds_ms):.3f}, min {min(rounds_ms):.3f}, "
                f"max {max(rounds_ms):.3f}); {stored} events stored"
            )
            storage.dispose()
        stock, ours = per_event.values()
        print(f"ratio stock / ours: {stock / ours:.1f}x")


if __name__ == "__main__":
    main()
