"""A prototype of the compiled job with several atoms per Dagster step (``--atoms-per-step``).

Same spine as ``mge_pipeline.orchestration.compiler`` (prepare → wave fan-out → map → collect →
wave close → … → finalize), the same prepare / finalize ops and the same per-atom code
(``execute_atom``); only the fan-out yields one DynamicOutput per *chunk* of atoms, and each
mapped step runs its chunk's atoms concurrently on the event loop. Dagster then writes its
~6 step events per chunk instead of per atom. It exists to measure that change before making
it in ``mge_pipeline``; nothing imports it but the benchmark.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_async_executor import async_executor
from mge_pipeline.execution.atom_runner import AtomServices, execute_atom
from mge_pipeline.execution.run_steps import close_wave

from mge_pipeline.execution.plan_bundle import PlanBundle, bundle_masterplan
from mge_pipeline.execution.run_context import RunContext
from mge_pipeline.execution.waves import plan_wave
from mge_pipeline.orchestration.compiler import job_name_for
from mge_pipeline.orchestration.config import AtomOutcome, WaveStart, default_run_config
from mge_pipeline.orchestration.environment import ResourceOptions, make_resources
from mge_pipeline.orchestration.ops import make_finalize_op, make_prepare_op, op_name
from mge_pipeline.orchestration.resources import (
    LLMProviderResource,
    SandboxResource,
    StoreResource,
)
from mge_pipeline.planning import load_masterplan
from mge_pipeline.validation.dispatch import LanguageDispatchValidator


def record_atom_metrics(bundle: PlanBundle, services: AtomServices, result: Any) -> None:
    """What the real generate op does per atom besides Dagster (Prometheus), where it exists."""
    import mge_pipeline

    # Only from the same tree as mge_pipeline (a snapshot on PYTHONPATH may predate the module,
    # and the editable install would then supply a newer, incompatible one).
    if not (Path(mge_pipeline.__file__).parent / "observability" / "metrics.py").exists():
        return
    from mge_pipeline.observability import metrics

    if hasattr(metrics, "record_atom"):
        metrics.record_atom(
            bundle.plan.id,
            bundle.atoms[result.atom_id].language.value,
            result,
            provider=services.provider.name,
            model=services.provider.model,
        )


@dataclass(frozen=True)
class ChunkTicket:
    atom_ids: tuple[str, ...]
    wave_index: int
    run: RunContext


def compile_chunked_job_from_file(
    path: str, options: Mapping[str, Any] | None = None, atoms_per_step: int = 8
) -> dg.JobDefinition:
    resources = make_resources(ResourceOptions(**(options or {})))
    bundle = bundle_masterplan(load_masterplan(Path(path)))
    prepare = make_prepare_op(bundle)
    generate = _make_generate_chunk_op(bundle)
    fan_outs = [_make_fan_out_op(bundle, k, atoms_per_step) for k in range(len(bundle.waves))]
    closes = [_make_close_op(bundle, k) for k in range(len(bundle.waves))]
    finalize = make_finalize_op(bundle)

    @dg.job(
        name=job_name_for(bundle.plan.id),
        executor_def=async_executor,
        config=default_run_config(),
        resource_defs=dict(resources),
    )
    def chunked_job() -> None:
        run = prepare.alias("prepare")()
        for k, (fan_out, close) in enumerate(zip(fan_outs, closes, strict=True)):
            tickets, started = fan_out.alias(f"wave_{k}")(run)
            outcomes = tickets.map(generate.alias(f"wave_{k}_generate_atom"))
            run = close.alias(f"wave_{k}_close")(started, outcomes.collect())
        finalize.alias("finalize")(run)

    return chunked_job


def _make_fan_out_op(bundle: PlanBundle, wave_index: int, atoms_per_step: int) -> dg.OpDefinition:
    @dg.op(
        name=op_name(bundle, f"wave_{wave_index}"),
        out={"atoms": dg.DynamicOut(ChunkTicket), "wave": dg.Out(WaveStart)},
    )
    def wave_fan_out(
        run: RunContext, store: StoreResource
    ) -> Iterator[dg.DynamicOutput[ChunkTicket] | dg.Output[WaveStart]]:
        started = time.monotonic()
        repository = store.get_store()
        repository.set_current_wave(run.execution_id, wave_index)
        decision = plan_wave(
            bundle, wave_index, statuses=repository.atom_statuses(run.execution_id),
            cached_code=repository.validated_code, stop_reason=run.stop_reason,
        )  # fmt: skip
        for result in decision.settled:
            repository.record_atom_result(
                run.execution_id, wave_index=wave_index,
                spec_hash=bundle.spec_hashes[result.atom_id], result=result,
            )  # fmt: skip
        ids = decision.to_generate
        for start in range(0, len(ids), atoms_per_step):
            chunk = tuple(ids[start : start + atoms_per_step])
            yield dg.DynamicOutput(
                ChunkTicket(chunk, wave_index, run), output_name="atoms",
                mapping_key=f"{bundle.mapping_keys[chunk[0]]}_{len(chunk)}",
            )  # fmt: skip
        yield dg.Output(WaveStart(run, wave_index, started), output_name="wave")

    return wave_fan_out


def _make_generate_chunk_op(bundle: PlanBundle) -> dg.OpDefinition:
    @dg.op(name=op_name(bundle, "generate_atoms"))
    async def generate_atoms(
        ticket: ChunkTicket,
        store: StoreResource,
        llm: LLMProviderResource,
        sandbox: SandboxResource,
    ) -> dg.Output[list[AtomOutcome]]:
        settings = ticket.run.settings
        services = AtomServices(  # as make_generate_atom_op builds them
            store=store.get_store(),
            provider=llm.get_provider(),
            validator=LanguageDispatchValidator(
                sandbox.get_sandbox(), timeout_seconds=settings.validation_timeout_seconds,
                memory_mb=settings.validation_memory_mb,
            ),
            gate=llm.call_gate(settings.requests_per_minute, settings.tokens_per_minute),
        )  # fmt: skip
        results = await asyncio.gather(*[
            execute_atom(
                bundle, atom_id, execution_id=ticket.run.execution_id, services=services,
                settings=settings,
            )
            for atom_id in ticket.atom_ids
        ])  # fmt: skip
        for result in results:
            record_atom_metrics(bundle, services, result)
        outcomes = [
            AtomOutcome(r.atom_id, r.status.value, len(r.attempts), r.cost_usd) for r in results
        ]
        metadata = {
            "atoms": len(outcomes),
            "succeeded": sum(1 for o in outcomes if o.status == "succeeded"),
            "attempts": sum(o.attempts for o in outcomes),
        }
        return dg.Output(outcomes, metadata=metadata)

    return generate_atoms


def _make_close_op(bundle: PlanBundle, wave_index: int) -> dg.OpDefinition:
    @dg.op(name=op_name(bundle, f"wave_{wave_index}_close"))
    def wave_close(wave: WaveStart, outcomes: list[Any], store: StoreResource) -> RunContext:
        closed = close_wave(bundle, wave.run, wave_index, wave.started_monotonic, store.get_store())
        run = closed[0]  # (run, summary[, rows]) depending on the version
        return run

    return wave_close
