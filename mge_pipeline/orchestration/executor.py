"""The executor of a masterplan job: the async executor, with outcomes that do not stop waves.

An atom that fails, is blocked or is skipped ends as a *failed step* (red in Dagit's step list
and Gantt chart, and the run ends Failure) — but its wave must still close and the run must
still finalize. Dagster's ``step_dependency_config.require_upstream_step_success: false`` runs
a step once its upstream *outputs* exist, whether or not the step that produced them later
failed; an atom step yields its (empty) output before it raises, so ``wave_k_close`` and
``finalize`` run. A step that failed before yielding anything (``prepare``, a close that
raised) still abandons what depends on it, as before.

The default is set in the executor's config schema, so a Launchpad config that gives only
``max_concurrent`` keeps it.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from dagster._config import Field, Noneable, Shape
from dagster._core.execution.retries import get_retries_config
from dagster._core.execution.tags import get_tag_concurrency_limits_config
from dagster_async_executor.executor_definition import _core_async_executor_creation

EXECUTOR_NAME = "mge_async_executor"

STEP_DEPENDENCY_FIELD = Field(
    Shape(  # type: ignore[no-untyped-call]
        {
            "require_upstream_step_success": Field(
                bool,
                default_value=False,
                description=(
                    "false: a wave closes once its atom steps have settled, even when "
                    "some of them failed (each failed atom is a failed step)."
                ),
            )
        }
    ),
    is_required=False,
)
"""Also the Celery executor's (orchestration/celery_executor.py): the same rule on both."""

_CONFIG = Field(
    {
        "max_concurrent": Field(
            Noneable(int),
            default_value=None,
            description=(
                "Atom steps started at once; leave unset (atoms waiting for dependencies hold "
                "a slot). LLM calls in flight are ops.prepare.config.max_concurrent."
            ),
        ),
        "tag_concurrency_limits": get_tag_concurrency_limits_config(),  # type: ignore[no-untyped-call]
        "retries": get_retries_config(),  # type: ignore[no-untyped-call]
        "step_dependency_config": STEP_DEPENDENCY_FIELD,
    }
)


@dg.executor(name=EXECUTOR_NAME, config_schema=_CONFIG)
def mge_async_executor(init_context: dg.InitExecutorContext) -> Any:
    config = dict(init_context.executor_config)
    config["step_dependency_config"] = config.get("step_dependency_config") or {
        "require_upstream_step_success": False
    }
    return _core_async_executor_creation(config)
