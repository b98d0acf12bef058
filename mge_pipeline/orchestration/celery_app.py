"""The Celery app MGE's workers run: ``celery -A mge_pipeline.orchestration.celery_app worker``.

dagster-celery's own ``dagster_celery.app`` reads its broker from ``DAGSTER_CELERY_BROKER_HOST``
only; this one is made from ``MGE_CELERY_BROKER`` / ``MGE_CELERY_BACKEND``, the values the
executor submits with, so the two cannot disagree.
"""

from __future__ import annotations

from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_execute_job_task, create_resume_job_task, create_task

from mge_pipeline.orchestration.executors import celery_app_args

# dagster-celery's functions carry no annotations.
app = make_app(celery_app_args())  # type: ignore[no-untyped-call]
execute_plan = create_task(app)  # type: ignore[no-untyped-call]
execute_job = create_execute_job_task(app)
resume_job = create_resume_job_task(app)
