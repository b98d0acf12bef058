"""A real ``mge run`` killed with SIGKILL mid-wave: detected, then resumed without paying twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

from mge_pipeline.store import MgeStore
from mge_pipeline_tests.cli.test_cli import mge
from mge_pipeline_tests.factories import make_atom, make_plan

pytestmark = pytest.mark.e2e

ATOMS = 24
LOST_AFTER = "3"


def _plan_file(tmp_path: Path) -> Path:
    atoms = [make_atom(id=f"f{i}", file_path=f"pkg/m{i % 6}.py") for i in range(ATOMS)]
    path = tmp_path / "crashy.yaml"
    plan = make_plan(*atoms, id="crashy")
    path.write_text(yaml.safe_dump(plan.model_dump(mode="json"), sort_keys=False))
    return path


def _attempt_rows(home: Path) -> list[tuple[str, int]]:
    engine = sa.create_engine(f"sqlite:///{home / 'mge.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT atom_id, attempt_number FROM attempts")).all()
    except sa.exc.OperationalError:
        return []
    finally:
        engine.dispose()
    return [(row[0], int(row[1])) for row in rows]


def _outputs(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): p.read_text()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith("report.")
    }


def test_a_killed_run_is_detected_then_resumed_without_paying_twice(tmp_path: Path) -> None:
    plan = _plan_file(tmp_path)
    env = {"MGE_LOST_AFTER_SECONDS": LOST_AFTER}
    clean_home, crash_home = tmp_path / "clean", tmp_path / "crash"
    clean = mge("run", str(plan), "--latency", "0", "--output", str(tmp_path / "clean_out"),
                home=clean_home, env=env)  # fmt: skip
    assert clean.returncode == 0, clean.stdout + clean.stderr

    base = {k: v for k, v in os.environ.items() if not k.startswith(("MGE_", "DAGSTER_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "mge_pipeline.cli", "run", str(plan), "--latency", "1",
         "--max-concurrent", "4", "--output", str(tmp_path / "out")],
        env={**base, "MGE_HOME": str(crash_home), **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while len(_attempt_rows(crash_home)) < 8 and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    store = MgeStore(f"sqlite:///{crash_home / 'mge.db'}")
    (execution,) = store.executions()
    assert execution.status.value == "running", "a dead worker writes nothing more"
    held = store.execution_info(execution.execution_id)
    assert held is not None

    time.sleep(float(LOST_AFTER) + 0.5)
    status = mge("status", home=crash_home, env=env)
    assert status.returncode == 0
    assert "failed" in status.stdout and "running" not in status.stdout, status.stdout
    lost = store.execution_info(execution.execution_id)
    assert lost is not None and lost.reason is not None
    assert lost.reason.startswith("the run worker died: no heartbeat for"), lost.reason
    assert lost.reserved_usd == 0, "its reservations were released"
    assert lost.spent_usd >= held.spent_usd, "calls it may have been billed for stay booked"
    with dg.DagsterInstance.from_config(str(crash_home / "dagster")) as instance:
        dagster_run = instance.get_run_by_id(execution.execution_id)
        assert dagster_run is not None and dagster_run.status is dg.DagsterRunStatus.FAILURE

    resumed = mge("resume", "crashy", "--latency", "0", home=crash_home, env=env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"resuming execution {execution.execution_id}" in resumed.stdout
    assert [e.execution_id for e in store.executions()] == [execution.execution_id]
    final = store.execution_info(execution.execution_id)
    assert final is not None and final.status.value == "completed"
    rows = _attempt_rows(crash_home)
    assert len(rows) == len(set(rows)), "no attempt row twice"
    clean_store = MgeStore(f"sqlite:///{clean_home / 'mge.db'}")
    (clean_execution,) = clean_store.executions()
    expected = sorted((a.atom_id, a.attempt_number) for a in clean_store.attempts(
        clean_execution.execution_id))  # fmt: skip
    assert sorted(rows) == expected, "exactly the attempts of an uninterrupted run"
    attempts_cost = sum(a.cost_usd for a in store.attempts(execution.execution_id))
    booked_at_crash = lost.spent_usd - held.spent_usd
    assert final.spent_usd == pytest.approx(attempts_cost + booked_at_crash)
    assert _outputs(tmp_path / "out") == _outputs(tmp_path / "clean_out"), "identical output"
