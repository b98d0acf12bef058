"""The build jobs: from a request to a masterplan (and on to code) in one Dagster run.

    discover → plan → tasks ─map→ decompose_task[t] ─collect→ assemble_plan [→ generate]

``plan_from_request_job`` stops at ``assemble_plan`` (``mge plan``, ``mge build --plan-only``);
``build_from_request_job`` goes on to ``generate``, which runs the assembled plan's atoms with
the same services as a compiled masterplan job (``execution/whole_run.py``). The stages are
the functions of ``design/``; each op fetches the build's planning services, calls one stage
and reports what it cost and what was sent back. Every decomposition op is async, so on the
async executor all tasks are decomposed at once, bounded by the call gate.
"""

import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import dagster as dg
import yaml
from dagster_async_executor import async_executor
from pydantic import PrivateAttr

from mge_pipeline import settings as env
from mge_pipeline.design import (
    PlanningServices,
    StageResult,
    assemble_masterplan,
    decompose,
    discover,
    plan_outline,
    planning_client,
)
from mge_pipeline.domain import MasterPlan
from mge_pipeline.domain.design import Discovery
from mge_pipeline.exceptions import MgeError
from mge_pipeline.execution.budget import InMemoryCostGuard
from mge_pipeline.execution.plan_bundle import bundle_masterplan
from mge_pipeline.execution.prepare import prepare_run
from mge_pipeline.execution.run_context import RunContext
from mge_pipeline.execution.run_service import open_run_services
from mge_pipeline.execution.whole_run import execute_plan
from mge_pipeline.generation.pricing import price_for
from mge_pipeline.generation.rate_limit import CallGate
from mge_pipeline.orchestration.build_config import (
    BUILD_JOB,
    PLAN_JOB,
    BuildConfig,
    BuildSettings,
    BuiltPlan,
    Decomposed,
    Discovered,
    Outlined,
    build_settings,
)
from mge_pipeline.orchestration.config import MasterplanRunConfig, settings_from_config
from mge_pipeline.orchestration.resources import (
    LLMProviderResource,
    SandboxResource,
    StoreResource,
    dagster_cancel_probe,
)


class PlanningResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """What the build's planning calls share, built once per run: one budget, one gate.

    The gate is the planning's own (``max_concurrent`` of the build config): the LLM
    resource's gate is the generation's, built from its run config when ``generate`` starts.
    Each op opens its own client and closes it on the run's event loop (``stage``).
    """

    _guard: InMemoryCostGuard | None = PrivateAttr(default=None)
    _gate: CallGate | None = PrivateAttr(default=None)

    @contextlib.asynccontextmanager
    async def stage(
        self, settings: BuildSettings, llm: LLMProviderResource
    ) -> AsyncIterator[PlanningServices]:
        provider = llm.get_provider()
        client = planning_client(provider)  # the simulated model declines here
        if self._guard is None or self._gate is None:
            self._guard = InMemoryCostGuard(settings.budget_usd)
            self._gate = CallGate(max_in_flight=settings.max_concurrent)
        async with client:
            yield PlanningServices(
                client=client,
                guard=self._guard,
                price=price_for(provider.model),
                settings=dataclasses.replace(settings.stage, model=provider.model),
                gate=self._gate,
            )

    def spent_usd(self) -> float:
        return self._guard.spent_usd if self._guard else 0.0


def _stage_metadata(result: StageResult[Any]) -> dict[str, Any]:
    sent_back = "\n".join(
        f"answer {n}: " + "; ".join(p.removeprefix("- ") for p in problems)
        for n, problems in enumerate(result.rejected, start=1)
    )
    return {
        "answers": result.usage.calls,
        "cost_usd": dg.MetadataValue.float(result.usage.cost_usd),
        "sent_back": sent_back or "nothing: the first answer passed",
    }


def _failure(stage: str, exc: MgeError) -> dg.Failure:
    text = str(exc)
    return dg.Failure(description=text if text.startswith(stage) else f"{stage}: {text}")


@dg.op(description="Asks the model for the discovery document of the request.")
async def discover_op(
    config: BuildConfig, planning: PlanningResource, llm: LLMProviderResource
) -> dg.Output[Discovered]:
    settings = build_settings(config)
    try:
        async with planning.stage(settings, llm) as services:
            result = await discover(services, settings.request, settings.language)
    except MgeError as exc:
        raise _failure("discovery", exc) from exc
    return dg.Output(Discovered(settings, result.value), metadata=_stage_metadata(result))


@dg.op(description="Asks the model for phases → milestones → tasks from the discovery.")
async def plan_op(
    discovered: Discovered, planning: PlanningResource, llm: LLMProviderResource
) -> dg.Output[Outlined]:
    try:
        async with planning.stage(discovered.settings, llm) as services:
            result = await plan_outline(services, discovered.discovery)
    except MgeError as exc:
        raise _failure("planning", exc) from exc
    outlined = Outlined(discovered.settings, discovered.discovery, result.value)
    metadata = _stage_metadata(result) | {"tasks": len(result.value.tasks())}
    return dg.Output(outlined, metadata=metadata)


@dg.op(
    description="Fans out one decomposition per task.",
    out=dg.DynamicOut(str),
)
def tasks_op(outlined: Outlined):  # type: ignore[no-untyped-def]
    for task in outlined.outline.tasks():
        yield dg.DynamicOutput(task.id, mapping_key=task.id)


@dg.op(description="Asks the model for one task's atoms; checked before it is accepted.")
async def decompose_task_op(
    task_id: str, outlined: Outlined, planning: PlanningResource, llm: LLMProviderResource
) -> dg.Output[Decomposed]:
    task = next(t for t in outlined.outline.tasks() if t.id == task_id)
    try:
        async with planning.stage(outlined.settings, llm) as services:
            result = await decompose(services, outlined.discovery, outlined.outline, task)
    except MgeError as exc:
        raise _failure(f"decomposition of task '{task_id}'", exc) from exc
    metadata = _stage_metadata(result) | {"atoms": len(result.value.atoms)}
    return dg.Output(Decomposed(task_id, result.value), metadata=metadata)


@dg.op(description="Assembles the masterplan, checks it like any plan, and writes it out.")
def assemble_plan_op(
    outlined: Outlined, decomposed: list[Decomposed], planning: PlanningResource
) -> dg.Output[BuiltPlan]:
    settings = outlined.settings
    try:
        plan = assemble_masterplan(
            settings.request,
            outlined.discovery,
            outlined.outline,
            {d.task_id: d.decomposition for d in decomposed},
        )
    except MgeError as exc:
        raise _failure("assembly", exc) from exc
    path = Path(settings.plan_path)
    write_plan(plan, outlined.discovery, path)
    bundle = bundle_masterplan(plan)
    cost = planning.spent_usd()
    built = BuiltPlan(plan, str(path), cost, settings.budget_usd)
    return dg.Output(
        built,
        metadata={
            "plan": dg.MetadataValue.path(str(path)),
            "atoms": len(bundle.atoms),
            "waves": len(bundle.waves),
            "planning_cost_usd": dg.MetadataValue.float(cost),
        },
    )


def write_plan(plan: MasterPlan, discovery: Discovery, path: Path) -> None:
    """The plan as YAML (what ``mge run`` reads), the discovery document beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = plan.model_dump(mode="json", exclude_none=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    partial.replace(path)
    discovery_path = path.with_name(path.stem + ".discovery.json")
    discovery_path.write_text(json.dumps(discovery.model_dump(mode="json"), indent=2) + "\n")


@dg.op(description="Generates the assembled plan's atoms, validates and assembles the code.")
async def generate_op(
    context: dg.OpExecutionContext,
    built: BuiltPlan,
    config: MasterplanRunConfig,
    store: StoreResource,
    llm: LLMProviderResource,
    sandbox: SandboxResource,
) -> dg.Output[str]:
    bundle = bundle_masterplan(built.plan)
    provider, pool = llm.get_provider(), sandbox.get_sandbox()

    def prepare() -> RunContext:
        """Blocking (files, the store, the sandbox's start): run on a worker thread."""
        output = config.output_dir or str(env.output_root() / bundle.plan.id)
        settings = settings_from_config(config, str(Path(output).resolve()))
        left = built.budget_usd - built.planning_cost_usd
        settings = dataclasses.replace(settings, budget_usd=min(settings.budget_usd, left))
        if settings.budget_usd <= 0:
            raise dg.Failure(description=f"planning spent the whole budget (${built.budget_usd:g})")
        try:
            pool.start()
            return prepare_run(bundle, settings, store.get_store(), context.run_id, provider)
        except MgeError as exc:
            raise dg.Failure(description=f"no LLM call was made for generation: {exc}") from exc

    run = await anyio.to_thread.run_sync(prepare)
    settings = run.settings
    gate = llm.call_gate(
        settings.requests_per_minute, settings.tokens_per_minute, settings.max_concurrent
    )
    services = open_run_services(
        bundle, run, store=store.get_store(), provider=provider, sandbox=pool, gate=gate
    )
    services.watch(dagster_cancel_probe(context.instance, context.run_id))
    try:
        report = await execute_plan(services)
    finally:
        services.stop_watching()
        services.board.close()
    metadata: dict[str, Any] = {
        "status": report.status,
        "precision_percent": dg.MetadataValue.float(report.precision_percent),
        "cost_usd": dg.MetadataValue.float(report.total_cost_usd),
        "output_dir": dg.MetadataValue.path(report.output_dir),
    }
    if report.status != "completed":
        raise dg.Failure(description=report.reason or "the run failed", metadata=metadata)
    return dg.Output(report.output_dir, metadata=metadata)


def make_build_job(*, generate: bool, resources: dict[str, Any] | None = None) -> dg.JobDefinition:
    """One factory, two jobs: with ``generate`` the plan is also turned into code."""

    @dg.job(
        name=BUILD_JOB if generate else PLAN_JOB,
        description=(
            "From a request to a masterplan: discovery, plan, one decomposition per task"
            + (", then generation of the plan." if generate else ".")
        ),
        executor_def=async_executor,
        resource_defs=resources,
        tags={"mge/kind": "build" if generate else "plan"},
    )
    def build_job() -> None:
        discovered = discover_op.alias("discover")()
        outlined = plan_op.alias("plan")(discovered)
        task_ids = tasks_op.alias("tasks")(outlined)
        decomposed = task_ids.map(
            lambda task_id: decompose_task_op.alias("decompose_task")(task_id, outlined)
        )
        built = assemble_plan_op.alias("assemble_plan")(outlined, decomposed.collect())
        if generate:
            generate_op.alias("generate")(built)

    return build_job


def make_build_job_from_options(generate: bool, options: dict[str, Any]) -> dg.JobDefinition:
    """The reconstructor ``mge build`` uses: a standalone job with its resources bound."""
    from mge_pipeline.orchestration.environment import ResourceOptions, make_resources

    resources = make_resources(ResourceOptions(**options))
    return make_build_job(generate=generate, resources=resources)
