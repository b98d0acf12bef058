"""One atom's step, outside Dagster: read dependencies from the store, loop, record everything.

Every store call goes through ``anyio.to_thread`` because this runs on the async executor's
event loop, where one blocking database call would stall every atom in flight.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import anyio

from mge_pipeline.domain import AtomResult, AttemptRecord
from mge_pipeline.execution.assembly import files_for_atom
from mge_pipeline.execution.budget import Reservation
from mge_pipeline.execution.plan_bundle import PlanBundle
from mge_pipeline.execution.retry import AtomJob, run_atom
from mge_pipeline.execution.run_context import RunSettings
from mge_pipeline.generation import LLMProvider, price_for
from mge_pipeline.generation.prompts import DependencyContext, system_blocks
from mge_pipeline.generation.rate_limit import CallGate
from mge_pipeline.store import MgeStore
from mge_pipeline.validation.dispatch import AtomValidator


@dataclass
class StoreCostGuard:
    """The store's ledger as a CostGuard for one execution."""

    store: MgeStore
    execution_id: str

    async def reserve(self, *, atom_id: str, amount_usd: float) -> Reservation:
        return await anyio.to_thread.run_sync(
            lambda: self.store.reserve(
                execution_id=self.execution_id, atom_id=atom_id, amount_usd=amount_usd
            )
        )

    async def settle(self, reservation: Reservation, *, actual_usd: float) -> None:
        await anyio.to_thread.run_sync(
            lambda: self.store.settle(
                reservation, execution_id=self.execution_id, actual_usd=actual_usd
            )
        )


@dataclass(frozen=True)
class AtomServices:
    """What the op hands over from its resources; shared by every atom of the run."""

    store: MgeStore
    provider: LLMProvider
    validator: AtomValidator
    gate: CallGate | None = None


async def execute_atom(
    bundle: PlanBundle,
    atom_id: str,
    *,
    execution_id: str,
    services: AtomServices,
    settings: RunSettings,
) -> AtomResult:
    store = services.store
    atom = bundle.atoms[atom_id]
    ancestors = bundle.ancestors(atom_id)
    codes = await anyio.to_thread.run_sync(lambda: store.validated_codes(execution_id, ancestors))
    dependencies = [
        DependencyContext(bundle.atoms[d], codes[d])
        for d in bundle.direct_dependencies(atom_id)
        if d in codes
    ]

    async def record(attempt: AttemptRecord) -> None:
        await anyio.to_thread.run_sync(lambda: store.record_attempt(execution_id, attempt))

    job = AtomJob(
        atom=atom,
        provider=services.provider,
        validator=services.validator,
        cost_guard=StoreCostGuard(store, execution_id),
        price=settings.price_override or price_for(services.provider.model),
        files_for=lambda code: files_for_atom(atom_id, code, bundle.atoms, codes, bundle.graph),
        dependencies=dependencies,
        system_blocks=system_blocks(
            bundle.project_prompt,
            bundle.file_prompts[atom.file_path],
            cache=settings.prompt_caching,
        ),
        dependency_token_budget=settings.dependency_token_budget,
        gate=services.gate,
        policy=settings.policy,
        on_attempt=record,
        rng=random.Random(f"{execution_id}:{atom_id}"),
    )
    result = await run_atom(job)
    await anyio.to_thread.run_sync(
        lambda: store.record_atom_result(
            execution_id,
            wave_index=bundle.wave_of[atom_id],
            spec_hash=bundle.spec_hashes[atom_id],
            result=result,
        )
    )
    return result
