"""The deployment-wide limit of LLM calls in flight holds across runs sharing one store."""

from __future__ import annotations

import asyncio
import time

import pytest

from mge_pipeline.generation.rate_limit import CallGate
from mge_pipeline.store import MgeStore
from mge_pipeline.store.llm_slots import LlmSlotRepository, StoreCallSlots


def test_calls_of_several_runs_never_exceed_the_deployment_limit(database_url: str) -> None:
    """Three runs, each allowing 4 calls in flight, under a deployment limit of 2."""
    stores = [MgeStore(database_url) for _ in range(3)]
    in_flight = 0
    highest = 0
    calls = 0

    async def call(gate: CallGate) -> None:
        nonlocal in_flight, highest, calls
        async with gate.call_slot(tokens=10):
            in_flight += 1
            highest = max(highest, in_flight)
            await asyncio.sleep(0.05)
            in_flight -= 1
            calls += 1

    async def main() -> None:
        gates = [
            CallGate(max_in_flight=4, shared_slots=StoreCallSlots(s, 2, holder=f"run{i}"))
            for i, s in enumerate(stores)
        ]
        await asyncio.gather(*(call(g) for g in gates for _ in range(6)))

    asyncio.run(main())
    assert calls == 18
    assert highest == 2, "the limit is reached and never exceeded"
    assert LlmSlotRepository(stores[0]).held() == 0, "every slot was given back"
    for store in stores:
        store.dispose()


def test_a_slot_whose_holder_died_is_free_after_its_lease(store: MgeStore) -> None:
    slots = LlmSlotRepository(store)
    slots.ensure_slots(1)
    assert slots.try_acquire(1, "dead-worker", lease_seconds=0.2) is not None
    assert slots.try_acquire(1, "other") is None, "the one slot is held"
    time.sleep(0.3)
    lease = slots.try_acquire(1, "other")
    assert lease is not None, "the expired lease was taken over"
    slots.release(lease)
    assert slots.held() == 0


def test_a_raised_limit_adds_slots(store: MgeStore) -> None:
    slots = LlmSlotRepository(store)
    slots.ensure_slots(1)
    first = slots.try_acquire(1, "a")
    assert first is not None and slots.try_acquire(1, "b") is None
    slots.ensure_slots(3)
    assert slots.try_acquire(3, "b") is not None and slots.try_acquire(3, "c") is not None
    assert slots.try_acquire(3, "d") is None
    with pytest.raises(ValueError, match="at least 1"):
        StoreCallSlots(store, 0, holder="x")
