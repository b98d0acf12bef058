"""``/api/v2/execution``: what an execution is doing, read from the store.

The store is the live source (every atom's result lands there as it settles); Dagster's run
tags only carry the state as of the last barrier. Starting, pausing, resuming and cancelling
are in ``lifecycle.py``.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Depends

from mge_pipeline.api.auth import Principal, Scope, require
from mge_pipeline.api.context import ApiContext, context_of
from mge_pipeline.api.errors import ApiError
from mge_pipeline.api.models import AtomView, MetricsView, ProgressView, WaveView
from mge_pipeline.domain import AtomStatus, ExecutionState
from mge_pipeline.domain.records import ExecutionInfo
from mge_pipeline.execution.plan_bundle import PlanBundle, bundle_masterplan

router = APIRouter(prefix="/api/v2/execution", tags=["execution"])
Context = Annotated[ApiContext, Depends(context_of)]
Reader = Annotated[Principal, Depends(require(Scope.READ))]
SETTLED = {s.value for s in AtomStatus} - {"pending", "running"}


def known_execution(context: ApiContext, execution_id: str) -> ExecutionInfo:
    info = context.store.execution_info(execution_id)
    if info is None:
        raise ApiError(404, f"execution '{execution_id}' does not exist")
    return info


def _state(context: ApiContext, execution_id: str) -> ExecutionState:
    known_execution(context, execution_id)
    state = context.store.execution_state(execution_id)
    assert state is not None  # the row exists: execution_info found it
    return state


def _bundle(context: ApiContext, info: ExecutionInfo) -> PlanBundle:
    plan = context.store.get_masterplan(info.masterplan_id)
    if plan is None:
        raise ApiError(404, f"masterplan '{info.masterplan_id}' is not in the store")
    return bundle_masterplan(plan)


@router.get("", response_model=list[ExecutionState])
def executions(
    context: Context, _: Reader, masterplan_id: str | None = None
) -> list[ExecutionState]:
    """The latest executions, newest first."""
    return context.store.executions(masterplan_id)


@router.get("/{execution_id}/status", response_model=ExecutionState)
def status(execution_id: str, context: Context, _: Reader) -> ExecutionState:
    return _state(context, execution_id)


@router.get("/{execution_id}/progress", response_model=ProgressView)
def progress(execution_id: str, context: Context, _: Reader) -> ProgressView:
    state = _state(context, execution_id)
    by_status = Counter(s.value for s in context.store.atom_statuses(execution_id).values())
    settled = sum(n for s, n in by_status.items() if s in SETTLED)
    return ProgressView(
        execution_id=execution_id,
        status=state.status.value,
        current_wave=state.current_wave,
        total_waves=state.total_waves,
        atoms_total=state.atoms_total,
        atoms_settled=settled,
        atoms_succeeded=state.atoms_succeeded,
        atoms_failed=state.atoms_failed,
        percent=round(100.0 * settled / state.atoms_total, 2) if state.atoms_total else 0.0,
        by_status=dict(by_status),
    )


@router.get("/{execution_id}/waves/{wave_index}", response_model=WaveView)
def wave(execution_id: str, wave_index: int, context: Context, _: Reader) -> WaveView:
    bundle = _bundle(context, known_execution(context, execution_id))
    if not 0 <= wave_index < len(bundle.waves):
        raise ApiError(
            404, f"execution '{execution_id}' has no wave {wave_index} (0-{len(bundle.waves) - 1})"
        )
    statuses = context.store.atom_statuses(execution_id)
    summaries = {s.wave_index: s for s in context.store.wave_summaries(execution_id)}
    return WaveView(
        execution_id=execution_id,
        wave_index=wave_index,
        atoms={
            a: statuses[a].value if a in statuses else "pending" for a in bundle.waves[wave_index]
        },
        summary=summaries.get(wave_index),
    )


@router.get("/{execution_id}/atoms/{atom_id}", response_model=AtomView)
def atom(execution_id: str, atom_id: str, context: Context, _: Reader) -> AtomView:
    info = known_execution(context, execution_id)
    bundle = _bundle(context, info)
    if atom_id not in bundle.atoms:
        raise ApiError(404, f"masterplan '{info.masterplan_id}' has no atom '{atom_id}'")
    results = context.store.atom_results(execution_id, [atom_id])
    attempts = [a for a in context.store.attempts(execution_id) if a.atom_id == atom_id]
    result = results[0] if results else None
    return AtomView(
        execution_id=execution_id,
        atom_id=atom_id,
        wave_index=bundle.wave_of[atom_id],
        status=result.status.value if result else "pending",
        spec_hash=bundle.spec_hashes[atom_id],
        code=result.code if result else None,
        cost_usd=result.cost_usd if result else 0.0,
        reason=result.reason if result else None,
        attempts=sorted(attempts, key=lambda a: a.attempt_number),
    )


@router.get("/{execution_id}/metrics", response_model=MetricsView)
def metrics(execution_id: str, context: Context, _: Reader) -> MetricsView:
    info = known_execution(context, execution_id)
    state = _state(context, execution_id)
    attempts = context.store.attempts(execution_id)
    generated = {a.atom_id for a in attempts}
    first_try = {a.atom_id for a in attempts if a.attempt_number == 1 and a.passed}
    validated = state.atoms_succeeded
    tokens = Counter[str]()
    for a in attempts:
        tokens.update(
            input=a.prompt_tokens,
            output=a.response_tokens,
            cache_read=a.cache_read_tokens,
            cache_write=a.cache_write_tokens,
        )
    failures = Counter(a.error_category.value for a in attempts if a.error_category)
    return MetricsView(
        execution_id=execution_id,
        state=state,
        precision_percent=round(100.0 * validated / state.atoms_total, 2)
        if state.atoms_total
        else 0.0,
        attempts=len(attempts),
        first_try_success_rate=len(first_try) / len(generated) if generated else 0.0,
        retry_rate=(len(attempts) - len(generated)) / len(attempts) if attempts else 0.0,
        cost_usd=state.total_cost_usd,
        budget_usd=info.budget_usd,
        budget_used_ratio=info.spent_usd / info.budget_usd if info.budget_usd else 0.0,
        cost_per_validated_atom_usd=state.total_cost_usd / validated if validated else None,
        tokens=dict(tokens),
        failures_by_category=dict(failures),
    )
