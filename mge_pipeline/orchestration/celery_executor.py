"""dagster-celery's executor with MGE's outcome rule: a failed atom does not stop its wave.

An atom step that fails yields its output first and then raises (orchestration/executor.py);
the wave's close and ``finalize`` must still run. The async executor does that with Dagster's
``step_dependency_config.require_upstream_step_success: false``. dagster-celery 0.29's
``core_celery_execution_loop`` starts the plan with Dagster's default instead (wait for every
upstream step to *succeed*), so on stock Celery a failed atom abandons its wave's close, every
later wave and ``finalize``: the run would end without MGE's report and with the store's
execution still ``running``.

This executor is dagster-celery's — same config, same loop, same task, same workers — except
that the plan the loop starts carries the step dependency config. Only the orchestrating
process is affected: a worker runs a one-step plan, which has no upstream steps to wait for.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from dagster._core.execution.plan.active import ActiveExecution
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.retries import RetryMode
from dagster._core.execution.step_dependency_config import StepDependencyConfig
from dagster_celery.core_execution_loop import core_celery_execution_loop
from dagster_celery.executor import CELERY_CONFIG, CeleryExecutor, _submit_task

from mge_pipeline.orchestration.executor import STEP_DEPENDENCY_FIELD

EXECUTOR_NAME = "mge_celery_executor"


class _PlanStartedWith(ExecutionPlan):
    """The same plan; ``start`` passes a step dependency config the caller does not give."""

    step_dependency: StepDependencyConfig

    def start(
        self,
        retry_mode: RetryMode,
        sort_key_fn: Any = None,
        max_concurrent: int | None = None,
        tag_concurrency_limits: list[dict[str, Any]] | None = None,
        instance_concurrency_context: Any = None,
        step_dependency_config: StepDependencyConfig | None = None,
    ) -> ActiveExecution:
        return super().start(
            retry_mode,
            sort_key_fn=sort_key_fn,
            max_concurrent=max_concurrent,
            tag_concurrency_limits=tag_concurrency_limits,
            instance_concurrency_context=instance_concurrency_context,
            step_dependency_config=step_dependency_config or self.step_dependency,
        )


def _plan_started_with(plan: ExecutionPlan, config: StepDependencyConfig) -> ExecutionPlan:
    started = _PlanStartedWith(*plan)
    # A NamedTuple subclass without __slots__ has a __dict__: the config rides along.
    started.step_dependency = config
    return started


class MgeCeleryExecutor(CeleryExecutor):
    def __init__(self, step_dependency_config: StepDependencyConfig, **celery: Any) -> None:
        super().__init__(**celery)  # type: ignore[no-untyped-call]  # dagster-celery: untyped
        self._step_dependency_config = step_dependency_config

    @property
    def step_dependency_config(self) -> StepDependencyConfig:
        return self._step_dependency_config

    def execute(self, plan_context: Any, execution_plan: ExecutionPlan) -> Any:
        plan = _plan_started_with(execution_plan, self._step_dependency_config)
        loop = core_celery_execution_loop  # dagster-celery carries no annotations
        return loop(plan_context, plan, step_execution_fn=_submit_task)  # type: ignore[no-untyped-call]


@dg.executor(
    name=EXECUTOR_NAME,
    config_schema={**CELERY_CONFIG, "step_dependency_config": STEP_DEPENDENCY_FIELD},
    requirements=dg.multiple_process_executor_requirements(),
)
def mge_celery_executor(init_context: dg.InitExecutorContext) -> MgeCeleryExecutor:
    config: dict[str, Any] = dict(init_context.executor_config)
    dependency = config.get("step_dependency_config") or {"require_upstream_step_success": False}
    return MgeCeleryExecutor(
        StepDependencyConfig.from_config(dependency),
        broker=config.get("broker"),
        backend=config.get("backend"),
        config_source=config.get("config_source"),
        include=config.get("include"),
        retries=RetryMode.from_config(config["retries"]),
    )
