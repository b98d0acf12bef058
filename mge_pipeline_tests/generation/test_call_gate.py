"""The call gate: requests and tokens per minute, 429 pauses for everyone, the fatal breaker."""

from __future__ import annotations

import asyncio

import pytest

from mge_pipeline.exceptions import ProviderFatalError, RunStoppedError
from mge_pipeline.generation.rate_limit import CallGate
from mge_pipeline_tests.generation.test_api_faults import FakeClock


def _enter_all(gate: CallGate, tokens: list[int]) -> None:
    async def go() -> None:
        await asyncio.gather(*[gate.enter(t) for t in tokens])

    asyncio.run(go())


def test_requests_per_minute_allow_a_burst_then_space_calls() -> None:
    clock = FakeClock(now=0.0)
    gate = CallGate(requests_per_minute=60, clock=clock, sleep=clock.sleep)
    _enter_all(gate, [10] * 70)
    assert clock.now == pytest.approx(10.0), "60 at once, then one per second"


def test_tokens_per_minute_hold_back_large_prompts() -> None:
    clock = FakeClock(now=0.0)
    gate = CallGate(tokens_per_minute=6000, clock=clock, sleep=clock.sleep)
    _enter_all(gate, [3000, 3000, 3000])
    assert clock.now == pytest.approx(30.0), "the third 3000-token prompt waits half a minute"


def test_no_limits_means_no_waiting() -> None:
    clock = FakeClock(now=0.0)
    _enter_all(CallGate(clock=clock, sleep=clock.sleep), [100_000] * 200)
    assert clock.waits == []


def test_a_429_pauses_everybody_and_halves_the_rate() -> None:
    clock = FakeClock(now=0.0)
    gate = CallGate(requests_per_minute=60, clock=clock, sleep=clock.sleep)
    gate.rate_limited(retry_after=12)
    assert gate.rate_factor == 0.5
    _enter_all(gate, [1, 1])
    assert clock.now == pytest.approx(12.0)
    for _ in range(20):
        gate.succeeded()
    assert gate.rate_factor == 1.0, "the rate recovers call by call"


def test_after_a_fatal_error_nobody_gets_through() -> None:
    gate = CallGate()
    gate.failed_for_good(ProviderFatalError("invalid x-api-key"))
    with pytest.raises(ProviderFatalError, match="invalid x-api-key"):
        asyncio.run(gate.enter(1))


def test_calls_in_flight_never_exceed_the_limit_and_a_stop_closes_the_gate() -> None:
    async def scenario() -> tuple[int, list[str]]:
        gate = CallGate(max_in_flight=3)
        peak = 0
        outcomes: list[str] = []

        async def call(index: int) -> None:
            nonlocal peak
            try:
                async with gate.call_slot(10):
                    peak = max(peak, gate.in_flight)
                    await asyncio.sleep(0.01)
                    if index == 4:
                        gate.stop("stop rule")
                outcomes.append("called")
            except RunStoppedError as exc:
                outcomes.append(str(exc))

        await asyncio.gather(*[call(i) for i in range(12)])
        return peak, outcomes

    peak, outcomes = asyncio.run(scenario())
    assert peak == 3
    # The fifth call stopped the run: calls already holding a slot finished, the rest refused.
    assert outcomes.count("called") == 6 and outcomes.count("stop rule") == 6
