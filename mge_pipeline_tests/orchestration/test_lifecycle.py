"""Run lifecycle through the compiled job: a cancelled run stops spending and says so everywhere."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

from mge_pipeline.domain import ExecutionStatus
from mge_pipeline.orchestration import default_run_config
from mge_pipeline.store import MgeStore
from mge_pipeline_tests.factories import make_atom, make_plan

ATOMS = 40
LATENCY = 1.0
IN_FLIGHT = 4


def _start(
    tmp_path: Path, database_url: str, instance: dg.DagsterInstance, **config: Any
) -> dict[str, Any]:
    """Starts a 40-atom single-wave plan, 4 calls at a time of 1 s each, in a thread."""
    atoms = [make_atom(id=f"f{i}", file_path=f"pkg/m{i}.py") for i in range(ATOMS)]
    plan = make_plan(*atoms, id="cancel_me")
    plan_file = tmp_path / "cancel_me.yaml"
    plan_file.write_text(yaml.safe_dump(plan.model_dump(mode="json"), sort_keys=False))
    options = {"database_url": database_url, "provider": "simulated", "fault_rate": 0.0,
               "latency_seconds": LATENCY, "seed": 0}  # fmt: skip
    job = dg.build_reconstructable_job(
        "mge_pipeline.orchestration.compiler",
        "compile_masterplan_job_from_file",
        reconstructable_args=(str(plan_file),),
        reconstructable_kwargs={"options": options},
    )
    run_config = default_run_config(
        output_dir=str(tmp_path / "out"), max_concurrent=IN_FLIGHT, **config
    )
    outcome: dict[str, Any] = {}

    def execute() -> None:
        with dg.execute_job(
            job, instance=instance, run_config=run_config, raise_on_error=False
        ) as result:
            outcome["run_id"], outcome["success"] = result.run_id, result.success

    thread = threading.Thread(target=execute, daemon=True)
    thread.start()
    outcome["thread"] = thread
    return outcome


def _reservations(database_url: str) -> list[datetime]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT created_at FROM cost_ledger")).all()
    except sa.exc.OperationalError:
        return []  # the run has not created the store yet
    finally:
        engine.dispose()
    return [_utc(row[0]) for row in rows]


def _utc(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_a_cancelled_run_stops_its_calls_and_ends_cancelled_everywhere(
    tmp_path: Path, database_url: str
) -> None:
    with dg.instance_for_test() as instance:
        started = _start(tmp_path, database_url, instance)
        deadline = time.monotonic() + 60
        while len(_reservations(database_url)) < 2 * IN_FLIGHT and time.monotonic() < deadline:
            time.sleep(0.1)
        (run,) = instance.get_runs()
        cancelled_at = datetime.now(UTC)
        instance.run_launcher.terminate(run.run_id)
        started["thread"].join(timeout=60)
        assert not started["thread"].is_alive()

        final = instance.get_run_by_id(run.run_id)
        assert final is not None and final.status is dg.DagsterRunStatus.CANCELED
    calls = _reservations(database_url)
    late = [moment for moment in calls if (moment - cancelled_at).total_seconds() > 2.0]
    assert late == [], "no LLM call starts more than 2 s after the cancel request"
    assert len(calls) < ATOMS, "the run did not simply go on"
    store = MgeStore(database_url)
    state = store.execution_state(run.run_id)
    assert state is not None and state.status is ExecutionStatus.CANCELLED
    assert state.reason is not None and state.reason.startswith("cancelled: the run was terminated")
    info = store.execution_info(run.run_id)
    assert info is not None and abs(info.reserved_usd) < 1e-9, "every reservation settled"
    results = {r.atom_id: r for r in store.atom_results(run.run_id)}
    validated = [a for a, r in results.items() if r.status.value == "succeeded"]
    assert validated, "what validated before the cancel is kept"
    written = "".join(p.read_text() for p in (tmp_path / "out").rglob("*.py"))
    assert all(f"def {a}(" in written for a in validated), "and written out"
    report = (tmp_path / "out" / "report.md").read_text()
    assert "cancelled" in report


def test_pause_then_resume_continues_the_same_execution_and_budget(
    tmp_path: Path, database_url: str
) -> None:
    with dg.instance_for_test() as instance:
        first = _start(tmp_path, database_url, instance, budget_usd=5.0)
        deadline = time.monotonic() + 60
        while len(_reservations(database_url)) < 2 * IN_FLIGHT and time.monotonic() < deadline:
            time.sleep(0.1)
        (run,) = instance.get_runs()
        store = MgeStore(database_url)
        assert store.request_pause(run.run_id, "requested by the test")
        instance.run_launcher.terminate(run.run_id)  # what ``mge pause`` does after the flag
        first["thread"].join(timeout=60)
        paused = store.execution_state(run.run_id)
        assert paused is not None and paused.status is ExecutionStatus.PAUSED
        assert paused.reason is not None and paused.reason.startswith("paused: requested by")
        dagster_run = instance.get_run_by_id(run.run_id)
        assert dagster_run is not None and dagster_run.status is dg.DagsterRunStatus.CANCELED
        before = {r.atom_id: r.status.value for r in store.atom_results(run.run_id)}
        done_before = [a for a, status in before.items() if status == "succeeded"]
        assert 0 < len(done_before) < ATOMS
        spent_before = store.execution_info(run.run_id).spent_usd  # type: ignore[union-attr]

        second = _start(tmp_path, database_url, instance, resume_execution=run.run_id)
        second["thread"].join(timeout=120)
        assert second["success"]
    assert [e.execution_id for e in store.executions()] == [run.run_id], "the same execution"
    info = store.execution_info(run.run_id)
    assert info is not None and info.status is ExecutionStatus.COMPLETED
    assert info.budget_usd == 5.0 and info.spent_usd > spent_before
    attempts = store.attempts(run.run_id)
    keys = [(a.atom_id, a.attempt_number) for a in attempts]
    assert len(keys) == len(set(keys)) == ATOMS, "one attempt per atom (no fault), none twice"
    assert info.spent_usd == pytest.approx(sum(a.cost_usd for a in attempts))
    after = {r.atom_id: r.status.value for r in store.atom_results(run.run_id)}
    assert set(after.values()) == {"succeeded"}, "validated before the pause: kept, not cached"
