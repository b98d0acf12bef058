"""A prototype without wave barriers (``--scheduler pipelined``): prepare → run_atoms → finalize.

One async op runs every atom of the plan on the event loop; an atom starts as soon as its own
direct dependencies are settled, not when its whole wave is. Per atom it does what the
compiled job does (blocked / cached / ``execute_atom``, the same store rows) and logs one
INFO line; waves are still closed in order, from the store, with ``close_wave``. The one
semantic difference: when a wave's close applies the stop rule, atoms of later waves that
already started finish, and only those not started yet are skipped.

Dagster writes a handful of events for the whole op instead of ~9 per atom, and the work of
one wave overlaps the LLM latency of the next. It exists to measure that design before
making it in ``mge_pipeline``; nothing imports it but the benchmark.
"""

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import dagster as dg
from chunked import record_atom_metrics  # benchmarks/ is on sys.path when this is loaded
from dagster_async_executor import async_executor
from mge_pipeline.execution.atom_runner import AtomServices, execute_atom
from mge_pipeline.execution.run_steps import close_wave

from mge_pipeline.domain import AtomResult, AtomStatus
from mge_pipeline.execution.plan_bundle import PlanBundle, bundle_masterplan
from mge_pipeline.execution.run_context import RunContext
from mge_pipeline.orchestration.compiler import job_name_for
from mge_pipeline.orchestration.config import default_run_config
from mge_pipeline.orchestration.environment import ResourceOptions, make_resources
from mge_pipeline.orchestration.ops import make_finalize_op, make_prepare_op, op_name
from mge_pipeline.orchestration.resources import (
    LLMProviderResource,
    SandboxResource,
    StoreResource,
)
from mge_pipeline.planning import load_masterplan
from mge_pipeline.validation.dispatch import LanguageDispatchValidator

_VALIDATED = (AtomStatus.SUCCEEDED, AtomStatus.CACHED)


def compile_pipelined_job_from_file(
    path: str, options: Mapping[str, Any] | None = None, atoms_in_flight: int = 100
) -> dg.JobDefinition:
    resources = make_resources(ResourceOptions(**(options or {})))
    bundle = bundle_masterplan(load_masterplan(Path(path)))
    prepare = make_prepare_op(bundle)
    run_atoms = _make_run_atoms_op(bundle, atoms_in_flight)
    finalize = make_finalize_op(bundle)

    @dg.job(
        name=job_name_for(bundle.plan.id),
        executor_def=async_executor,
        config=default_run_config(),
        resource_defs=dict(resources),
    )
    def pipelined_job() -> None:
        finalize.alias("finalize")(run_atoms.alias("run_atoms")(prepare.alias("prepare")()))

    return pipelined_job


def _make_run_atoms_op(bundle: PlanBundle, atoms_in_flight: int) -> dg.OpDefinition:
    waves = bundle.waves

    @dg.op(name=op_name(bundle, "run_atoms"))
    async def run_atoms(
        context: dg.OpExecutionContext,
        run: RunContext,
        store: StoreResource,
        llm: LLMProviderResource,
        sandbox: SandboxResource,
    ) -> RunContext:
        settings = run.settings
        repository = store.get_store()
        services = AtomServices(  # as make_generate_atom_op builds them
            store=repository,
            provider=llm.get_provider(),
            validator=LanguageDispatchValidator(
                sandbox.get_sandbox(),
                timeout_seconds=settings.validation_timeout_seconds,
                memory_mb=settings.validation_memory_mb,
            ),
            gate=llm.call_gate(settings.requests_per_minute, settings.tokens_per_minute),
        )
        limiter = anyio.CapacityLimiter(atoms_in_flight)
        settled = {atom_id: anyio.Event() for atom_id in bundle.atoms}
        statuses: dict[str, AtomStatus] = {}
        left = [len(wave) for wave in waves]
        wave_done = [anyio.Event() for _ in waves]
        wave_started = [0.0 for _ in waves]
        state = {"run": run}

        async def one(atom_id: str) -> None:
            deps = bundle.direct_dependencies(atom_id)
            for dep in deps:
                await settled[dep].wait()
            k = bundle.wave_of[atom_id]
            wave_started[k] = wave_started[k] or time.monotonic()
            stop = state["run"].stop_reason
            missing = [d for d in deps if statuses.get(d) not in _VALIDATED]
            result: AtomResult | None = None
            if stop:
                result = AtomResult(atom_id=atom_id, status=AtomStatus.SKIPPED, reason=stop)
            elif missing:
                reason = "blocked by dependencies that did not validate: " + ", ".join(missing)
                result = AtomResult(atom_id=atom_id, status=AtomStatus.BLOCKED, reason=reason)
            else:
                spec_hash = bundle.spec_hashes[atom_id]
                code = await anyio.to_thread.run_sync(lambda: repository.validated_code(spec_hash))
                if code is not None:
                    reason = "validated code for this exact spec already stored"
                    result = AtomResult(
                        atom_id=atom_id, status=AtomStatus.CACHED, code=code, reason=reason
                    )
            if result is None:
                async with limiter:
                    result = await execute_atom(
                        bundle,
                        atom_id,
                        execution_id=run.execution_id,
                        services=services,
                        settings=settings,
                    )  # records its own result row
                record_atom_metrics(bundle, services, result)
            else:
                settled_result = result
                await anyio.to_thread.run_sync(
                    lambda: repository.record_atom_result(
                        run.execution_id,
                        wave_index=k,
                        spec_hash=bundle.spec_hashes[atom_id],
                        result=settled_result,
                    )
                )
            statuses[atom_id] = result.status
            context.log.info(f"{atom_id}: {result.status.value}, {len(result.attempts)} attempts")
            settled[atom_id].set()
            left[k] -= 1
            if left[k] == 0:
                wave_done[k].set()

        async def close_waves_in_order() -> None:
            for k in range(len(waves)):
                await wave_done[k].wait()
                closed = await anyio.to_thread.run_sync(
                    close_wave, bundle, state["run"], k, wave_started[k], repository
                )
                state["run"] = closed[0]  # (run, summary[, rows]) depending on the version

        async with anyio.create_task_group() as group:
            group.start_soon(close_waves_in_order)
            for wave in waves:
                for atom_id in wave:
                    group.start_soon(one, atom_id)
        return state["run"]

    return run_atoms
