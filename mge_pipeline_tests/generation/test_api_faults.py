"""Every API fault, through the real SDK against the local Messages API server, into the loop.

Waits are recorded by a fake clock shared by the loop's backoff and the call gate, so the
tests assert exactly what was waited without sleeping it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from mge_pipeline.domain import AtomResult, AtomStatus, ErrorCategory
from mge_pipeline.execution import AtomJob, InMemoryCostGuard, RetryPolicy, run_atom
from mge_pipeline.generation import AnthropicProvider, price_for
from mge_pipeline.generation.rate_limit import CallGate
from mge_pipeline.testing import Answer, Fault, FaultKind, MessagesApiServer
from mge_pipeline.validation import PythonAtomValidator, PythonSandbox
from mge_pipeline_tests.factories import make_atom

ATOM = make_atom(id="add")
GOOD = f"```python\n{ATOM.reference_implementation}```"


@dataclass
class FakeClock:
    now: float = 1000.0
    waits: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(round(seconds, 3))
        self.now += seconds


@pytest.fixture
def server() -> Iterator[MessagesApiServer]:
    with MessagesApiServer(lambda request: GOOD) as running:
        yield running


def _run(
    server: MessagesApiServer,
    *,
    gate: CallGate | None = None,
    clock: FakeClock | None = None,
    timeout: float = 5.0,
    budget: float = 10.0,
) -> tuple[AtomResult, FakeClock, InMemoryCostGuard]:
    clock = clock or FakeClock()
    guard = InMemoryCostGuard(budget)

    async def go() -> AtomResult:
        provider = AnthropicProvider(
            api_key="sk-test",
            model="claude-sonnet-4-6",
            base_url=server.url,
            timeout_seconds=timeout,
        )
        job = AtomJob(
            atom=ATOM,
            provider=provider,
            validator=PythonAtomValidator(PythonSandbox()),
            cost_guard=guard,
            price=price_for("claude-sonnet-4-6"),
            files_for=lambda code: {ATOM.file_path: code},
            policy=RetryPolicy(jitter_fraction=0),
            gate=gate,
            sleep=clock.sleep,
        )
        try:
            return await run_atom(job)
        finally:
            await provider.aclose()

    return asyncio.run(go()), clock, guard


@pytest.mark.parametrize(
    ("fault", "waits"),
    [
        pytest.param(Fault(FaultKind.RATE_LIMIT, retry_after=7), [7.0], id="429-retry-after"),
        pytest.param(Fault(FaultKind.RATE_LIMIT), [1.0], id="429-no-header"),
        pytest.param(Fault(FaultKind.OVERLOADED), [1.0], id="529-overloaded"),
        pytest.param(Fault(FaultKind.SERVER_ERROR, retry_after=3), [3.0], id="500-retry-after"),
        pytest.param(Fault(FaultKind.DROP_CONNECTION), [1.0], id="dropped-connection"),
        pytest.param(Fault(FaultKind.MALFORMED_JSON), [1.0], id="malformed-json"),
        pytest.param(Fault(FaultKind.SLOW, delay_seconds=1.5), [1.0], id="slower-than-timeout"),
    ],
)
def test_transient_faults_are_retried_without_consuming_an_attempt(
    server: MessagesApiServer, fault: Fault, waits: list[float]
) -> None:
    server.enqueue(fault)
    result, clock, _ = _run(server, timeout=0.5)
    assert result.status is AtomStatus.SUCCEEDED
    assert len(result.attempts) == 1 and result.attempts[0].api_retries == 1
    assert clock.waits == waits
    assert len(server.requests) == 2


def test_backoff_doubles_across_consecutive_faults(server: MessagesApiServer) -> None:
    server.enqueue(*[Fault(FaultKind.OVERLOADED)] * 3)
    result, clock, _ = _run(server)
    assert result.status is AtomStatus.SUCCEEDED and result.attempts[0].api_retries == 3
    assert clock.waits == [1.0, 2.0, 4.0]


@pytest.mark.parametrize(
    ("item", "category", "feedback"),
    [
        pytest.param(
            Fault(FaultKind.EMPTY_CONTENT),
            ErrorCategory.NO_CODE,
            "the answer is empty",
            id="empty-content",
        ),
        pytest.param(
            Fault(FaultKind.TRUNCATED),
            ErrorCategory.NO_CODE,
            "cut off at max_tokens",
            id="max-tokens",
        ),
        pytest.param(
            Answer("Sure! I would add them."),
            ErrorCategory.NO_CODE,
            "no code block",
            id="prose-only",
        ),
    ],
)
def test_unusable_answers_are_failed_attempts_with_feedback(
    server: MessagesApiServer, item: Fault | Answer, category: ErrorCategory, feedback: str
) -> None:
    server.enqueue(item)
    result, clock, _ = _run(server)
    assert result.status is AtomStatus.SUCCEEDED
    assert [a.error_category for a in result.attempts] == [category, None]
    assert feedback in server.requests[1].prompt
    assert clock.waits == [], "a bad answer is not an API error: no backoff"
    assert [r.body["temperature"] for r in server.requests] == [0.7, 0.5]


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param(FaultKind.AUTHENTICATION, id="401"),
        pytest.param(FaultKind.BAD_REQUEST, id="400"),
        pytest.param(FaultKind.SPEND_LIMIT, id="spend-limit-429"),
    ],
)
def test_fatal_errors_fail_fast_and_close_the_gate_for_everyone(
    server: MessagesApiServer, kind: FaultKind
) -> None:
    server.enqueue(Fault(kind))
    gate = CallGate()
    first, _, _ = _run(server, gate=gate)
    second, _, _ = _run(server, gate=gate)
    assert first.status is second.status is AtomStatus.SKIPPED
    assert first.reason == second.reason
    assert (first.reason or "").startswith("the LLM provider cannot serve this run: ")
    assert len(first.attempts) == len(second.attempts) == 0
    assert len(server.requests) == 1, "the second atom never called the API"


def test_a_429_slows_down_every_atom_behind_the_gate(server: MessagesApiServer) -> None:
    server.enqueue(Fault(FaultKind.RATE_LIMIT, retry_after=5))
    clock = FakeClock()
    gate = CallGate(requests_per_minute=600, clock=clock, sleep=clock.sleep)
    _run(server, gate=gate, clock=clock)
    assert gate.rate_factor < 1.0
    before = clock.now
    _run(server, gate=gate, clock=clock)
    assert clock.now == before, "the pause was already served by the first atom's backoff"
    gate.rate_limited(10)
    _run(server, gate=gate, clock=clock)
    assert clock.now - before >= 10, "a later atom waits out another atom's 429"


def test_costs_match_the_servers_usage_exactly(server: MessagesApiServer) -> None:
    server.enqueue(Fault(FaultKind.TRUNCATED), Fault(FaultKind.OVERLOADED))
    result, _, guard = _run(server)
    usage = server.usage
    billed = usage.cost(price_for("claude-sonnet-4-6"))
    assert result.cost_usd == pytest.approx(billed, abs=1e-12)
    assert guard.spent_usd == pytest.approx(billed, abs=1e-12)
    assert sum(a.prompt_tokens for a in result.attempts) == usage.input_tokens


def test_every_api_retry_is_logged_with_its_reason(
    server: MessagesApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.enqueue(Fault(FaultKind.RATE_LIMIT, retry_after_ms=1500), Fault(FaultKind.CONFLICT))
    with caplog.at_level("WARNING", logger="mge_pipeline.execution.retry"):
        result, clock, _ = _run(server)
    assert result.status is AtomStatus.SUCCEEDED
    assert clock.waits == [1.5, 2.0], "retry-after-ms exactly, then the backoff"
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("atom add attempt 1: API retry 1 of 3 in 1.5 s: rate limited")
    assert messages[1].startswith("atom add attempt 1: API retry 2 of 3 in 2.0 s: lock conflict")
