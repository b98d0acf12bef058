"""The executor a compiled job runs on: the async executor, or dagster-celery's workers.

The executor is deployment configuration (``MGE_EXECUTOR``), not part of a plan: the same
compiled job runs its atoms on one event loop or spread over Celery worker processes on any
number of machines. Both keep issue 12's rule that a failed atom does not stop its wave
(orchestration/celery_executor.py says why dagster-celery's own executor does not).
With Celery every step is a task; atom steps wait for their dependencies
through the store (the settlement board polls it), the prepare op's output goes through the
filesystem IO manager (a directory every worker must see), and each worker process has its
own call gate, so ``MGE_LLM_SLOTS`` is what bounds LLM calls across workers.
"""

from __future__ import annotations

import dagster as dg

from mge_pipeline import settings
from mge_pipeline.orchestration.executor import mge_async_executor


def celery_app_args() -> dict[str, str]:
    """The broker and backend, the same for the executor that submits and the workers."""
    return {"broker": settings.celery_broker(), "backend": settings.celery_backend()}


def job_executor() -> dg.ExecutorDefinition:
    if settings.executor_name() == "celery":
        from mge_pipeline.orchestration.celery_executor import mge_celery_executor

        configured = mge_celery_executor.configured(celery_app_args())
        assert isinstance(configured, dg.ExecutorDefinition)
        return configured
    default: dg.ExecutorDefinition = mge_async_executor
    return default
