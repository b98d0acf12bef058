"""The retry orchestrator: generate → validate → feed errors back, up to four attempts.

Two kinds of retry live here and must not be confused. A *generation attempt* is a new answer
with the next step of the attempt schedule (a lower temperature, or another model or effort) and
the previous validation errors in the prompt; there are at most
``max_attempts`` of them and they never wait. An *API retry* repeats the same request after
a transport error, 408, 409, 429 or 5xx (or when ``x-should-retry`` says so), with exponential
backoff (1 s, 2 s, 4 s plus jitter) or exactly the server's ``retry-after``; it does not consume
a generation attempt. Every such retry is logged with its reason.

A passing answer of a weakly tested atom is cross-checked before it counts
(``validation/cross_check.py``): independent samples of the same atom are drawn, paid and
booked like any call, and folded into the attempt's record (its cost and tokens include them,
a warning line says what they showed); they are never attempts of their own. An answer the
majority of samples disagrees with fails its attempt with that disagreement as feedback.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, replace

from mge_pipeline.domain import (
    AtomResult,
    AtomSpec,
    AtomStatus,
    AttemptRecord,
    ErrorCategory,
    EvidenceKind,
    MutationOutcome,
    ValidationIssue,
    ValidationVerdict,
)
from mge_pipeline.domain.evidence import normalize_evidence
from mge_pipeline.domain.records import Reservation
from mge_pipeline.exceptions import (
    BudgetExceededError,
    MgeError,
    ProviderError,
    ProviderFatalError,
    RunStoppedError,
)
from mge_pipeline.execution.budget import CostGuard, output_token_cap
from mge_pipeline.execution.cross_check_note import read_notes, write_note
from mge_pipeline.generation import (
    SYSTEM_PROMPT,
    GenerationRequest,
    GenerationResponse,
    LLMProvider,
    ModelPrice,
    build_prompt,
    call_cost,
    extract_code,
    worst_case_cost,
)
from mge_pipeline.generation.pricing import PriceBook, estimate_tokens
from mge_pipeline.generation.prompts import (
    DEFAULT_DEPENDENCY_TOKEN_BUDGET,
    DependencyContext,
    PromptBlock,
)
from mge_pipeline.generation.rate_limit import CallGate
from mge_pipeline.generation.schedule import (
    AttemptSchedule,
    AttemptStep,
    accepts_temperature,
    default_schedule,
)
from mge_pipeline.validation.autofix import auto_fix
from mge_pipeline.validation.cross_check import (
    CrossCheckMode,
    CrossCheckResult,
    CrossCheckStatus,
    applicable,
    cross_check,
    weak_spot,
)
from mge_pipeline.validation.dispatch import AtomValidator
from mge_pipeline.validation.mutation import run_mutants
from mge_pipeline.validation.sandbox import PythonSandbox

logger = logging.getLogger(__name__)

# How far an attempt got, for keeping the best failed attempt: higher is closer to passing.
_PROGRESS: dict[ErrorCategory | None, int] = {
    ErrorCategory.LOGIC: 6,
    ErrorCategory.TYPE: 5,
    ErrorCategory.RUNTIME: 5,
    ErrorCategory.IMPORT: 4,
    ErrorCategory.TIMEOUT: 3,
    ErrorCategory.CONTEXT: 2,
    ErrorCategory.SYNTAX: 1,
}


# The feedback for an answer cut off at its output cap; the next attempt gets twice the cap.
CUT_OFF_MESSAGE = "the answer was cut off at max_tokens; write shorter code with no commentary"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    temperatures: tuple[float, ...] = (0.7, 0.5, 0.3, 0.3)
    max_api_retries: int = 3
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    jitter_fraction: float = 0.25
    attempt_timeout_seconds: float = 120.0
    max_tokens: int = 2048

    schedule: AttemptSchedule | None = None
    """``None``: the default for the provider's model (``default_schedule``)."""

    def temperature(self, attempt_number: int) -> float:
        return self.temperatures[min(attempt_number, len(self.temperatures)) - 1]

    def schedule_for(self, model: str) -> AttemptSchedule:
        return self.schedule or default_schedule(model, self.temperatures)

    def step(self, attempt_number: int, model: str) -> AttemptStep:
        return self.schedule_for(model).step(attempt_number)

    def backoff_seconds(
        self, retry_index: int, rng: random.Random, retry_after: float | None
    ) -> float:
        """The server's ``retry-after`` when it sent one (as the SDK does), else 1 s, 2 s, 4 s …
        plus up to 25 % jitter."""
        if retry_after is not None and retry_after > 0:
            return retry_after
        growth = float(2**retry_index)
        base = min(self.backoff_base_seconds * growth, self.backoff_max_seconds)
        return base * (1 + self.jitter_fraction * rng.random())


AttemptCallback = Callable[[AttemptRecord], Awaitable[None]]
FilesForCode = Callable[[str], dict[str, str]]


@dataclass(frozen=True)
class CrossCheckSettings:
    """How a passing answer is cross-checked before it counts (``None`` on the job: never)."""

    sandbox: PythonSandbox
    mode: CrossCheckMode = CrossCheckMode.WEAK
    max_mutants: int = 4
    """Mutants run on the passing answer first: in ``weak`` mode a survivor is what asks for
    the cross-check; the outcome is the atom's mutation result (not run again after it
    settles). 0: no mutation, so ``weak`` checks nothing."""


@dataclass
class AtomJob:
    """Everything one atom's loop needs; the op builds it, tests build it by hand."""

    atom: AtomSpec
    provider: LLMProvider
    validator: AtomValidator
    cost_guard: CostGuard
    price: ModelPrice
    files_for: FilesForCode
    dependencies: Sequence[DependencyContext] = ()
    system_blocks: tuple[PromptBlock, ...] = (PromptBlock(SYSTEM_PROMPT),)
    dependency_token_budget: int = DEFAULT_DEPENDENCY_TOKEN_BUDGET
    gate: CallGate | None = None
    policy: RetryPolicy = RetryPolicy()
    prices: PriceBook | None = None
    """Per-model prices when the schedule changes model; ``None`` prices every call at ``price``."""
    on_attempt: AttemptCallback | None = None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rng: random.Random | None = None
    previous_attempts: Sequence[AttemptRecord] = ()
    """Attempts a resumed execution already made: the loop goes on from the next number."""
    reviewer_feedback: str | None = None
    """Set when a reviewer asked for this atom again (``mge review regenerate``)."""
    plan_feedback: str | None = None
    """Set when the plan's tests failed on the assembled code and this atom is suspected: the
    failing output is the first attempt's feedback (``execution/repair.py``)."""
    cross_check: CrossCheckSettings | None = None


@dataclass(frozen=True)
class _Call:
    response: GenerationResponse | None
    cost_usd: float
    cost_without_cache_usd: float
    api_retries: int
    error: str | None
    reservation: Reservation | None = None
    """Held until the attempt is recorded: settling and recording are one store transaction."""


async def run_atom(job: AtomJob) -> AtomResult:
    """Attempts until one validates; a refusal ends the loop, and so does a stop.

    A stop is the budget refusing a reservation, the provider refusing the run (bad key,
    bad request, spend limit) or the run's gate closed by the stop rule: the atom is
    ``skipped`` with the reason, which the wave close turns into the run's stop reason, so the
    run ends with its report written. Every attempt is recorded (``on_attempt``, or with the
    settlement of its call) before the next one starts.
    """
    attempts: list[AttemptRecord] = list(job.previous_attempts)
    feedback: Sequence[ValidationIssue] = _feedback(attempts[-1]) if attempts else ()
    if job.plan_feedback:
        message = f"the plan's tests failed on the assembled code: {job.plan_feedback}"
        feedback = [ValidationIssue(category=ErrorCategory.LOGIC, message=message)]
    resumed = await _resumed_answer(job, attempts)
    if resumed is not None:
        return resumed
    rng = job.rng or random.Random(job.atom.id)
    cut_offs = sum(a.errors == [CUT_OFF_MESSAGE] for a in attempts)
    for number in range(len(attempts) + 1, job.policy.max_attempts + 1):
        try:
            record, code, refusal, evidence, mutation = await _attempt(
                job, number, feedback, rng, cut_offs
            )
        except BudgetExceededError as exc:
            return _final(job.atom, attempts, AtomStatus.SKIPPED, str(exc))
        except ProviderFatalError as exc:
            reason = f"the LLM provider cannot serve this run: {exc}"
            return _final(job.atom, attempts, AtomStatus.SKIPPED, reason)
        except RunStoppedError as exc:
            return _final(job.atom, attempts, AtomStatus.SKIPPED, str(exc))
        attempts.append(record)
        cut_offs += record.errors == [CUT_OFF_MESSAGE]
        if record.passed:
            return AtomResult(
                atom_id=job.atom.id,
                status=AtomStatus.SUCCEEDED,
                code=code,
                attempts=attempts,
                evidence=evidence,
                mutation=mutation,
            )
        if refusal:
            return _final(job.atom, attempts, AtomStatus.FAILED, refusal)
        feedback = _feedback(record)
    reason = f"no attempt validated in {len(attempts)} attempts"
    return _final(job.atom, attempts, AtomStatus.FAILED, reason)


async def _resumed_answer(job: AtomJob, attempts: list[AttemptRecord]) -> AtomResult | None:
    """The answer of a passed attempt whose atom result was never stored, checked again.

    A worker can die after an attempt passed and was recorded but before the atom's result was
    (the mutants and the cross-check run in between). The resumed run must not pay for the atom
    again: the recorded code is validated again, for free, and stands if it still passes. A
    repair or a reviewer's feedback asks for new code, so it is always generated."""
    last = attempts[-1] if attempts else None
    if last is None or not last.passed or last.code is None:
        return None
    if job.plan_feedback or job.reviewer_feedback:
        return None
    try:
        verdict = await job.validator.validate(job.atom, last.code, job.files_for(last.code))
    except (MgeError, OSError) as exc:
        logger.warning(
            "atom %s: the resumed answer could not be checked again: %s", job.atom.id, exc
        )
        return None
    if not verdict.passed:
        return None
    evidence = verdict.evidence
    if any(note.status == "agreed" for note in read_notes(last.warnings)):
        evidence = normalize_evidence([*evidence, EvidenceKind.CROSS_CHECK])
    return AtomResult(
        atom_id=job.atom.id,
        status=AtomStatus.SUCCEEDED,
        code=last.code,
        attempts=attempts,
        evidence=evidence,
    )


def _feedback(record: AttemptRecord) -> list[ValidationIssue]:
    category = record.error_category or ErrorCategory.LOGIC
    return [ValidationIssue(category=category, message=m) for m in record.errors]


async def _attempt(
    job: AtomJob,
    number: int,
    feedback: Sequence[ValidationIssue],
    rng: random.Random,
    cut_offs: int,
) -> tuple[AttemptRecord, str | None, str | None, tuple[EvidenceKind, ...], MutationOutcome | None]:
    started = time.perf_counter()
    step = job.policy.step(number, job.provider.model)
    model = step.model or job.provider.model
    temperature = step.temperature if accepts_temperature(model) else None
    prompt = build_prompt(
        job.atom,
        dependencies=job.dependencies,
        feedback=feedback,
        dependency_token_budget=job.dependency_token_budget,
        reviewer_feedback=job.reviewer_feedback,
    )
    request = GenerationRequest(
        atom=job.atom,
        system_blocks=job.system_blocks,
        prompt=prompt,
        temperature=temperature,
        max_tokens=output_token_cap(
            job.atom, max_tokens=job.policy.max_tokens, cut_offs=cut_offs, effort=step.effort
        ),
        attempt_number=number,
        model=model,
        effort=step.effort,
    )
    call = await _call_with_api_retries(job, request, rng)
    mutation = None
    reservation = call.reservation
    try:
        record, code, refusal, evidence = await _judge(job, call, request, started)
        if record.passed and code is not None and job.cross_check is not None:
            # The answer's call is over: its reservation is booked now, not held while the
            # samples wait for theirs (atoms holding budget while waiting for budget would
            # wait for each other forever when the budget runs short).
            if reservation is not None:
                await job.cost_guard.settle(reservation, actual_usd=call.cost_usd)
                reservation = None
            record, evidence, mutation = await _cross_checked(
                job, job.cross_check, request, record, code, evidence, rng, started
            )
    except BaseException:
        if reservation is not None:  # never leave budget held by an attempt that died
            await job.cost_guard.settle(reservation, actual_usd=call.cost_usd)
        raise
    if reservation is not None:
        await job.cost_guard.settle(reservation, actual_usd=call.cost_usd, attempt=record)
    elif job.on_attempt is not None:
        await job.on_attempt(record)
    return record, code, refusal, evidence, mutation


async def _cross_checked(
    job: AtomJob,
    settings: CrossCheckSettings,
    request: GenerationRequest,
    record: AttemptRecord,
    code: str,
    evidence: tuple[EvidenceKind, ...],
    rng: random.Random,
    started: float,
) -> tuple[AttemptRecord, tuple[EvidenceKind, ...], MutationOutcome | None]:
    """Mutants first (do the tests pin the answer down?), then, for a weakly tested answer (or
    every one in ``all`` mode), the cross-check; the record gains the samples' cost and tokens
    and a warning line that says what they showed, or fails with the disagreement."""
    mutation = None
    if settings.max_mutants > 0 and evidence:
        try:
            mutation = await run_mutants(
                settings.sandbox, job.atom, code, job.files_for, limit=settings.max_mutants
            )
        except (MgeError, OSError) as exc:  # the sandbox failed, not the code: no signal
            logger.warning("atom %s: mutants could not run: %s", job.atom.id, exc)
    if settings.mode is CrossCheckMode.OFF or not evidence or not applicable(job.atom, code):
        return record, evidence, mutation
    reason = "every tested function atom is cross-checked"
    if settings.mode is CrossCheckMode.WEAK:
        try:
            survivor = await weak_spot(settings.sandbox, job.atom, code, job.files_for, mutation)
        except (MgeError, OSError) as exc:
            logger.warning("atom %s: the weakness probe could not run: %s", job.atom.id, exc)
            survivor = None
        if survivor is None:
            return record, evidence, mutation
        reason = f"its tests let a mutant survive: {survivor}"
    calls: list[_Call] = []

    async def draw(sample: int) -> str | None:
        """The sample-th independent answer: the same prompt without validation feedback, its
        own draw; its code if it passes the atom's own validation."""
        prompt = build_prompt(
            job.atom,
            dependencies=job.dependencies,
            dependency_token_budget=job.dependency_token_budget,
            reviewer_feedback=job.reviewer_feedback,
        )
        note = f"(Independent implementation {sample}: write it as if no other answer existed.)"
        asked = replace(request, prompt=f"{prompt}\n\n{note}", sample=sample)
        call = await _call_with_api_retries(job, asked, rng)
        if call.reservation is not None:
            await job.cost_guard.settle(call.reservation, actual_usd=call.cost_usd)
        calls.append(call)
        if call.response is None:
            return None
        sample_code, verdict, _ = await _check_answer(job, call.response)
        return sample_code if verdict.passed else None

    try:
        result = await cross_check(settings.sandbox, job.atom, code, job.files_for, draw)
    except (BudgetExceededError, RunStoppedError, ProviderFatalError) as exc:
        why = f"no independent sample could be drawn: {exc}"
        result = CrossCheckResult(CrossCheckStatus.INCONCLUSIVE, why)
    except (MgeError, OSError) as exc:
        why = f"the sandbox could not run the cross-check: {exc}"
        result = CrossCheckResult(CrossCheckStatus.INCONCLUSIVE, why)
    return (
        _with_samples(record, result, calls, started, reason),
        _evidence_after(result, evidence),
        mutation,
    )


def _evidence_after(
    result: CrossCheckResult, evidence: tuple[EvidenceKind, ...]
) -> tuple[EvidenceKind, ...]:
    if result.status is CrossCheckStatus.REJECTED:
        return ()
    if result.status is CrossCheckStatus.AGREED:
        return normalize_evidence([*evidence, EvidenceKind.CROSS_CHECK])
    return evidence


def _with_samples(
    record: AttemptRecord,
    result: CrossCheckResult,
    calls: Sequence[_Call],
    started: float,
    reason: str,
) -> AttemptRecord:
    """The attempt's record with its cross-check: cost, tokens and API retries of the sample
    calls added (the ledger booked each call on its own), a warning line, and for a rejected
    answer the failure with the disagreement as the next attempt's feedback."""
    responses = [c.response for c in calls if c.response is not None]
    cost = sum(c.cost_usd for c in calls)
    note = write_note(result.status.value, result.message, len(calls), cost, reason)
    update: dict[str, object] = {
        "cost_usd": record.cost_usd + cost,
        "cost_without_cache_usd": record.cost_without_cache_usd
        + sum(c.cost_without_cache_usd for c in calls),
        "prompt_tokens": record.prompt_tokens + sum(r.input_tokens for r in responses),
        "response_tokens": record.response_tokens + sum(r.output_tokens for r in responses),
        "cache_read_tokens": record.cache_read_tokens + sum(r.cache_read_tokens for r in responses),
        "cache_write_tokens": record.cache_write_tokens
        + sum(r.cache_write_tokens + r.cache_write_1h_tokens for r in responses),
        "api_retries": record.api_retries + sum(c.api_retries for c in calls),
        "duration_seconds": time.perf_counter() - started,
        "warnings": [*record.warnings, note],
    }
    if result.status is CrossCheckStatus.REJECTED:
        update |= {"passed": False, "error_category": ErrorCategory.LOGIC,
                   "errors": [result.message]}  # fmt: skip
    return record.model_copy(update=update)


async def _judge(
    job: AtomJob, call: _Call, request: GenerationRequest, started: float
) -> tuple[AttemptRecord, str | None, str | None, tuple[EvidenceKind, ...]]:
    code: str | None = None
    refusal: str | None = None
    fixes: list[str] = []
    if call.response is None:
        verdict = _failed(ErrorCategory.API, call.error or "the API call failed")
    else:
        refusal = call.response.refusal
        code, verdict, fixes = await _check_answer(job, call.response)
    response = call.response
    record = AttemptRecord(
        atom_id=job.atom.id,
        attempt_number=request.attempt_number,
        temperature=request.temperature,
        model=response.model if response else (request.model or job.provider.model),
        effort=request.effort,
        prompt_tokens=response.input_tokens if response else 0,
        response_tokens=response.output_tokens if response else 0,
        cache_read_tokens=response.cache_read_tokens if response else 0,
        cache_write_tokens=(
            response.cache_write_tokens + response.cache_write_1h_tokens if response else 0
        ),
        cost_usd=call.cost_usd,
        cost_without_cache_usd=call.cost_without_cache_usd,
        duration_seconds=time.perf_counter() - started,
        api_retries=call.api_retries,
        passed=verdict.passed,
        error_category=verdict.category,
        errors=[issue.message for issue in verdict.issues],
        code=code,
        auto_fixes=fixes,
        warnings=[issue.message for issue in verdict.warnings],
    )
    return record, code, refusal, verdict.evidence if verdict.passed else ()


async def _check_answer(
    job: AtomJob, response: GenerationResponse
) -> tuple[str | None, ValidationVerdict, list[str]]:
    """Extract, apply the certain auto-fixes (recorded, no new call spent on them), validate."""
    if response.refusal:
        return None, _failed(ErrorCategory.NO_CODE, response.refusal), []
    if response.stop_reason == "max_tokens":
        return None, _failed(ErrorCategory.NO_CODE, CUT_OFF_MESSAGE), []
    extracted = extract_code(response.text, job.atom)
    if extracted.code is None:
        problem = extracted.problem or "no code in the answer"
        return None, _failed(ErrorCategory.NO_CODE, problem), []
    files = job.files_for(extracted.code)
    fixed = auto_fix(job.atom, extracted.code, files.get(job.atom.file_path))
    if fixed.code != extracted.code:
        files = job.files_for(fixed.code)
    try:
        verdict = await job.validator.validate(job.atom, fixed.code, files)
    except (MgeError, OSError) as exc:
        # The sandbox, not the code, failed: a failed attempt that says so, never a crash.
        message = f"the sandbox could not run the check: {exc}"
        return fixed.code, _failed(ErrorCategory.UNAVAILABLE, message), fixed.fixes
    return fixed.code, verdict, fixed.fixes


async def _call_with_api_retries(
    job: AtomJob, request: GenerationRequest, rng: random.Random
) -> _Call:
    """Gate, reserve, call; transient errors wait and repeat, fatal ones propagate.

    The gate comes before the reservation so that waiting for a rate-limit slot never holds
    budget that other atoms could use. A successful call's reservation is handed back
    unsettled: the caller settles it together with the attempt's record.
    """
    prompt_tokens = estimate_tokens(request.system) + estimate_tokens(request.prompt)
    price = _price(job, request.model or job.provider.model)
    worst = worst_case_cost(price, prompt_tokens=prompt_tokens, max_tokens=request.max_tokens)
    last_error = ""
    for retry in range(job.policy.max_api_retries + 1):
        if job.gate is not None:
            job.gate.check_open()
        reservation = None
        try:
            async with _slot(job.gate, prompt_tokens):
                reservation = await job.cost_guard.reserve(atom_id=job.atom.id, amount_usd=worst)
                response = await asyncio.wait_for(
                    job.provider.generate(request), job.policy.attempt_timeout_seconds
                )
        except ProviderFatalError as exc:
            await _release(job, reservation)
            if job.gate is not None:
                job.gate.failed_for_good(exc)
            raise
        except (ProviderError, TimeoutError) as exc:
            await _release(job, reservation)
            last_error = str(exc) or f"no answer within {job.policy.attempt_timeout_seconds}s"
            retry_after = exc.retry_after if isinstance(exc, ProviderError) else None
            if job.gate is not None and isinstance(exc, ProviderError) and exc.rate_limited:
                job.gate.rate_limited(retry_after)
            if retry < job.policy.max_api_retries:
                delay = job.policy.backoff_seconds(retry, rng, retry_after)
                _log_retry(request, retry + 1, job.policy.max_api_retries, delay, last_error)
                await job.sleep(delay)
            continue
        except BaseException:
            await _release(job, reservation)
            raise
        cost, uncached = _costs(price, response)
        if job.gate is not None:
            job.gate.succeeded()
        return _Call(response, cost, uncached, retry, None, reservation)
    message = f"API failed after {job.policy.max_api_retries} retries: {last_error}"
    return _Call(None, 0.0, 0.0, job.policy.max_api_retries, message)


def _price(job: AtomJob, model: str) -> ModelPrice:
    return job.prices.price(model) if job.prices is not None else job.price


def _log_retry(
    request: GenerationRequest, number: int, allowed: int, delay: float, why: str
) -> None:
    """Every API retry says which atom, which call, how long it waits and why."""
    logger.warning(
        "atom %s attempt %d: API retry %d of %d in %.1f s: %s",
        request.atom.id,
        request.attempt_number,
        number,
        allowed,
        delay,
        why,
    )


def _slot(gate: CallGate | None, tokens: int) -> AbstractAsyncContextManager[None]:
    return gate.call_slot(tokens) if gate is not None else nullcontext()


async def _release(job: AtomJob, reservation: Reservation | None) -> None:
    """A call that produced nothing costs nothing: its reservation is released."""
    if reservation is not None:
        await job.cost_guard.settle(reservation, actual_usd=0.0)


def _costs(price: ModelPrice, response: GenerationResponse) -> tuple[float, float]:
    """What the call cost, and what it would have cost with every prompt token at full price."""
    cost = call_cost(
        price,
        input_tokens=response.input_tokens,
        output_tokens=response.output_tokens,
        cache_write_tokens=response.cache_write_tokens,
        cache_write_1h_tokens=response.cache_write_1h_tokens,
        cache_read_tokens=response.cache_read_tokens,
    )
    all_input = (
        response.input_tokens
        + response.cache_write_tokens
        + response.cache_write_1h_tokens
        + response.cache_read_tokens
    )
    uncached = call_cost(price, input_tokens=all_input, output_tokens=response.output_tokens)
    return cost, uncached


def _failed(category: ErrorCategory, message: str) -> ValidationVerdict:
    return ValidationVerdict(
        passed=False, issues=[ValidationIssue(category=category, message=message)]
    )


def _final(
    atom: AtomSpec, attempts: list[AttemptRecord], status: AtomStatus, reason: str
) -> AtomResult:
    """Failed atoms keep their best attempt's code, for review."""
    best = max(
        attempts, key=lambda a: (_PROGRESS.get(a.error_category, 0), a.attempt_number), default=None
    )
    return AtomResult(
        atom_id=atom.id,
        status=status,
        code=best.code if best else None,
        attempts=attempts,
        reason=reason,
    )
