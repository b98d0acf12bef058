"""Live run metrics: elapsed time, cost and progress while a run goes on, one series per run.

The run-level metrics of ``metrics.py`` are set at finalize, so the "execution over 2 h" alert
could not fire during a run, and two runs of one plan merged. These are labelled by plan and
run, and written in prometheus-client's *live* multiprocess modes: a series lives as long as
its run worker. ``server.py`` drops the files of dead workers at each scrape, so the number of
series is bounded by the runs under way, not by every run ever made.

    time() - v2_run_started_timestamp_seconds           elapsed seconds of each live run
    v2_run_atoms_settled / v2_run_atoms_total           progress
    v2_run_cost_usd                                     spent so far
"""

from __future__ import annotations

import time

from prometheus_client import Gauge

from mge_pipeline.observability.metrics import sample_dir

RUN = ("masterplan", "run")

RUN_STARTED = Gauge(
    "v2_run_started_timestamp_seconds",
    "Unix time the live run started; time() minus it is its elapsed time.",
    RUN,
    multiprocess_mode="livemostrecent",
)
RUN_ATOMS_TOTAL = Gauge(
    "v2_run_atoms_total", "Atoms of the live run.", RUN, multiprocess_mode="livemostrecent"
)
RUN_ATOMS_SETTLED = Gauge(
    "v2_run_atoms_settled",
    "Atoms of the live run settled so far (validated, cached, failed, blocked or skipped).",
    RUN,
    multiprocess_mode="livesum",
)
RUN_COST = Gauge(
    "v2_run_cost_usd", "USD the live run has spent so far.", RUN, multiprocess_mode="livesum"
)


def run_started(masterplan_id: str, run_id: str, atoms_total: int) -> None:
    sample_dir()
    RUN_STARTED.labels(masterplan_id, run_id).set(time.time())
    RUN_ATOMS_TOTAL.labels(masterplan_id, run_id).set(atoms_total)


def atoms_settled(masterplan_id: str, run_id: str, count: int, cost_usd: float) -> None:
    sample_dir()
    RUN_ATOMS_SETTLED.labels(masterplan_id, run_id).inc(count)
    if cost_usd:
        RUN_COST.labels(masterplan_id, run_id).inc(cost_usd)
