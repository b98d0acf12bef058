"""The cross-check in the retry loop: real validator and sandbox, a scripted model."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from mge_pipeline.domain import AtomResult, AtomStatus, EvidenceKind
from mge_pipeline.execution import AtomJob, InMemoryCostGuard, run_atom
from mge_pipeline.execution.retry import CrossCheckSettings
from mge_pipeline.generation import GenerationRequest, GenerationResponse, price_for
from mge_pipeline.generation.anthropic_provider import message_params
from mge_pipeline.generation.batch import request_fingerprint
from mge_pipeline.generation.simulated import SimulatedModel
from mge_pipeline.validation import PythonAtomValidator, PythonSandbox
from mge_pipeline.validation.cross_check import CrossCheckMode
from mge_pipeline_tests.factories import make_atom

GOOD = (
    "def is_prime(n: int) -> bool:\n"
    "    if n < 2:\n"
    "        return False\n"
    "    return all(n % k for k in range(2, n))\n"
)
WRONG_AT_2 = GOOD.replace("n < 2", "n < 3")
WEAK_TESTS = "assert is_prime(5)\nassert not is_prime(4)\nassert is_prime(7)\n"
ATOM = make_atom(
    id="is_prime", signature="def is_prime(n: int) -> bool:", tests=WEAK_TESTS,
    description="whether n is a prime number", reference_implementation=GOOD,
)  # fmt: skip


@dataclass
class Scripted:
    """Answers each call with the next code of the script; keeps the requests."""

    script: list[str]
    requests: list[GenerationRequest] = field(default_factory=list)
    name: str = "scripted"
    model: str = "claude-sonnet-4-5"

    async def generate(self, request: GenerationRequest) -> GenerationResponse:
        self.requests.append(request)
        return GenerationResponse(
            text=f"```python\n{self.script.pop(0)}```", input_tokens=1000, output_tokens=100,
            model=self.model,
        )  # fmt: skip


@pytest.fixture
def sandbox() -> Iterator[PythonSandbox]:
    found = PythonSandbox(timeout_seconds=5.0)
    yield found
    found.close()


def _run(
    provider: object, sandbox: PythonSandbox, mode: CrossCheckMode = CrossCheckMode.WEAK
) -> tuple[AtomResult, InMemoryCostGuard]:
    guard = InMemoryCostGuard(100.0)
    job = AtomJob(
        atom=ATOM,
        provider=provider,  # type: ignore[arg-type]
        validator=PythonAtomValidator(sandbox),
        cost_guard=guard,
        price=price_for("claude-sonnet-4-5"),
        files_for=lambda code: {ATOM.file_path: code},
        cross_check=CrossCheckSettings(sandbox, mode=mode, max_mutants=4),
    )
    return asyncio.run(run_atom(job)), guard


def test_a_wrong_result_the_tests_miss_is_caught_and_the_retry_delivers_the_right_code(
    sandbox: PythonSandbox,
) -> None:
    provider = Scripted([WRONG_AT_2, GOOD, GOOD, GOOD, GOOD])
    result, guard = _run(provider, sandbox)
    assert result.status is AtomStatus.SUCCEEDED and result.code == GOOD
    first, second = result.attempts
    assert not first.passed and first.error_category == "logic"
    assert "on input is_prime(2) this answer returned False" in first.errors[0]
    assert second.passed and result.evidence == (EvidenceKind.OWN_TESTS, EvidenceKind.CROSS_CHECK)
    # Samples are calls of the attempt they check, never attempts: 3 calls, then 2.
    assert [(r.attempt_number, r.sample) for r in provider.requests] == [
        (1, 0), (1, 1), (1, 2), (2, 0), (2, 1),
    ]  # fmt: skip
    samples = [r for r in provider.requests if r.sample]
    assert all("is_prime(2)" not in r.prompt for r in samples)  # no feedback in a sample
    assert "is_prime(2)" in provider.requests[3].prompt  # the retry got the disagreement
    assert first.prompt_tokens == 3000 and second.prompt_tokens == 2000
    assert guard.spent_usd == pytest.approx(first.cost_usd + second.cost_usd)
    assert first.cost_usd == pytest.approx(1.5 * second.cost_usd)
    assert guard.reserved_usd == pytest.approx(0.0)
    assert result.mutation is not None and result.mutation.survivors  # why it was checked
    assert "cross-check agreed" in second.warnings[-1]


def test_a_sample_is_a_distinct_request_so_a_batch_never_answers_it_with_the_answer(
    sandbox: PythonSandbox,
) -> None:
    """Message Batches merge requests with equal params: a sample must differ from the answer
    it checks (first attempts carry no feedback, so the prompts would otherwise be equal)."""
    provider = Scripted([GOOD, GOOD])
    _run(provider, sandbox, CrossCheckMode.ALL)
    answer, sample = provider.requests
    fingerprints = {
        request_fingerprint(message_params("claude-sonnet-4-5", r)) for r in (answer, sample)
    }
    assert len(fingerprints) == 2 and sample.sample == 1
    assert sample.prompt.startswith(answer.prompt) and sample.temperature == answer.temperature


def test_a_correct_answer_whose_sample_is_faulty_is_kept_by_majority(
    sandbox: PythonSandbox,
) -> None:
    provider = Scripted([GOOD, WRONG_AT_2, GOOD])
    result, guard = _run(provider, sandbox)
    assert result.status is AtomStatus.SUCCEEDED and len(result.attempts) == 1
    assert EvidenceKind.CROSS_CHECK in result.evidence
    assert "agreed by majority with 2 independent samples" in result.attempts[0].warnings[-1]
    assert guard.spent_usd == pytest.approx(result.cost_usd) and len(provider.requests) == 3


def test_strong_tests_ask_for_no_sample_unless_every_atom_is_checked(
    sandbox: PythonSandbox,
) -> None:
    strong = ATOM.model_copy(
        update={
            "tests": WEAK_TESTS + "assert is_prime(2)\nassert not is_prime(1)\n"
            "assert is_prime(3)\nassert not is_prime(9)\n"
        }
    )
    for mode, calls in ((CrossCheckMode.WEAK, 1), (CrossCheckMode.ALL, 2)):
        provider = Scripted([GOOD, GOOD])
        guard = InMemoryCostGuard(100.0)
        job = AtomJob(
            atom=strong, provider=provider, validator=PythonAtomValidator(sandbox),
            cost_guard=guard, price=price_for("claude-sonnet-4-5"),
            files_for=lambda code: {strong.file_path: code},
            cross_check=CrossCheckSettings(sandbox, mode=mode, max_mutants=4),
        )  # fmt: skip
        result = asyncio.run(run_atom(job))
        assert result.status is AtomStatus.SUCCEEDED and len(provider.requests) == calls
        assert result.mutation is not None and result.mutation.survivors == []
        assert (EvidenceKind.CROSS_CHECK in result.evidence) is (mode is CrossCheckMode.ALL)


def test_the_simulated_models_samples_are_independent_draws_and_reproducible(
    sandbox: PythonSandbox,
) -> None:
    model = SimulatedModel(seed=3, fault_rate=0.5, latency_seconds=0.0)
    answers = [model.choose_fault("is_prime", 1, sample) for sample in range(40)]
    assert answers == [model.choose_fault("is_prime", 1, s) for s in range(40)]
    assert len({str(a) for a in answers}) > 2  # not one draw repeated
    runs = [
        _run(
            SimulatedModel(seed=3, fault_rate=0.5, latency_seconds=0.0), sandbox, CrossCheckMode.ALL
        )[0]
        for _ in range(2)
    ]
    seen = [
        (
            [(a.passed, a.code, a.errors, a.cost_usd, a.prompt_tokens) for a in r.attempts],
            r.evidence,
        )
        for r in runs
    ]
    assert seen[0] == seen[1]
