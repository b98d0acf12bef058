"""A budget that is spent rather than hoarded: refusals wait for calls in flight to settle."""

from __future__ import annotations

import asyncio

import pytest

from mge_pipeline.exceptions import BudgetExceededError, RunStoppedError
from mge_pipeline.execution import InMemoryCostGuard
from mge_pipeline.execution.budget import PatientCostGuard, output_token_cap
from mge_pipeline.generation.rate_limit import CallGate
from mge_pipeline_tests.factories import make_atom


def test_a_refusal_waits_for_calls_in_flight_and_then_reserves() -> None:
    async def scenario() -> list[str]:
        guard = PatientCostGuard(InMemoryCostGuard(1.0), retry_seconds=30)
        first = await guard.reserve(atom_id="a", amount_usd=0.7)
        events: list[str] = []

        async def second() -> None:
            await guard.reserve(atom_id="b", amount_usd=0.5)
            events.append("b reserved")

        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.05)
        events.append("a settles")
        await guard.settle(first, actual_usd=0.2)  # wakes the waiter at once, not after 30 s
        await asyncio.wait_for(waiting, 5)
        return events

    assert asyncio.run(scenario()) == ["a settles", "b reserved"]


def test_a_call_that_cannot_fit_even_once_everything_settles_is_refused_at_once() -> None:
    async def scenario() -> BudgetExceededError:
        guard = PatientCostGuard(InMemoryCostGuard(1.0), retry_seconds=30)
        await guard.reserve(atom_id="a", amount_usd=0.25)
        await guard.settle(await guard.reserve(atom_id="c", amount_usd=0.5), actual_usd=0.5)
        with pytest.raises(BudgetExceededError) as refused:
            await asyncio.wait_for(guard.reserve(atom_id="b", amount_usd=0.6), 5)
        return refused.value

    error = asyncio.run(scenario())
    assert not error.may_fit_later
    assert str(error) == (
        "cost budget of $1 cannot cover the next call (up to $0.6000): $0.5000 spent, "
        "$0.2500 reserved by calls in flight, $0.2500 left; no new LLM calls were started"
    )


def test_a_stopped_run_does_not_wait_for_budget() -> None:
    async def scenario() -> None:
        gate = CallGate()
        guard = PatientCostGuard(InMemoryCostGuard(1.0), check_open=gate.check_open)
        await guard.reserve(atom_id="a", amount_usd=0.9)
        gate.stop("cancelled by the operator")
        await asyncio.wait_for(guard.reserve(atom_id="b", amount_usd=0.5), 5)

    with pytest.raises(RunStoppedError, match="cancelled by the operator"):
        asyncio.run(scenario())


@pytest.mark.parametrize(("loc", "cut_offs", "cap"), [(10, 0, 500), (10, 1, 1000), (1, 0, 230),
                                                      (10, 3, 2048), (400, 0, 2048)])  # fmt: skip
def test_output_cap(loc: int, cut_offs: int, cap: int) -> None:
    atom = make_atom(id="a", estimated_loc=loc)
    assert output_token_cap(atom, max_tokens=2048, cut_offs=cut_offs) == cap


def test_a_higher_effort_gets_room_to_think() -> None:
    atom = make_atom(id="a", estimated_loc=10)
    caps = [
        output_token_cap(atom, max_tokens=4096, effort=e) for e in (None, "low", "medium", "high")
    ]
    assert caps == [500, 500, 1000, 2000]
    assert output_token_cap(atom, max_tokens=4096, effort="xhigh") == 4000
