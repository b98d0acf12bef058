"""The run service: every step of a run as a plain function over the run's services.

The services (store, provider, validator, call gate, sandbox, settlement board, prices) are
built once per run by ``open_run_services``; Dagster ops are thin wrappers over
``start_wave``, ``run_atom``, ``close_wave`` and ``finalize`` (``orchestration/ops.py``), and
any other scheduler would call the same functions, so no rule lives in an op.

Scheduling: every wave's fan-out runs right after prepare, and each atom step waits on the
settlement board — for its own dependencies (``dependencies``) or for the previous wave's close
(``waves``) — so the barrier is a choice, not the job's shape. The stop rule then means "start
no new call": the gate closes, atoms that have not called yet are skipped, calls in flight
finish and are recorded.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

from mge_pipeline.domain import AtomResult, AtomStatus, AttemptRecord, WaveSummary
from mge_pipeline.domain.evidence import carried_evidence
from mge_pipeline.domain.records import AtomResultRecord, Reservation
from mge_pipeline.execution.assembly import files_for_atom
from mge_pipeline.execution.batching import batch_provider
from mge_pipeline.execution.board import Settled, SettlementBoard
from mge_pipeline.execution.budget import PatientCostGuard
from mge_pipeline.execution.lifecycle import CancelProbe, RunWatch, watch_run
from mge_pipeline.execution.plan_bundle import PlanBundle
from mge_pipeline.execution.retry import AtomJob, CrossCheckSettings
from mge_pipeline.execution.retry import run_atom as run_retry_loop
from mge_pipeline.execution.root_cause import root_cause_atoms
from mge_pipeline.execution.run_context import RunContext, Scheduling
from mge_pipeline.execution.waves import (
    generation_success_rate,
    structural_failures,
    summarize_wave,
    wave_stop_reason,
)
from mge_pipeline.generation import LLMProvider, ModelPrice
from mge_pipeline.generation.pricing import PriceBook
from mge_pipeline.generation.prompts import DependencyContext, PromptBlock, system_blocks
from mge_pipeline.generation.rate_limit import CallGate
from mge_pipeline.store import AsyncStore, MgeStore
from mge_pipeline.store.review_repository import ReviewRepository
from mge_pipeline.validation import PythonSandbox
from mge_pipeline.validation.cross_check import CrossCheckMode
from mge_pipeline.validation.dispatch import AtomValidator, LanguageDispatchValidator
from mge_pipeline.validation.mutation import run_mutants


@dataclass
class StoreCostGuard:
    """The store's ledger as the retry loop's CostGuard for one execution."""

    store: AsyncStore
    execution_id: str

    async def reserve(self, *, atom_id: str, amount_usd: float) -> Reservation:
        return await self.store.reserve(
            execution_id=self.execution_id, atom_id=atom_id, amount_usd=amount_usd
        )

    async def settle(
        self, reservation: Reservation, *, actual_usd: float, attempt: AttemptRecord | None = None
    ) -> None:
        await self.store.settle(
            reservation, execution_id=self.execution_id, actual_usd=actual_usd, attempt=attempt
        )


@dataclass
class RunServices:
    """What every step of one run shares; built once per run worker by ``open_run_services``."""

    bundle: PlanBundle
    run: RunContext
    store: AsyncStore
    provider: LLMProvider
    validator: AtomValidator
    gate: CallGate
    sandbox: PythonSandbox
    board: SettlementBoard
    price: ModelPrice
    prices: PriceBook
    system_blocks: dict[str, tuple[PromptBlock, ...]]
    cost_guard: PatientCostGuard
    prior_attempts: dict[str, list[AttemptRecord]] = field(default_factory=dict)
    """A resumed execution's attempts so far, per atom: numbering and the attempt limit go on."""
    review_feedback: dict[str, str] = field(default_factory=dict)
    """Atoms a reviewer asked for again, with the feedback: never served from the cache."""
    furthest_wave: int = field(default=-1)
    finalizing: bool = field(default=False)
    """Set by finalize: requests are no longer read (the outcome is being written), but the
    heartbeat goes on, since finalize's checks can take longer than the loss window."""
    _watcher: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def execution_id(self) -> str:
        return self.run.execution_id

    @property
    def stop_reason(self) -> str | None:
        return self.board.stop_reason or self.gate.stop_reason

    def watch(self, cancel_probe: CancelProbe | None) -> None:
        """Start the heartbeat and the watch for pause and cancel requests (once; needs the
        run's event loop)."""
        if self._watcher is None:
            watch = RunWatch(
                cancel_probe=cancel_probe,
                pause_requested=lambda: self.store.pause_requested(self.execution_id),
                heartbeat=lambda: self.store.heartbeat(self.execution_id),
                stop=self.stop,
                stopped=lambda: self.stop_reason is not None or self.finalizing,
            )
            self._watcher = asyncio.get_running_loop().create_task(
                watch_run(watch), name=f"mge-run-watch-{self.execution_id}"
            )

    def stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()

    async def stop(self, reason: str) -> str:
        """Start no new call from now on, in this process and (through the store) all others."""
        reason = await self.store.set_stop_reason(self.execution_id, reason)
        self.board.stop(reason)
        self.gate.stop(reason)
        return reason


def open_run_services(
    bundle: PlanBundle,
    run: RunContext,
    *,
    store: MgeStore,
    provider: LLMProvider,
    sandbox: PythonSandbox,
    gate: CallGate,
) -> RunServices:
    settings = run.settings
    if settings.batch:
        provider = batch_provider(
            provider,
            store,
            poll_seconds=settings.batch_poll_seconds,
            gather_seconds=settings.batch_gather_seconds,
        )
    async_store = AsyncStore(store)
    board = SettlementBoard(async_store, run.execution_id)
    board.on_stop = gate.stop
    validator = LanguageDispatchValidator(
        sandbox,
        timeout_seconds=settings.validation_timeout_seconds,
        memory_mb=settings.validation_memory_mb,
        names_by_file=bundle.names_by_file,
    )
    blocks = {
        path: system_blocks(bundle.project_prompt, prompt, cache=settings.prompt_caching)
        for path, prompt in bundle.file_prompts.items()
    }
    return RunServices(
        bundle=bundle,
        run=run,
        store=async_store,
        provider=provider,
        validator=validator,
        gate=gate,
        sandbox=sandbox,
        board=board,
        price=settings.prices(provider.model).price(provider.model),
        prices=settings.prices(provider.model),
        system_blocks=blocks,
        cost_guard=PatientCostGuard(
            StoreCostGuard(async_store, run.execution_id), check_open=gate.check_open
        ),
        prior_attempts=_attempts_by_atom(store.attempts(run.execution_id)),
        review_feedback=ReviewRepository(store).regeneration_feedback_by_atom(bundle.plan.id),
    )


def _attempts_by_atom(attempts: list[AttemptRecord]) -> dict[str, list[AttemptRecord]]:
    found: dict[str, list[AttemptRecord]] = {}
    for attempt in attempts:
        found.setdefault(attempt.atom_id, []).append(attempt)
    return found


# How long a wave's fan-out waits for the previous wave's atom steps to start (see start_wave).
STEP_START_STAGGER_SECONDS = 2.0


async def start_wave(services: RunServices, wave_index: int) -> tuple[list[str], list[AtomResult]]:
    """Settle the wave's cached atoms (one query, one write).

    Returns the atoms that need a step, and the cached ones (for metrics). A wave's fan-out first
    lets the previous wave's atom steps start: without a barrier every step is ready at once,
    and starting 800 of them takes the loop seconds that wave 0's calls would otherwise wait
    behind. Starting a step takes milliseconds and a wave's calls take seconds, so this costs
    the critical path nothing; steps in other processes are not seen, hence the timeout.
    """
    if wave_index > 0:
        await services.board.wave_steps_started(
            wave_index - 1, timeout_seconds=STEP_START_STAGGER_SECONDS
        )
    bundle = services.bundle
    kept = await _validated_before(services, wave_index)
    atom_ids = [atom_id for atom_id in bundle.waves[wave_index] if atom_id not in kept]
    cached = (
        await services.store.cached_atoms_by_hash(
            bundle.spec_hashes[a] for a in atom_ids if a not in services.review_feedback
        )
        if services.run.settings.use_cache
        else {}
    )
    hits = [
        AtomResult(
            atom_id=atom_id,
            status=AtomStatus.CACHED,
            code=cached[bundle.spec_hashes[atom_id]].code,
            reason="validated code for this exact spec already stored",
            evidence=carried_evidence(
                cached[bundle.spec_hashes[atom_id]].evidence, bundle.atoms[atom_id].tests
            ),
            mutation=cached[bundle.spec_hashes[atom_id]].mutation,
        )
        for atom_id in atom_ids
        if bundle.spec_hashes[atom_id] in cached and atom_id not in services.review_feedback
    ]
    await services.store.record_atom_results(
        services.execution_id,
        wave_index=wave_index,
        entries=[(bundle.spec_hashes[r.atom_id], r) for r in hits],
    )
    for result in [*kept.values(), *hits]:
        services.board.settle(result.atom_id, result.status, result.code)
    settled = {r.atom_id for r in hits}
    to_generate = [atom_id for atom_id in atom_ids if atom_id not in settled]
    services.board.expect_steps(wave_index, len(to_generate))
    return to_generate, hits


async def _validated_before(services: RunServices, wave_index: int) -> dict[str, AtomResult]:
    """A resumed execution's atoms that already validated keep their result as it stands."""
    if not services.prior_attempts:
        return {}
    rows = await services.store.atom_results(
        services.execution_id, services.bundle.waves[wave_index]
    )
    return {
        row.atom_id: AtomResult(
            atom_id=row.atom_id,
            status=row.status,
            code=row.code,
            evidence=row.evidence,
            mutation=row.mutation,
        )
        for row in rows
        if row.validated
    }


async def run_atom(services: RunServices, atom_id: str) -> AtomResult:
    """Wait for what the atom needs, then skip, block or generate it; record the outcome.

    Whatever happens, the atom ends settled on the board: if this raises (a store outage, a
    bug), the atom is settled failed first, so its dependents are blocked instead of waiting
    for ever, and the error still fails the step.
    """
    services.board.step_started(services.bundle.wave_of[atom_id])
    try:
        return await _run_atom(services, atom_id)
    except BaseException:
        if atom_id not in services.board.known([atom_id]):
            services.board.settle(atom_id, AtomStatus.FAILED, None)
        raise


async def _run_atom(services: RunServices, atom_id: str) -> AtomResult:
    bundle = services.bundle
    wave_index = bundle.wave_of[atom_id]
    if services.run.settings.scheduling is Scheduling.WAVES and wave_index > 0:
        await services.board.wave_closed(wave_index - 1)
    direct = await services.board.outcomes(bundle.direct_dependencies(atom_id))
    result = settled_without_call(atom_id, direct, services.stop_reason)
    if result is None:
        result = await _generate(services, atom_id)
        if result.status is AtomStatus.SKIPPED and result.reason and not services.stop_reason:
            await services.stop(result.reason)  # budget or provider: no new call anywhere
    await services.store.record_atom_result(
        services.execution_id,
        wave_index=wave_index,
        spec_hash=bundle.spec_hashes[atom_id],
        result=result,
    )
    services.board.settle(atom_id, result.status, result.code)
    mutated = await _with_mutation(services, result)
    if mutated is not result:
        await services.store.record_atom_result(
            services.execution_id,
            wave_index=wave_index,
            spec_hash=bundle.spec_hashes[atom_id],
            result=mutated,
        )
    return mutated


def settled_without_call(
    atom_id: str, direct: dict[str, Settled], stop_reason: str | None
) -> AtomResult | None:
    """Skipped when the run stopped; blocked when a direct dependency did not validate."""
    if stop_reason:
        return AtomResult(atom_id=atom_id, status=AtomStatus.SKIPPED, reason=stop_reason)
    missing = [d for d, outcome in direct.items() if not outcome.validated]
    if missing:
        reason = "blocked by dependencies that did not validate: " + ", ".join(missing)
        return AtomResult(atom_id=atom_id, status=AtomStatus.BLOCKED, reason=reason)
    return None


async def _generate(
    services: RunServices,
    atom_id: str,
    *,
    plan_feedback: str | None = None,
    previous_attempts: list[AttemptRecord] | None = None,
) -> AtomResult:
    bundle = services.bundle
    settings = services.run.settings
    atom = bundle.atoms[atom_id]
    await _advance_wave(services, bundle.wave_of[atom_id])
    ancestors = await services.board.load(bundle.ancestors(atom_id))
    codes = {a: s.code for a, s in ancestors.items() if s.validated and s.code is not None}
    dependencies = [
        DependencyContext(bundle.atoms[d], codes[d])
        for d in bundle.direct_dependencies(atom_id)
        if d in codes
    ]

    async def record(attempt: AttemptRecord) -> None:
        await services.store.record_attempt(services.execution_id, attempt)

    job = AtomJob(
        atom=atom,
        provider=services.provider,
        validator=services.validator,
        cost_guard=services.cost_guard,
        price=services.price,
        prices=services.prices,
        files_for=lambda code: files_for_atom(
            atom_id, code, bundle.atoms, codes, bundle.graph, bundle.plan.project_files
        ),
        dependencies=dependencies,
        system_blocks=services.system_blocks[atom.file_path],
        dependency_token_budget=settings.dependency_token_budget,
        gate=services.gate,
        policy=settings.policy,
        on_attempt=record,
        rng=random.Random(f"{services.execution_id}:{atom_id}"),
        previous_attempts=previous_attempts
        if previous_attempts is not None
        else services.prior_attempts.get(atom_id, []),
        reviewer_feedback=services.review_feedback.get(atom_id),
        plan_feedback=plan_feedback,
        cross_check=None
        if settings.cross_check is CrossCheckMode.OFF
        or (settings.cross_check is CrossCheckMode.WEAK and settings.max_mutants == 0)
        else CrossCheckSettings(
            services.sandbox, mode=settings.cross_check, max_mutants=settings.max_mutants
        ),
    )
    return await run_retry_loop(job)


async def _root_causes(services: RunServices, rows: list[AtomResultRecord]) -> list[str]:
    """The failed atoms behind the wave's failed and blocked ones (for the stop reason)."""
    bundle = services.bundle
    blocked = [r.atom_id for r in rows if r.status is AtomStatus.BLOCKED]
    ancestors = sorted({a for atom_id in blocked for a in bundle.ancestors(atom_id)})
    known = await services.store.atom_results(services.execution_id, ancestors) if ancestors else []
    status_of = {record.atom_id: record.status for record in known}
    return root_cause_atoms(rows, bundle.ancestors, status_of)


async def _with_mutation(services: RunServices, result: AtomResult) -> AtomResult:
    """A validated atom whose tests ran gets its tests tried on a few mutants of its code.

    Run after the atom is settled, so its dependents never wait for its mutants — unless the
    retry loop already ran them to decide on a cross-check (then the result carries them)."""
    if result.status is not AtomStatus.SUCCEEDED or not result.evidence or result.code is None:
        return result
    if result.mutation is not None:
        return result
    bundle = services.bundle
    atom_id = result.atom_id
    ancestors = await services.board.load(bundle.ancestors(atom_id))
    codes = {a: s.code for a, s in ancestors.items() if s.validated and s.code is not None}
    outcome = await run_mutants(
        services.sandbox,
        bundle.atoms[atom_id],
        result.code,
        lambda code: files_for_atom(
            atom_id, code, bundle.atoms, codes, bundle.graph, bundle.plan.project_files
        ),
        limit=services.run.settings.max_mutants,
        background=True,
    )
    return result.model_copy(update={"mutation": outcome}) if outcome else result


async def regenerate_atom(
    services: RunServices, atom_id: str, feedback: str, attempts: list[AttemptRecord]
) -> AtomResult | None:
    """Generate a validated atom again because the plan's tests failed and it is suspected.

    Attempt numbering goes on from ``attempts``, so ``max_attempts`` and the budget bound it as
    any atom. Only a new validated answer is recorded (with its evidence and mutants); when
    none validates, the atom keeps its earlier result and None is returned."""
    if len(attempts) >= services.run.settings.policy.max_attempts:
        return None
    result = await _generate(services, atom_id, plan_feedback=feedback, previous_attempts=attempts)
    if result.status is not AtomStatus.SUCCEEDED:
        return None
    bundle = services.bundle
    services.board.settle(atom_id, result.status, result.code)
    result = await _with_mutation(services, result)
    await services.store.record_atom_result(
        services.execution_id,
        wave_index=bundle.wave_of[atom_id],
        spec_hash=bundle.spec_hashes[atom_id],
        result=result,
    )
    return result


async def _advance_wave(services: RunServices, wave_index: int) -> None:
    """The execution's current wave is the furthest one with a call under way."""
    if wave_index > services.furthest_wave:
        services.furthest_wave = wave_index
        await services.store.set_current_wave(services.execution_id, wave_index)


async def close_wave(
    services: RunServices, wave_index: int, started_at: float
) -> tuple[WaveSummary, list[AtomResultRecord]]:
    """Summarise the wave from the store and apply the stop rule to the rest of the run.

    The wave counts as closed on the board even when this raises, so that under ``waves``
    scheduling the next wave's atoms are released (and skipped, since the run then stops).
    """
    try:
        return await _close_wave(services, wave_index, started_at)
    except BaseException as exc:
        services.board.stop(f"wave {wave_index} could not be closed: {exc!r}")
        services.board.close_wave(wave_index)
        raise


async def _close_wave(
    services: RunServices, wave_index: int, started_at: float
) -> tuple[WaveSummary, list[AtomResultRecord]]:
    bundle = services.bundle
    rows = await services.store.atom_results(services.execution_id, bundle.waves[wave_index])
    summary = summarize_wave(
        wave_index, len(bundle.waves[wave_index]), rows, time.time() - started_at
    )
    await services.store.record_wave(services.execution_id, summary)
    if services.stop_reason is None:
        skip_reasons = sorted(r.reason or "" for r in rows if r.status is AtomStatus.SKIPPED)
        structural = (
            structural_failures(rows, await services.store.attempts(services.execution_id))
            if summary.failed
            else 0
        )
        reason = wave_stop_reason(
            wave_index,
            generation_success_rate(summary, structural),
            services.run.settings.wave_stop_threshold,
            skip_reasons[0] if skip_reasons else None,
            root_causes=await _root_causes(services, rows),
        )
        if reason:
            await services.stop(reason)
    services.board.close_wave(wave_index)
    return summary, rows
