"""``/api/v2/execution``: start, pause, resume and cancel — through Dagster's GraphQL API.

The same rules as ``mge run/pause/resume/cancel``: one running execution per output
directory, pause only a running execution, resume only a paused, cancelled or failed one of
an unchanged masterplan. Refusals are 409 with one line; an unknown id is 404; Dagster not
answering is 502.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from mge_pipeline import constants as c
from mge_pipeline import settings
from mge_pipeline.api.auth import Principal, Scope, require
from mge_pipeline.api.context import ApiContext, context_of
from mge_pipeline.api.errors import ApiError
from mge_pipeline.api.models import ExecutionStarted, LifecycleAnswer, StartExecutionRequest
from mge_pipeline.api.routers.execution import known_execution
from mge_pipeline.domain import ExecutionStatus
from mge_pipeline.orchestration.remote import (
    FINISHED,
    DagsterUnavailableError,
    LaunchedRun,
    RunNotFoundError,
)

router = APIRouter(prefix="/api/v2/execution", tags=["execution"])
Context = Annotated[ApiContext, Depends(context_of)]
Operator = Annotated[Principal, Depends(require(Scope.OPERATE))]
RESUMABLE = (ExecutionStatus.PAUSED, ExecutionStatus.CANCELLED, ExecutionStatus.FAILED)


async def _launch(
    context: ApiContext,
    masterplan_id: str,
    who: Principal,
    tags: dict[str, str] | None = None,
    **prepare: Any,
) -> LaunchedRun:
    all_tags = {"mge/requested_by": who.name, **(tags or {})}
    try:
        return await run_in_threadpool(context.dagster.launch, masterplan_id, all_tags, **prepare)
    except DagsterUnavailableError as exc:
        raise ApiError(502, str(exc)) from exc


async def _terminate_runs(context: ApiContext, execution_id: str) -> list[str]:
    """Every unfinished Dagster run of the execution, marked CANCELING."""
    try:
        runs = await run_in_threadpool(context.dagster.runs_of_execution, execution_id)
        if execution_id not in runs:  # the first run is the execution: tagged only once running
            with contextlib.suppress(RunNotFoundError):
                runs[execution_id] = await run_in_threadpool(
                    context.dagster.run_status, execution_id
                )
        open_runs = [run_id for run_id, status in runs.items() if status not in FINISHED]
        for run_id in open_runs:
            await run_in_threadpool(context.dagster.terminate, run_id)
    except (DagsterUnavailableError, RunNotFoundError) as exc:
        raise ApiError(502, str(exc)) from exc
    return open_runs


def _output_dir(requested: str | None, masterplan_id: str) -> Path:
    """Absolute, as the execution row stores it, so the busy check compares like with like."""
    return Path(requested or str(settings.output_root() / masterplan_id)).resolve()


@router.post("/start", response_model=ExecutionStarted, status_code=202)
async def start(body: StartExecutionRequest, context: Context, who: Operator) -> ExecutionStarted:
    """Launch the masterplan's job on Dagster; the execution id is the run id."""
    plan = context.store.get_masterplan(body.masterplan_id)
    if plan is None:
        raise ApiError(
            404, f"masterplan '{body.masterplan_id}' is not in the store (mge submit stores one)"
        )
    output = _output_dir(body.output_dir, plan.id)
    busy = context.store.execution_writing(str(output))
    if busy:
        raise ApiError(409, f"execution {busy} is running into {output}; wait for it or cancel")
    prepare: dict[str, Any] = {"output_dir": str(output), "use_cache": not body.fresh}
    if body.budget_usd is not None:
        prepare["budget_usd"] = body.budget_usd
    launched = await _launch(context, plan.id, who, **prepare)
    return ExecutionStarted(
        execution_id=launched.run_id,
        run_id=launched.run_id,
        masterplan_id=plan.id,
        job_name=launched.job_name,
    )


@router.post("/{execution_id}/cancel", response_model=LifecycleAnswer)
async def cancel(execution_id: str, context: Context, _: Operator) -> LifecycleAnswer:
    """No new LLM call; calls in flight finish; the report is written; ends `cancelled`."""
    info = context.store.execution_info(execution_id)
    if info is None:  # launched, but its prepare has not written the execution yet
        try:
            status = await run_in_threadpool(context.dagster.run_status, execution_id)
        except RunNotFoundError as exc:
            raise ApiError(404, f"execution '{execution_id}' does not exist") from exc
        except DagsterUnavailableError as exc:
            raise ApiError(502, str(exc)) from exc
        if status in FINISHED:
            raise ApiError(409, f"run '{execution_id}' already ended ({status})")
    elif info.status is not ExecutionStatus.RUNNING:
        raise ApiError(409, f"execution '{execution_id}' is {info.status.value}, not running")
    run_ids = await _terminate_runs(context, execution_id)
    if not run_ids:
        raise ApiError(409, f"execution '{execution_id}' has no unfinished Dagster run")
    return LifecycleAnswer(
        execution_id=execution_id,
        requested="cancel",
        run_ids=run_ids,
        message="cancel requested; calls in flight finish, then the report",
    )


@router.post("/{execution_id}/pause", response_model=LifecycleAnswer)
async def pause(execution_id: str, context: Context, who: Operator) -> LifecycleAnswer:
    """Like cancel, but the execution ends `paused`, to be resumed."""
    info = known_execution(context, execution_id)
    if not context.store.request_pause(execution_id, f"requested over the API by {who.name}"):
        raise ApiError(409, f"execution '{execution_id}' is {info.status.value}, not running")
    message = "pause requested; calls in flight finish, then resume continues it"
    try:
        run_ids = await _terminate_runs(context, execution_id)
    except ApiError as exc:  # the run worker reads the store's flag within a second anyway
        run_ids, message = [], f"{message} (Dagster not told: {exc.message})"
    return LifecycleAnswer(
        execution_id=execution_id, requested="pause", run_ids=run_ids, message=message
    )


@router.post("/{execution_id}/resume", response_model=LifecycleAnswer)
async def resume(execution_id: str, context: Context, who: Operator) -> LifecycleAnswer:
    """Same execution id and budget; nothing validated is generated again."""
    info = known_execution(context, execution_id)
    if info.status not in RESUMABLE:
        allowed = ", ".join(s.value for s in RESUMABLE)
        raise ApiError(
            409, f"execution '{execution_id}' is {info.status.value}; resume needs {allowed}"
        )
    plan = context.store.get_masterplan(info.masterplan_id)
    if plan is None or plan.revision() != info.revision:
        raise ApiError(
            409,
            f"masterplan '{info.masterplan_id}' changed since execution {execution_id} ran; "
            "start it anew",
        )
    launched = await _launch(
        context,
        plan.id,
        who,
        {c.TAG_EXECUTION_ID: execution_id},  # so a pause finds the run before it is tagged
        output_dir=info.output_dir,
        budget_usd=info.budget_usd,
        resume_execution=execution_id,
    )
    return LifecycleAnswer(
        execution_id=execution_id,
        requested="resume",
        run_ids=[launched.run_id],
        message=f"resumed in run {launched.run_id}",
    )


__all__ = ["router"]
