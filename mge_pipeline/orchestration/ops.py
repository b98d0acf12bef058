"""The ops of a compiled masterplan job; each is a thin wrapper over ``execution``.

Ops are made by factories because each closes over its masterplan (specs, graph, waves): a
job is a pure function of its plan, and nothing about the plan is looked up at run time. The
rules — what to cache, block, skip or stop, how an atom is generated — live in
``execution/run_service.py``; an op only fetches the run's services, calls one function and
turns its answer into Dagster outputs and metadata.
"""

import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import anyio
import dagster as dg

from mge_pipeline import settings as env
from mge_pipeline.domain import ExecutionStatus
from mge_pipeline.exceptions import MgeError, SandboxUnavailableError
from mge_pipeline.execution.finalize import finalize as finalize_run
from mge_pipeline.execution.plan_bundle import PlanBundle
from mge_pipeline.execution.prepare import prepare_run, run_tags
from mge_pipeline.execution.report import render_markdown
from mge_pipeline.execution.run_context import RunContext
from mge_pipeline.execution.run_service import RunServices, close_wave, run_atom, start_wave
from mge_pipeline.observability import live, metrics
from mge_pipeline.observability.server import push_metrics
from mge_pipeline.orchestration.config import (
    MasterplanRunConfig,
    WaveStart,
    run_context_from,
)
from mge_pipeline.orchestration.publishing import publish_state, wave_atoms_table
from mge_pipeline.orchestration.resources import (
    LLMProviderResource,
    RunServicesResource,
    SandboxResource,
    StoreResource,
    dagster_cancel_probe,
    fail_lost_runs,
)
from mge_pipeline.orchestration.step_metadata import (
    atom_step_metadata,
    failed_outcome,
    failure_description,
)
from mge_pipeline.planning.diagrams import dependency_table


def op_name(bundle: PlanBundle, role: str) -> str:
    """Op definitions are unique per repository, so they carry the plan; nodes are aliased."""
    return f"{re.sub(r'[^A-Za-z0-9_]', '_', bundle.plan.id)}__{role}"


def _services(
    context: dg.OpExecutionContext,
    bundle: PlanBundle,
    run: RunContext,
    run_services: RunServicesResource,
    store: StoreResource,
    llm: LLMProviderResource,
    sandbox: SandboxResource,
) -> RunServices:
    probe = dagster_cancel_probe(context.instance, context.run_id)
    return run_services.services(
        bundle, run, store=store, llm=llm, sandbox=sandbox, cancel_probe=probe
    )


def make_prepare_op(bundle: PlanBundle) -> dg.OpDefinition:
    @dg.op(
        name=op_name(bundle, "prepare"),
        description="Stores the masterplan, opens the execution and its budget.",
    )
    def prepare(
        context: dg.OpExecutionContext,
        config: MasterplanRunConfig,
        store: StoreResource,
        llm: LLMProviderResource,
        sandbox: SandboxResource,
    ) -> RunContext:
        _refuse_executor_limit(context, len(bundle.atoms))
        _start_sandbox(context, sandbox)
        provider = llm.get_provider()
        planned = run_context_from(context.run_config, context.run_id, bundle.plan.id)
        repository = store.get_store()
        fail_lost_runs(context.instance, repository)
        try:
            run = prepare_run(
                bundle,
                planned.settings,
                repository,
                planned.execution_id,
                provider,
                resume=bool(config.resume_execution),
            )
        except MgeError as exc:
            raise dg.Failure(description=f"no LLM call was made: {exc}") from exc
        tags = run_tags(bundle.plan, provider, run.execution_id)
        context.instance.add_run_tags(context.run_id, tags)
        publish_state(context, repository.execution_state(run.execution_id))
        live.run_started(bundle.plan.id, run.execution_id, len(bundle.atoms))
        context.log.info(
            f"{bundle.plan.id}: {len(bundle.atoms)} atoms in {len(bundle.waves)} waves, "
            f"provider {provider.name} ({provider.model}), budget ${config.budget_usd:.2f}, "
            f"{config.max_concurrent} calls in flight, scheduling by {config.scheduling}"
        )
        return run

    return prepare


def _start_sandbox(context: dg.OpExecutionContext, sandbox: SandboxResource) -> None:
    """The run learns its isolation before any LLM call: refused, or weak and said so."""
    pool = sandbox.get_sandbox()
    try:
        isolation = pool.start()
    except SandboxUnavailableError as exc:
        raise dg.Failure(description=f"no LLM call was made: {exc}") from exc
    if pool.weak_reason:
        context.log.warning(f"WEAK sandbox ({isolation}): {pool.weak_reason}")
    else:
        context.log.info(f"sandbox isolation: {isolation}")


def _refuse_executor_limit(context: dg.OpExecutionContext, atoms: int) -> None:
    """Atom steps wait for their dependencies inside the executor's slots, so a slot limit
    below the plan's size could fill every slot with waiting atoms: refuse it up front."""
    execution = context.run_config.get("execution") or {}
    limit = ((execution.get("config") or {}) if isinstance(execution, dict) else {}).get(
        "max_concurrent"
    )
    if isinstance(limit, int) and 0 < limit < atoms:
        raise dg.Failure(
            description=(
                f"execution.config.max_concurrent is {limit}, below the plan's {atoms} atoms: "
                "atoms waiting for dependencies would hold every slot. Leave it unset and set "
                "ops.prepare.config.max_concurrent (LLM calls in flight) instead."
            )
        )


def make_wave_fan_out_op(bundle: PlanBundle, wave_index: int) -> dg.OpDefinition:
    atom_ids = bundle.waves[wave_index]
    shown = ", ".join(atom_ids[:8]) + (", …" if len(atom_ids) > 8 else "")

    @dg.op(
        name=op_name(bundle, f"wave_{wave_index}"),
        description=f"Fans out wave {wave_index}: {len(atom_ids)} atoms ({shown}).",
        # The atoms' outputs carry nothing: a mapped step knows its atom from its mapping key
        # and its run from the run config, so no value (and no IO-manager event) per atom.
        out={"atoms": dg.DynamicOut(dg.Nothing), "wave": dg.Out(WaveStart)},
        # Wired only on executors whose steps hold a worker while they wait (Celery): the
        # previous wave's close, so no atom step starts before its dependencies settled.
        ins={"after": dg.In(dg.Nothing)},
    )
    # Unannotated return: Dagster rejects an AsyncIterator annotation on a multi-output op.
    async def wave_fan_out(  # type: ignore[no-untyped-def]
        context: dg.OpExecutionContext,
        run: RunContext,
        run_services: RunServicesResource,
        store: StoreResource,
        llm: LLMProviderResource,
        sandbox: SandboxResource,
    ):
        started = time.time()
        services = _services(context, bundle, run, run_services, store, llm, sandbox)
        to_generate, cached = await start_wave(services, wave_index)
        languages = [bundle.atoms[r.atom_id].language.value for r in cached]
        metrics.record_settled_atoms(bundle.plan.id, languages, cached)
        live.atoms_settled(bundle.plan.id, run.execution_id, len(cached), 0.0)
        for atom_id in to_generate:
            yield dg.DynamicOutput(
                None, output_name="atoms", mapping_key=bundle.mapping_keys[atom_id]
            )
        yield dg.Output(WaveStart(run, wave_index, started), output_name="wave")

    return wave_fan_out


def make_generate_atom_op(bundle: PlanBundle) -> dg.OpDefinition:
    atom_of_key = {key: atom_id for atom_id, key in bundle.mapping_keys.items()}

    @dg.op(
        name=op_name(bundle, "generate_atom"),
        description=(
            "Generates one atom once its dependencies are settled: up to N attempts of "
            "generate → validate, errors fed back."
        ),
        ins={"ticket": dg.In(dg.Nothing)},
        out=dg.Out(dg.Nothing),
    )
    # Unannotated return: Dagster rejects an AsyncIterator annotation here too.
    async def generate_atom(  # type: ignore[no-untyped-def]
        context: dg.OpExecutionContext,
        run_services: RunServicesResource,
        store: StoreResource,
        llm: LLMProviderResource,
        sandbox: SandboxResource,
    ):
        services = run_services.cached() or _services(
            context,
            bundle,
            run_context_from(context.run_config, context.run_id, bundle.plan.id),
            run_services,
            store,
            llm,
            sandbox,
        )
        atom_id = atom_of_key[context.get_mapping_key() or ""]
        result = await run_atom(services, atom_id)
        metrics.record_atom(
            bundle.plan.id,
            bundle.atoms[atom_id].language.value,
            result,
            provider=services.provider.name,
            model=services.provider.model,
        )
        live.atoms_settled(bundle.plan.id, services.execution_id, 1, result.cost_usd)
        metadata = atom_step_metadata(result, bundle.atoms[atom_id].language.value)
        # The output first: the wave's close runs on it even though this step then fails.
        yield dg.Output(None, metadata=metadata)
        if failed_outcome(result.status):
            raise dg.Failure(description=failure_description(atom_id, result))

    return generate_atom


def make_wave_close_op(bundle: PlanBundle, wave_index: int) -> dg.OpDefinition:
    @dg.op(
        name=op_name(bundle, f"wave_{wave_index}_close"),
        description=f"Closes wave {wave_index}: records its summary and applies the stop rule.",
        ins={"wave": dg.In(WaveStart), "atoms_settled": dg.In(dg.Nothing)},
        out=dg.Out(dg.Nothing),  # finalize reads the store: only the order matters
    )
    async def wave_close(
        context: dg.OpExecutionContext,
        wave: WaveStart,
        run_services: RunServicesResource,
        store: StoreResource,
        llm: LLMProviderResource,
        sandbox: SandboxResource,
    ) -> dg.Output[None]:
        services = _services(context, bundle, wave.run, run_services, store, llm, sandbox)
        had_stop = services.stop_reason
        summary, rows = await close_wave(services, wave_index, wave.started_at)
        if services.stop_reason and not had_stop:
            context.log.warning(services.stop_reason)
        metrics.record_wave(bundle.plan.id, summary)
        state = await services.store.execution_state(services.execution_id)
        await anyio.to_thread.run_sync(publish_state, context, state)
        return dg.Output(
            None,
            metadata={
                "atoms": dg.MetadataValue.md(
                    wave_atoms_table(rows, _step_links(context.run_id, bundle, wave_index, rows))
                ),
                "succeeded": summary.succeeded,
                "cached": summary.cached,
                "failed": summary.failed,
                "blocked": summary.blocked,
                "skipped": summary.skipped,
                "success_rate": dg.MetadataValue.float(summary.success_rate),
                "cost_usd": dg.MetadataValue.float(summary.cost_usd),
                "duration_seconds": dg.MetadataValue.float(summary.duration_seconds),
            },
        )

    return wave_close


def _step_links(
    run_id: str, bundle: PlanBundle, wave_index: int, rows: list[Any]
) -> Callable[[str], str | None]:
    """Dagit's path to an atom step's logs; cached atoms had no step."""
    stepped = {r.atom_id for r in rows if r.status.value != "cached"}

    def link(atom_id: str) -> str | None:
        if atom_id not in stepped:
            return None
        key = f"wave_{wave_index}_generate_atom[{bundle.mapping_keys[atom_id]}]"
        return f"/runs/{run_id}?logs=" + quote(f"step:{key}", safe="")

    return link


def make_finalize_op(bundle: PlanBundle) -> dg.OpDefinition:
    @dg.op(
        name=op_name(bundle, "finalize"),
        description="Assembles validated atoms into files; writes the report.",
        ins={"run": dg.In(RunContext), "waves_closed": dg.In(dg.Nothing)},
    )
    async def finalize(
        context: dg.OpExecutionContext,
        run: RunContext,
        run_services: RunServicesResource,
        store: StoreResource,
        llm: LLMProviderResource,
        sandbox: SandboxResource,
    ) -> dg.Output[str]:
        services = _services(context, bundle, run, run_services, store, llm, sandbox)
        report = await finalize_run(services)
        metrics.record_run(report, budget_usd=run.settings.budget_usd)
        state = await services.store.execution_state(run.execution_id)
        await anyio.to_thread.run_sync(publish_state, context, state)
        gateway = env.pushgateway_url()
        if gateway:
            await anyio.to_thread.run_sync(lambda: push_metrics(gateway, job=bundle.plan.id))
        statuses = {atom.atom_id: atom.status for atom in report.atoms}
        metadata: dict[str, Any] = {
            "status": report.status,
            "precision_percent": dg.MetadataValue.float(report.precision_percent),
            "verified_precision_percent": dg.MetadataValue.float(report.verified_precision_percent),
            "cost_usd": dg.MetadataValue.float(report.total_cost_usd),
            "cost_without_cache_usd": dg.MetadataValue.float(report.cost_without_cache_usd),
            "acceptance": report.acceptance,
            "sandbox_isolation": report.sandbox_isolation or "unknown",
            "output_dir": dg.MetadataValue.path(report.output_dir),
            "report": dg.MetadataValue.md(render_markdown(report)),
            "dependency_graph": dg.MetadataValue.md(
                dependency_table(bundle.graph, bundle.waves, status=statuses)
            ),
        }
        if report.status != ExecutionStatus.COMPLETED.value:
            raise dg.Failure(description=report.reason or "the run failed", metadata=metadata)
        return dg.Output(report.output_dir, metadata=metadata)

    return finalize
