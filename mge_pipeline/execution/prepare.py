"""Opening an execution: the plan, its atoms and the execution row with its budget."""

from __future__ import annotations

from mge_pipeline import constants as c
from mge_pipeline.domain import ExecutionStatus, MasterPlan
from mge_pipeline.domain.records import MasterplanStatus
from mge_pipeline.exceptions import MgeError, RunConfigError
from mge_pipeline.execution.plan_bundle import PlanBundle
from mge_pipeline.execution.run_context import RunContext, RunSettings
from mge_pipeline.generation import LLMProvider
from mge_pipeline.generation.schedule import schedule_problems
from mge_pipeline.store import MgeStore


def prepare_run(
    bundle: PlanBundle,
    settings: RunSettings,
    store: MgeStore,
    execution_id: str,
    provider: LLMProvider,
    *,
    resume: bool = False,
) -> RunContext:
    """Opens the execution, or reopens it when resuming (same id, same budget and spending).

    Raises ``MgeError`` (nothing written) when an execution cannot be resumed.
    """
    check_schedule(settings, provider)
    plan = bundle.plan
    if resume:
        _check_resumable(store, execution_id, plan)
    store.save_masterplan(plan, status=MasterplanStatus.RUNNING)
    store.save_atoms(plan, bundle.waves, bundle.spec_hashes)
    if resume:
        store.reopen_execution(execution_id, settings.output_dir)
    else:
        store.start_execution(
            execution_id=execution_id,
            plan=plan,
            total_waves=len(bundle.waves),
            budget_usd=settings.budget_usd,
            provider=provider.name,
            model=provider.model,
            output_dir=settings.output_dir,
        )
    return RunContext(execution_id=execution_id, masterplan_id=plan.id, settings=settings)


_RESUMABLE = (ExecutionStatus.PAUSED, ExecutionStatus.CANCELLED, ExecutionStatus.FAILED)


def _check_resumable(store: MgeStore, execution_id: str, plan: MasterPlan) -> None:
    info = store.execution_info(execution_id)
    if info is None:
        raise MgeError(f"no execution '{execution_id}' to resume")
    if info.masterplan_id != plan.id or info.revision != plan.revision():
        raise MgeError(
            f"execution '{execution_id}' ran masterplan '{info.masterplan_id}' revision "
            f"{info.revision}, not '{plan.id}' revision {plan.revision()}"
        )
    if info.status not in _RESUMABLE:
        raise MgeError(
            f"execution '{execution_id}' is {info.status.value}: only a paused, cancelled or "
            "failed execution can be resumed"
        )


def check_schedule(settings: RunSettings, provider: LLMProvider) -> None:
    """Refuse, before anything is stored or called, a schedule the API would answer with 400s.

    The simulated model takes any step (it plays whichever model is asked for).
    """
    schedule = settings.policy.schedule_for(provider.model)
    problems = [] if provider.name == "simulated" else schedule_problems(schedule, provider.model)
    if settings.batch and provider.name != "anthropic":
        problems.append(f"submission: batch needs the anthropic provider, not {provider.name}")
    if problems:
        raise RunConfigError(problems)


def run_tags(plan: MasterPlan, provider: LLMProvider, execution_id: str) -> dict[str, str]:
    return {
        c.TAG_MASTERPLAN_ID: plan.id,
        c.TAG_MASTERPLAN_REVISION: plan.revision(),
        c.TAG_MODEL: f"{provider.name}/{provider.model}",  # one tag: the Runs list stays short
        c.TAG_EXECUTION_ID: execution_id,
    }
