"""The retry loop on its own: temperatures, feedback, early exit, API backoff, budget, refusals."""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from mge_pipeline.domain import (
    AtomSpec,
    AtomStatus,
    AttemptRecord,
    ErrorCategory,
    ValidationIssue,
    ValidationVerdict,
)
from mge_pipeline.exceptions import ProviderError, ProviderFatalError, SandboxUnavailableError
from mge_pipeline.execution import AtomJob, InMemoryCostGuard, RetryPolicy, run_atom
from mge_pipeline.execution.retry import CUT_OFF_MESSAGE
from mge_pipeline.generation import GenerationRequest, GenerationResponse, price_for
from mge_pipeline.generation.rate_limit import CallGate
from mge_pipeline_tests.factories import make_atom

GOOD = "def add(a: int, b: int) -> int:\n    return a + b\n"
BAD = "def add(a: int, b: int) -> int:\n    return a - b\n"


@dataclass
class ScriptedProvider:
    """Answers from a script: a code string, an exception to raise, or a full response."""

    script: list[object]
    requests: list[GenerationRequest] = field(default_factory=list)
    name: str = "scripted"
    model: str = "claude-sonnet-4-5"

    async def generate(self, request: GenerationRequest) -> GenerationResponse:
        self.requests.append(request)
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, GenerationResponse):
            return step
        return GenerationResponse(
            text=f"```python\n{step}```", input_tokens=1000, output_tokens=100, model=self.model
        )


class CodeValidator:
    """Passes exactly the GOOD code; reports a logic error naming the attempt otherwise."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def validate(self, atom: AtomSpec, code: str, files: dict[str, str]) -> ValidationVerdict:
        self.seen.append(code)
        if code == GOOD:
            return ValidationVerdict(passed=True)
        try:
            ast.parse(code)
        except SyntaxError:
            return ValidationVerdict(
                passed=False, issues=[ValidationIssue(category=ErrorCategory.SYNTAX, message="bad")]
            )
        issue = ValidationIssue(
            category=ErrorCategory.LOGIC, message=f"add(1, 2) != 3 (try {len(self.seen)})"
        )
        return ValidationVerdict(passed=False, issues=[issue])


@dataclass
class Sleeps:
    calls: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def _run(
    script: Sequence[object],
    *,
    budget: float = 100.0,
    policy: RetryPolicy | None = None,
    atom: AtomSpec | None = None,
) -> tuple:  # type: ignore[type-arg]
    provider = ScriptedProvider(list(script))
    validator = CodeValidator()
    sleeps = Sleeps()
    guard = InMemoryCostGuard(budget)
    job = AtomJob(
        atom=atom or make_atom(id="add"),
        provider=provider,
        validator=validator,
        cost_guard=guard,
        price=price_for("claude-sonnet-4-5"),
        files_for=lambda code: {"pkg/core.py": code},
        policy=policy or RetryPolicy(),
        sleep=sleeps,
    )
    result = asyncio.run(run_atom(job))
    return result, provider, validator, sleeps, guard


def test_first_good_answer_stops_the_loop() -> None:
    result, provider, _, sleeps, _ = _run([GOOD, GOOD])
    assert result.status is AtomStatus.SUCCEEDED and result.code == GOOD
    assert len(result.attempts) == 1 and len(provider.requests) == 1
    assert sleeps.calls == []


def test_temperatures_step_down_and_errors_are_fed_back() -> None:
    result, provider, _, sleeps, _ = _run([BAD, BAD, BAD, GOOD])
    assert result.status is AtomStatus.SUCCEEDED
    assert [r.temperature for r in provider.requests] == [0.7, 0.5, 0.3, 0.3]
    assert "failed validation" not in provider.requests[0].prompt
    assert "add(1, 2) != 3 (try 1)" in provider.requests[1].prompt
    assert "add(1, 2) != 3 (try 3)" in provider.requests[3].prompt
    assert [a.attempt_number for a in result.attempts] == [1, 2, 3, 4]
    assert [a.passed for a in result.attempts] == [False, False, False, True]
    assert sleeps.calls == [], "validation failures never wait"


def test_four_failures_mark_the_atom_failed_and_keep_the_best_attempt() -> None:
    syntax = "def add(a, b)\n"
    result, *_ = _run([syntax, BAD, syntax, syntax], policy=RetryPolicy())
    assert result.status is AtomStatus.FAILED
    assert len(result.attempts) == 4
    assert result.code == BAD, "the logic failure got further than the syntax errors"


def test_api_errors_back_off_without_consuming_attempts() -> None:
    script = [ProviderError("overloaded"), ProviderError("429", retry_after=7.0), GOOD]
    result, provider, _, sleeps, _ = _run(script)
    assert result.status is AtomStatus.SUCCEEDED
    assert len(result.attempts) == 1 and result.attempts[0].api_retries == 2
    assert len(provider.requests) == 3
    assert 1.0 <= sleeps.calls[0] <= 1.25
    assert sleeps.calls[1] == 7.0, "retry-after wins over a shorter backoff"


def test_backoff_doubles_with_jitter() -> None:
    policy = RetryPolicy(max_api_retries=3)
    script = [ProviderError("500")] * 3 + [GOOD]
    _, _, _, sleeps, _ = _run(script, policy=policy)
    assert len(sleeps.calls) == 3
    for base, delay in zip((1.0, 2.0, 4.0), sleeps.calls, strict=True):
        assert base <= delay <= base * 1.25


def test_exhausted_api_retries_fail_the_attempt_then_the_next_attempt_runs() -> None:
    policy = RetryPolicy(max_api_retries=1)
    result, *_ = _run([ProviderError("500"), ProviderError("500"), GOOD], policy=policy)
    assert result.status is AtomStatus.SUCCEEDED
    assert result.attempts[0].error_category is ErrorCategory.API
    assert len(result.attempts) == 2


def test_fatal_provider_errors_skip_the_atom_and_release_the_reservation() -> None:
    provider = ScriptedProvider([ProviderFatalError("invalid x-api-key")])
    guard = InMemoryCostGuard(10.0)
    job = AtomJob(
        atom=make_atom(id="add"),
        provider=provider,
        validator=CodeValidator(),
        cost_guard=guard,
        price=price_for("claude-sonnet-4-5"),
        files_for=lambda code: {},
        sleep=Sleeps(),
    )
    result = asyncio.run(run_atom(job))
    assert result.status is AtomStatus.SKIPPED
    assert result.reason == "the LLM provider cannot serve this run: invalid x-api-key"
    assert provider.script == [], "no second call"
    assert guard.reserved_usd == 0 and guard.spent_usd == 0


def test_budget_reached_skips_the_atom_and_keeps_its_attempts() -> None:
    # A call reserves its prompt plus its output cap (500 tokens for a 10-line atom at $15/Mtok,
    # ≈ $0.0075, plus the prompt at $3/Mtok), so once the first call's $0.0045 is spent the
    # second one no longer fits in $0.010, and nothing in flight could free more.
    result, provider, _, _, guard = _run([BAD, GOOD], budget=0.010)
    assert provider.requests[0].max_tokens == 500
    assert result.status is AtomStatus.SKIPPED
    assert result.reason is not None
    assert result.reason.startswith("cost budget of $0.01 cannot cover the next call (up to $0.00")
    assert result.reason.endswith(
        "): $0.0045 spent, nothing in flight, $0.0055 left; no new LLM calls were started"
    )
    assert len(result.attempts) == 1 and len(provider.requests) == 1
    assert guard.spent_usd <= 0.010 and guard.reserved_usd == pytest.approx(0)


def test_the_output_cap_is_sent_as_max_tokens_and_doubles_after_a_cut_off() -> None:
    cut = GenerationResponse(
        text="```python\ndef add(a, b):", input_tokens=1000, output_tokens=500,
        model="claude-sonnet-4-5", stop_reason="max_tokens",
    )  # fmt: skip
    result, provider, _, _, _ = _run([cut, BAD, GOOD], policy=RetryPolicy(max_tokens=1200))
    assert result.status is AtomStatus.SUCCEEDED
    assert [r.max_tokens for r in provider.requests] == [500, 1000, 1000]
    assert result.attempts[0].errors == [CUT_OFF_MESSAGE]
    big = make_atom(id="add", estimated_loc=100)
    _, provider, _, _, _ = _run([GOOD], atom=big)
    assert provider.requests[0].max_tokens == 2048, "never above the run's max_tokens"


def test_cost_is_settled_from_usage() -> None:
    result, _, _, _, guard = _run([GOOD])
    assert result.attempts[0].cost_usd == pytest.approx((1000 * 3 + 100 * 15) / 1e6)
    assert guard.spent_usd == pytest.approx(result.cost_usd)


def test_refusal_stops_retrying() -> None:
    refusal = GenerationResponse(
        text="no reference",
        input_tokens=10,
        output_tokens=5,
        model="sim",
        refusal="a real model is needed",
    )
    result, provider, *_ = _run([refusal, GOOD])
    assert result.status is AtomStatus.FAILED
    assert result.reason == "a real model is needed"
    assert len(provider.requests) == 1


def test_truncated_answer_is_a_failed_attempt_with_feedback() -> None:
    cut = GenerationResponse(
        text="```python\ndef add(a, b):\n    return",
        input_tokens=10,
        output_tokens=2048,
        model="m",
        stop_reason="max_tokens",
    )
    result, provider, *_ = _run([cut, GOOD])
    assert result.status is AtomStatus.SUCCEEDED
    assert result.attempts[0].error_category is ErrorCategory.NO_CODE
    assert "cut off at max_tokens" in provider.requests[1].prompt


class BrokenSandbox:
    """The sandbox itself fails (its parent died, isolation cannot be set up)."""

    async def validate(self, atom: AtomSpec, code: str, files: dict[str, str]) -> ValidationVerdict:
        raise SandboxUnavailableError("the sandbox parent died")


def test_a_sandbox_failure_is_a_failed_attempt_not_a_crash() -> None:
    guard = InMemoryCostGuard(100.0)
    job = AtomJob(
        atom=make_atom(id="add"),
        provider=ScriptedProvider([GOOD, GOOD]),
        validator=BrokenSandbox(),
        cost_guard=guard,
        price=price_for("claude-sonnet-4-5"),
        files_for=lambda code: {"pkg/core.py": code},
        policy=RetryPolicy(max_attempts=2),
    )
    result = asyncio.run(run_atom(job))
    assert result.status is AtomStatus.FAILED
    assert [a.error_category for a in result.attempts] == [ErrorCategory.UNAVAILABLE] * 2
    assert "sandbox could not run the check" in result.attempts[0].errors[0]
    # Each call's cost was settled together with its attempt; nothing stays reserved.
    assert len(guard.attempts) == 2 and guard.reserved_usd == pytest.approx(0.0)


def test_a_stopped_gate_skips_the_atom_before_it_calls() -> None:
    gate = CallGate()
    gate.stop("wave 0 validated only 10% of its atoms")
    provider = ScriptedProvider([GOOD])
    job = AtomJob(
        atom=make_atom(id="add"),
        provider=provider,
        validator=CodeValidator(),
        cost_guard=InMemoryCostGuard(100.0),
        price=price_for("claude-sonnet-4-5"),
        files_for=lambda code: {"pkg/core.py": code},
        gate=gate,
    )
    result = asyncio.run(run_atom(job))
    assert result.status is AtomStatus.SKIPPED and "wave 0" in (result.reason or "")
    assert provider.requests == []


def test_a_reviewers_feedback_reaches_every_attempts_prompt() -> None:
    provider = ScriptedProvider([BAD, GOOD])
    job = AtomJob(
        atom=make_atom(id="add"),
        provider=provider,
        validator=CodeValidator(),
        cost_guard=InMemoryCostGuard(100.0),
        price=price_for("claude-sonnet-4-5"),
        files_for=lambda code: {"pkg/core.py": code},
        sleep=Sleeps(),
        reviewer_feedback="handle negative numbers",
    )
    result = asyncio.run(run_atom(job))
    assert result.status is AtomStatus.SUCCEEDED
    assert len(provider.requests) == 2
    assert all("handle negative numbers" in r.prompt for r in provider.requests)
    assert "failed validation" in provider.requests[1].prompt


def _resumed(previous: list[AttemptRecord], **extra: object) -> tuple:  # type: ignore[type-arg]
    provider = ScriptedProvider([GOOD])
    validator = CodeValidator()
    job = AtomJob(
        atom=make_atom(id="add"),
        provider=provider,
        validator=validator,
        cost_guard=InMemoryCostGuard(100.0),
        price=price_for("claude-sonnet-4-5"),
        files_for=lambda code: {"pkg/core.py": code},
        previous_attempts=previous,
        **extra,  # type: ignore[arg-type]
    )
    return asyncio.run(run_atom(job)), provider, validator


def test_a_resumed_atom_whose_answer_passed_before_the_crash_is_not_paid_for_again() -> None:
    """The worker died after attempt 1 passed and was recorded, before the atom's result."""
    passed = AttemptRecord(atom_id="add", attempt_number=1, passed=True, code=GOOD, cost_usd=0.01)
    result, provider, validator = _resumed([passed])
    assert result.status is AtomStatus.SUCCEEDED and result.code == GOOD
    assert provider.requests == [], "no new call"
    assert validator.seen == [GOOD], "the recorded code was checked again"
    assert result.attempts == [passed]


def test_a_recorded_answer_that_no_longer_validates_or_a_review_asks_for_new_code() -> None:
    stale = AttemptRecord(atom_id="add", attempt_number=1, passed=True, code=BAD)
    result, provider, _ = _resumed([stale])
    assert result.status is AtomStatus.SUCCEEDED and len(provider.requests) == 1
    assert [a.attempt_number for a in result.attempts] == [1, 2]
    good = AttemptRecord(atom_id="add", attempt_number=1, passed=True, code=GOOD)
    result, provider, _ = _resumed([good], reviewer_feedback="use a loop")
    assert len(provider.requests) == 1 and result.attempts[-1].attempt_number == 2
