"""Crash detection in team mode, with a real ``dagster-daemon`` on deploy/team/dagster.yaml.

The daemon (PostgreSQL; run monitoring polled every second instead of every minute) launches a
masterplan run through the run queue, with the ``DefaultRunLauncher``: the run executes in a
process the code server starts. The test kills that process with SIGKILL mid-run.

- Only the run worker dies: the code server notices its child's exit (it checks every 0.5 s)
  and marks the run FAILURE, naming the signal. Run monitoring is not what catches it.
- The code server dies with it (a crashed or lost machine): nothing notices the death; the run
  stays STARTED. This launcher has no worker health check, so run monitoring fails the run only
  once it passes its maximum runtime (the ``dagster/max_runtime`` tag).

Either way MGE's run-failure sensor, in the same daemon, records the failure in the store and
closes the open execution as failed. MGE's own heartbeat check (the ready sensor's lost runs)
is pushed out of the way with ``MGE_LOST_AFTER_SECONDS``, so it cannot be what ended the run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from mge_pipeline.domain import ExecutionStatus
from mge_pipeline.orchestration import default_run_config
from mge_pipeline.store import MgeStore
from mge_pipeline.store.run_failures import RunFailureRepository
from mge_pipeline_tests.conftest import REPOSITORY_ROOT, stop_process
from mge_pipeline_tests.orchestration.test_team_deployment import _environment
from mge_pipeline_tests.postgres import fresh_database

pytestmark = pytest.mark.e2e
JOB = "mge_small_textutils"
MAX_RUNTIME = 60
LATENCY = 20.0
"""Each call: the plan's 6 waves need at least 120 s, so the run is alive at MAX_RUNTIME."""


def _wait(
    what: str, check: Callable[[], Any], seconds: float, daemon: subprocess.Popen[bytes]
) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert daemon.poll() is None, "dagster-daemon exited"
        value = check()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"{what} did not happen within {seconds}s")


def _run_worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid Dagster's code server reports when it starts the run's process."""
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        event = record.dagster_event
        data = event.engine_event_data if event is not None else None
        if event is not None and data is not None and "Started process" in (event.message or ""):
            return int(str(data.metadata["pid"].value))
    return None


def _alive(pid: int) -> bool:
    """Running, not gone or a zombie its parent (the code server) has not reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@pytest.mark.parametrize("killed", ["run worker", "run worker and code server"])
def test_a_run_whose_process_was_killed_ends_failed_and_recorded(
    killed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fresh_database() as database_url:
        home = tmp_path / "dagster"
        home.mkdir()
        config = yaml.safe_load((REPOSITORY_ROOT / "deploy" / "team" / "dagster.yaml").read_text())
        assert config["run_monitoring"]["enabled"] is True
        config["run_monitoring"]["poll_interval_seconds"] = 1
        (home / "dagster.yaml").write_text(yaml.safe_dump(config))
        env = {
            **_environment(tmp_path, database_url),
            "MGE_SCHEDULES": "stopped",
            "MGE_LOST_AFTER_SECONDS": "3600",
        }
        log = (tmp_path / "daemon.log").open("wb")
        daemon = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
            cwd=REPOSITORY_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        store = MgeStore(database_url)
        try:
            run_config = default_run_config(output_dir=str(tmp_path / "out"))
            run_config["resources"] = {"llm": {"config": {"latency_seconds": LATENCY}}}
            launched = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "dagster",
                    "job",
                    "launch",
                    "-w",
                    "workspace.yaml",
                    "-j",
                    JOB,
                    "--config-json",
                    json.dumps(run_config),
                    "--tags",
                    json.dumps({"dagster/max_runtime": str(MAX_RUNTIME)}),
                ],
                cwd=REPOSITORY_ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert launched.returncode == 0, launched.stderr[-3000:]
            for name, value in env.items():
                if name.startswith("DAGSTER_"):
                    monkeypatch.setenv(name, value)
            with dg.DagsterInstance.get() as instance:
                run = _wait("the queued run", lambda: instance.get_runs(limit=1), 60, daemon)[0]
                pid = _wait(
                    "the run worker's start",
                    lambda: _run_worker_pid(instance, run.run_id),
                    240,
                    daemon,
                )
                _wait(
                    "an atom step starting",
                    lambda: any(
                        "generate_atom" in (s.step_key or "")
                        for s in instance.get_run_step_stats(run.run_id)
                    ),
                    120,
                    daemon,
                )
                if killed == "run worker and code server":
                    os.kill(_parent(pid), signal.SIGKILL)
                os.kill(pid, signal.SIGKILL)
                _wait("the run worker's exit", lambda: not _alive(pid), 30, daemon)

                def run_failed() -> bool:
                    found = instance.get_run_by_id(run.run_id)
                    return found is not None and found.status is dg.DagsterRunStatus.FAILURE

                def messages() -> list[str]:
                    return [
                        (r.dagster_event.message or "") + (r.user_message or "")
                        for r in instance.all_logs(run.run_id)
                        if r.dagster_event is not None
                    ]

                if killed == "run worker":
                    _wait("the code server failing the run", run_failed, 60, daemon)
                    crash = f"Run execution process for {run.run_id} was terminated by signal 9"
                    assert any(crash in m for m in messages()), messages()
                    expected = "marked as failed"
                else:
                    # Nothing noticed: the run is still started, the store's execution open.
                    run_now = instance.get_run_by_id(run.run_id)
                    assert run_now is not None and run_now.status is dg.DagsterRunStatus.STARTED
                    state = store.execution_state(run.run_id)
                    assert state is not None and state.status is ExecutionStatus.RUNNING
                    _wait("run monitoring failing the run", run_failed, MAX_RUNTIME + 120, daemon)
                    why = f"Canceling due to exceeding maximum runtime of {MAX_RUNTIME} seconds"
                    assert any(why in m for m in messages()), messages()
                    # No launcher process to terminate the run: the daemon marks it failed.
                    expected = "This job is being forcibly marked as failed."
                stats = {st.step_key for st in instance.get_run_step_stats(run.run_id)}
                assert "finalize" not in stats, "the run died mid-run: finalize never started"
            recorded = _wait(
                "the run-failure sensor's record",
                lambda: RunFailureRepository(store).failures("small_textutils"),
                120,
                daemon,
            )
            assert recorded[0].run_id == run.run_id
            assert expected in recorded[0].message, recorded[0].message
            state = store.execution_state(run.run_id)
            assert state is not None and state.status is ExecutionStatus.FAILED, state
        finally:
            store.dispose()
            stop_process(daemon, group=True)
            log.close()
