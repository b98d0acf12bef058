"""The run-failure sensor: a failed masterplan run is recorded in the store, and its atoms
that failed go on the review queue when the run died before its own finalize queued them."""

from __future__ import annotations

import logging

import dagster as dg
from dagster_shared.error import SerializableErrorInfo

from mge_pipeline import constants as c
from mge_pipeline import settings
from mge_pipeline.domain import ExecutionStatus
from mge_pipeline.exceptions import MgeError
from mge_pipeline.execution.failures import is_transient_failure
from mge_pipeline.review.queue import queue_after_run
from mge_pipeline.store import MgeStore
from mge_pipeline.store.run_failures import RunFailureRepository

logger = logging.getLogger(__name__)


def record_run_failure(
    store: MgeStore, *, run_id: str, masterplan_id: str, job_name: str, message: str
) -> bool:
    """Pure of Dagster: what the sensor does for one failed run. False if already recorded."""
    state = store.execution_state(run_id)
    reason = state.reason if state else None
    recorded = RunFailureRepository(store).record(
        run_id=run_id,
        masterplan_id=masterplan_id,
        job_name=job_name,
        message=message,
        transient=is_transient_failure(message, reason),
    )
    if not recorded or state is None or state.status is not ExecutionStatus.RUNNING:
        return recorded
    # The run died with its execution still open: finalize never ran, so close the execution
    # and queue what it left failed, as finalize would have.
    store.finish_execution(run_id, status=ExecutionStatus.FAILED, reason=message)
    plan = store.get_masterplan(masterplan_id)
    if plan is not None:
        try:
            queue_after_run(
                store,
                plan,
                run_id,
                store.level_validations(run_id),
                max_attempts=c.DEFAULT_MAX_ATTEMPTS,
                percent=0.0,  # only the failed atoms: the run was not validated as a whole
            )
        except (MgeError, ValueError) as exc:
            logger.warning("review queue not updated for failed run %s: %s", run_id, exc)
    return True


def _innermost(error: SerializableErrorInfo) -> str:
    """The user's exception, not Dagster's step-execution wrapper around it."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def make_run_failure_sensor() -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name="mge_run_failure_sensor",
        description=(
            "Records every failed masterplan run in the store (run_failures), closes its "
            "execution and queues its failed atoms for review when the run died early."
        ),
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def mge_run_failure_sensor(context: dg.RunFailureSensorContext) -> None:
        run = context.dagster_run
        masterplan_id = run.tags.get(c.TAG_MASTERPLAN_ID)
        if not masterplan_id:
            return  # not a masterplan's run
        message = context.failure_event.message or "run failed"
        # The run's own message only lists the failed steps; their errors say why.
        causes = [
            _innermost(error)
            for event in context.get_step_failure_events()
            if (error := event.step_failure_data.error) is not None
        ]
        if causes:
            message = f"{message} " + " | ".join(causes)
        store = MgeStore(settings.database_url())
        try:
            record_run_failure(
                store,
                run_id=run.run_id,
                masterplan_id=masterplan_id,
                job_name=run.job_name,
                message=message,
            )
        finally:
            store.dispose()

    return mge_run_failure_sensor
