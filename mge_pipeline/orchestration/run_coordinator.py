"""The instance's run coordinator: Dagster's queue, refusing an MGE run whose config is invalid.

Dagster checks a run config's shape and types when a run is launched, not the ranges that
``MasterplanRunConfig`` declares (``budget_usd: -1`` is a float). Without this, such a run is
queued, started in its own process and fails in ``prepare`` minutes later. Here it ends
failed at once, before any worker starts, with one line per invalid field — whether it was
launched from the Launchpad, over GraphQL or by a sensor. Runs of other jobs pass untouched.

Configured in dagster.yaml (``run_coordinator``) with the queue's own settings.
"""

from __future__ import annotations

from dagster import DagsterRunStatus
from dagster._core.run_coordinator import QueuedRunCoordinator, SubmitRunContext
from dagster._core.storage.dagster_run import DagsterRun

from mge_pipeline import constants as c
from mge_pipeline.orchestration.config import run_config_problems


class MgeRunCoordinator(QueuedRunCoordinator):
    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        run = context.dagster_run
        if run.job_name.startswith(c.JOB_PREFIX) and run.status == DagsterRunStatus.NOT_STARTED:
            problems = run_config_problems(run.run_config)
            if problems:
                message = "invalid run config: " + "; ".join(problems)
                self._instance.report_run_failed(run, message)
                return self._instance.get_run_by_id(run.run_id) or run
        return super().submit_run(context)
