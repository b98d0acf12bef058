"""The daemon's schedules: retry masterplans failed by a transient cause, and re-validate
completed masterplans against their tests (drift in the environment: a package, a compiler).

One of each per masterplan job (a schedule targets one job), named after it, so an operator
turns them on for the plans that want them. Both start stopped (turned on in Dagit, or by
``MGE_SCHEDULES=running``), on crons from ``MGE_RETRY_SCHEDULE`` / ``MGE_REVALIDATE_SCHEDULE``.
A re-validation run serves every atom from the cache and runs the plan's checks and test
command again on the assembled code, so it costs no LLM call unless something no longer
validates.
"""

from __future__ import annotations

import dagster as dg

from mge_pipeline import constants as c
from mge_pipeline import settings
from mge_pipeline.domain import ExecutionStatus
from mge_pipeline.orchestration.config import default_run_config
from mge_pipeline.orchestration.resources import StoreResource
from mge_pipeline.store.run_failures import RunFailureRepository


def _status() -> dg.DefaultScheduleStatus:
    running = settings.schedules_running()
    return dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED


def make_schedules(jobs: list[dg.JobDefinition]) -> list[dg.ScheduleDefinition]:
    schedules = []
    for job in jobs:
        masterplan_id = job.tags.get(c.TAG_MASTERPLAN_ID)
        if masterplan_id:
            schedules += [
                make_retry_schedule(job, masterplan_id),
                make_revalidation_schedule(job, masterplan_id),
            ]
    return schedules


def make_retry_schedule(job: dg.JobDefinition, masterplan_id: str) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=f"{job.name}_retry_transient_failures",
        cron_schedule=settings.retry_schedule(),
        job=job,
        default_status=_status(),
        description=(
            f"Runs {masterplan_id} again when its latest run failed by a transient cause (API "
            "outage, budget) and was not retried yet; validated atoms come from the cache."
        ),
    )
    def retry_schedule(
        context: dg.ScheduleEvaluationContext, store: StoreResource
    ) -> dg.SkipReason | dg.RunRequest:
        repository = store.get_store()
        failures = RunFailureRepository(repository)
        due = [f for f in failures.to_retry() if f.masterplan_id == masterplan_id]
        if not due:
            return dg.SkipReason(f"{masterplan_id}: no transient failure waits for a retry")
        failure = due[0]
        latest = repository.executions(masterplan_id, limit=1)
        if latest and latest[0].status is ExecutionStatus.RUNNING:
            return dg.SkipReason(f"{masterplan_id}: a run is under way")
        info = repository.execution_info(failure.run_id)
        prepare = {"output_dir": info.output_dir} if info and info.output_dir else {}
        run_key = f"retry:{failure.run_id}"
        failures.mark_retried(failure.run_id, run_key)
        return dg.RunRequest(
            run_key=run_key,
            run_config=default_run_config(**prepare),
            tags={
                c.TAG_MASTERPLAN_ID: masterplan_id,
                c.TAG_TRIGGER: "retry",
                c.TAG_RETRY_OF: failure.run_id,
            },
        )

    return retry_schedule


def make_revalidation_schedule(job: dg.JobDefinition, masterplan_id: str) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=f"{job.name}_revalidate",
        cron_schedule=settings.revalidate_schedule(),
        job=job,
        default_status=_status(),
        description=(
            f"Runs {masterplan_id} again from the cache when its latest execution completed, so "
            "its checks and tests run against today's environment."
        ),
    )
    def revalidation_schedule(
        context: dg.ScheduleEvaluationContext, store: StoreResource
    ) -> dg.SkipReason | dg.RunRequest:
        repository = store.get_store()
        latest = repository.executions(masterplan_id, limit=1)
        if not latest or latest[0].status is not ExecutionStatus.COMPLETED:
            return dg.SkipReason(f"{masterplan_id}: no completed execution to re-validate")
        info = repository.execution_info(latest[0].execution_id)
        prepare = {"output_dir": info.output_dir} if info and info.output_dir else {}
        tick = context.scheduled_execution_time
        return dg.RunRequest(
            run_key=f"revalidate:{masterplan_id}:{tick.isoformat() if tick else 'now'}",
            run_config=default_run_config(**prepare),
            tags={c.TAG_MASTERPLAN_ID: masterplan_id, c.TAG_TRIGGER: "revalidate"},
        )

    return revalidation_schedule
