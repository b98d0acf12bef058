"""Live run metrics: exported while the run worker lives, per plan and run, gone when it dies."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry

from mge_pipeline.observability.server import _LiveCollector

WORKER = """
import sys
from mge_pipeline.observability import live
live.run_started("plan_a", sys.argv[1], 800)
live.atoms_settled("plan_a", sys.argv[1], 3, 0.25)
live.atoms_settled("plan_a", sys.argv[1], 1, 0.5)
print("ready", flush=True)
sys.stdin.readline()
"""


def _worker(metrics_dir: Path, run_id: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, run_id],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def _value(path: Path, name: str, run_id: str) -> float | None:
    registry = CollectorRegistry()
    registry.register(_LiveCollector(str(path)))
    return registry.get_sample_value(name, {"masterplan": "plan_a", "run": run_id})


def test_two_runs_of_one_plan_are_apart_and_a_dead_runs_series_go(tmp_path: Path) -> None:
    first, second = _worker(tmp_path, "run-1"), _worker(tmp_path, "run-2")
    try:
        assert _value(tmp_path, "v2_run_atoms_settled", "run-1") == 4
        assert _value(tmp_path, "v2_run_cost_usd", "run-1") == 0.75
        assert _value(tmp_path, "v2_run_atoms_total", "run-2") == 800
        started = _value(tmp_path, "v2_run_started_timestamp_seconds", "run-2")
        assert started is not None and started > 1.7e9
        assert first.stdin is not None
        first.stdin.write("\n")
        first.stdin.flush()
        first.wait(timeout=30)
        assert _value(tmp_path, "v2_run_atoms_settled", "run-1") is None, "dead run dropped"
        assert _value(tmp_path, "v2_run_atoms_settled", "run-2") == 4, "live run kept"
    finally:
        for process in (first, second):
            process.kill()
            process.wait(timeout=30)
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()
