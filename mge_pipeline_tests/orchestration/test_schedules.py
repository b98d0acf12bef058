"""The run-failure record and the daemon's schedules, evaluated with Dagster's test utilities."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from mge_pipeline import constants as c
from mge_pipeline.domain import AtomResult, AtomStatus, ExecutionStatus
from mge_pipeline.execution.failures import is_transient_failure
from mge_pipeline.orchestration import compile_masterplan_job
from mge_pipeline.orchestration.failure_sensor import record_run_failure
from mge_pipeline.orchestration.resources import StoreResource
from mge_pipeline.orchestration.schedules import make_schedules
from mge_pipeline.store import MgeStore
from mge_pipeline.store.review_repository import ReviewRepository
from mge_pipeline.store.run_failures import RunFailureRepository
from mge_pipeline_tests.factories import make_atom, make_plan

PLAN = make_plan(make_atom(id="a"), id="p1")
TICK = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


def _schedules() -> dict[str, dg.ScheduleDefinition]:
    return {s.name: s for s in make_schedules([compile_masterplan_job(PLAN)])}


def _tick(schedule: dg.ScheduleDefinition, store: MgeStore) -> dg.ScheduleExecutionData:
    with dg.build_schedule_context(
        resources={"store": StoreResource(database_url=store.url)},
        scheduled_execution_time=TICK,
    ) as context:
        return schedule.evaluate_tick(context)


def _execution(store: MgeStore, execution_id: str) -> None:
    store.save_masterplan(PLAN, status="ready")
    store.start_execution(
        execution_id=execution_id,
        plan=PLAN,
        total_waves=1,
        budget_usd=1.0,
        provider="simulated",
        model="m",
        output_dir=f"/tmp/mge-17-{execution_id}",
    )


def test_transient_causes_are_told_from_the_others() -> None:
    assert is_transient_failure("anthropic: 529 overloaded_error")
    assert is_transient_failure("step failed", "cost budget of $1 cannot cover the next call")
    assert is_transient_failure("Connection error while calling the API")
    assert not is_transient_failure("masterplan p1: atom a depends on unknown atom b")
    assert not is_transient_failure(None, "3 atoms failed validation")


def test_a_run_that_died_is_recorded_its_execution_closed_and_failed_atoms_queued(
    store: MgeStore,
) -> None:
    _execution(store, "run1")
    store.record_atom_result(
        "run1",
        wave_index=0,
        spec_hash="h-a",
        result=AtomResult(atom_id="a", status=AtomStatus.FAILED, reason="syntax error"),
    )
    assert record_run_failure(
        store, run_id="run1", masterplan_id="p1", job_name="mge_p1", message="worker lost"
    )
    assert not record_run_failure(
        store, run_id="run1", masterplan_id="p1", job_name="mge_p1", message="worker lost"
    ), "a failure seen twice is recorded once"
    [failure] = RunFailureRepository(store).failures("p1")
    assert (failure.run_id, failure.transient, failure.message) == ("run1", False, "worker lost")
    state = store.execution_state("run1")
    assert state is not None and state.status is ExecutionStatus.FAILED
    queued = ReviewRepository(store).entries(masterplan_id="p1")
    assert [(e.atom_id, e.atom_status) for e in queued] == [("a", "failed")]


def test_the_retry_schedule_runs_a_transient_failure_again_once(store: MgeStore) -> None:
    _execution(store, "run1")
    store.finish_execution("run1", status=ExecutionStatus.FAILED, reason="API overloaded (529)")
    record_run_failure(store, run_id="run1", masterplan_id="p1", job_name="mge_p1", message="x")
    retry = _schedules()["mge_p1_retry_transient_failures"]
    assert retry.default_status is dg.DefaultScheduleStatus.STOPPED

    data = _tick(retry, store)
    [request] = data.run_requests or []
    assert request.run_key == "retry:run1"
    assert request.tags[c.TAG_RETRY_OF] == "run1" and request.tags[c.TAG_TRIGGER] == "retry"
    assert request.run_config["ops"]["prepare"]["config"]["output_dir"] == "/tmp/mge-17-run1"

    again = _tick(retry, store)
    assert not again.run_requests and again.skip_message and "no transient" in again.skip_message


def test_the_retry_schedule_leaves_other_failures_to_a_person(store: MgeStore) -> None:
    _execution(store, "run1")
    store.finish_execution("run1", status=ExecutionStatus.FAILED, reason="2 atoms failed")
    record_run_failure(
        store, run_id="run1", masterplan_id="p1", job_name="mge_p1", message="step failed"
    )
    data = _tick(_schedules()["mge_p1_retry_transient_failures"], store)
    assert not data.run_requests


def test_the_revalidation_schedule_reruns_a_completed_plan(store: MgeStore) -> None:
    revalidate = _schedules()["mge_p1_revalidate"]
    assert not _tick(revalidate, store).run_requests, "nothing completed yet"
    _execution(store, "run1")
    store.finish_execution("run1", status=ExecutionStatus.COMPLETED, reason=None)
    [request] = _tick(revalidate, store).run_requests or []
    assert request.run_key == f"revalidate:p1:{TICK.isoformat()}"
    assert request.tags[c.TAG_TRIGGER] == "revalidate"


def test_schedules_start_stopped_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(c.ENV_SCHEDULES, "running")
    monkeypatch.setenv(c.ENV_RETRY_SCHEDULE, "*/5 * * * *")
    retry = _schedules()["mge_p1_retry_transient_failures"]
    assert retry.default_status is dg.DefaultScheduleStatus.RUNNING
    assert retry.cron_schedule == "*/5 * * * *"
    monkeypatch.setenv(c.ENV_SCHEDULES, "sometimes")
    with pytest.raises(ValueError, match="MGE_SCHEDULES='sometimes'"):
        _schedules()


def test_the_run_failure_sensor_records_a_failed_masterplan_run(
    store: MgeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sensor itself, on a real failed run of a Dagster instance (not the daemon)."""
    from mge_pipeline.orchestration.failure_sensor import make_run_failure_sensor

    monkeypatch.setenv("MGE_DATABASE_URL", store.url)

    @dg.op
    def call_the_api() -> None:
        raise RuntimeError("anthropic: 529 overloaded_error")

    @dg.job(name="mge_p1", tags={c.TAG_MASTERPLAN_ID: "p1"})
    def failing() -> None:
        call_the_api()

    with dg.instance_for_test() as instance:
        result = failing.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        run = instance.get_run_by_id(result.run_id)
        [failure] = [
            e.dagster_event
            for e in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        ]
        assert run is not None and failure is not None
        sensor = make_run_failure_sensor()
        context = dg.build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=failure,
        ).for_run_failure()
        sensor(context)
    [recorded] = RunFailureRepository(store).failures("p1")
    assert recorded.run_id == result.run_id and recorded.job_name == "mge_p1"
    assert recorded.transient, recorded.message
