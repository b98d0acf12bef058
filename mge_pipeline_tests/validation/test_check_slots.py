"""The sandbox's process slots: validations go before mutation runs, and cancellation is safe."""

from __future__ import annotations

import asyncio

import pytest

from mge_pipeline.validation.check_slots import CheckSlots


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_waiting_validation_starts_before_mutants_that_waited_longer() -> None:
    async def scenario() -> list[str]:
        slots = CheckSlots(2)
        order: list[str] = []
        await slots.acquire()
        await slots.acquire()  # both processes busy

        async def check(name: str, background: bool) -> None:
            await slots.acquire(background=background)
            order.append(name)

        mutants = [asyncio.create_task(check(f"mutant {n}", True)) for n in range(3)]
        await _settle()
        validation = asyncio.create_task(check("validation", False))
        await _settle()
        slots.release()
        await _settle()
        assert order == ["validation"]
        slots.release()
        slots.release()
        await _settle()
        assert order == ["validation", "mutant 0"], "background never holds the last process"
        slots.release(background=True)
        await _settle()
        await asyncio.gather(validation)
        for task in mutants:
            task.cancel()
        return order

    assert asyncio.run(scenario()) == ["validation", "mutant 0", "mutant 1"]


def test_background_checks_leave_one_process_for_validations() -> None:
    async def scenario() -> None:
        slots = CheckSlots(4)
        for _ in range(3):
            await slots.acquire(background=True)
        fourth = asyncio.create_task(slots.acquire(background=True))
        await _settle()
        assert not fourth.done() and slots.background_running == 3
        await asyncio.wait_for(slots.acquire(), timeout=1)  # the validation is not queued
        assert slots.in_use == 4
        fourth.cancel()

    asyncio.run(scenario())


def test_a_cancelled_waiter_gives_its_place_and_loses_no_process() -> None:
    async def scenario() -> None:
        slots = CheckSlots(1)
        await slots.acquire()
        waiting = asyncio.create_task(slots.acquire())
        await _settle()
        waiting.cancel()
        await _settle()
        slots.release()
        assert slots.in_use == 0
        await asyncio.wait_for(slots.acquire(), timeout=1)
        assert slots.in_use == 1

    asyncio.run(scenario())


def test_one_process_serves_background_checks_too() -> None:
    async def scenario() -> None:
        slots = CheckSlots(1)
        await asyncio.wait_for(slots.acquire(background=True), timeout=1)
        slots.release(background=True)
        assert slots.in_use == 0

    asyncio.run(scenario())


def test_no_processes_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        CheckSlots(0)


def test_a_waiter_cancelled_after_a_grant_passed_it_over_does_not_break_the_slots() -> None:
    async def scenario() -> None:
        slots = CheckSlots(1)
        await slots.acquire()
        waiting = asyncio.create_task(slots.acquire())
        behind = asyncio.create_task(slots.acquire())
        await _settle()
        waiting.cancel()  # its future is cancelled now; the task sees it at its next step
        slots.release()  # the grant skips the cancelled waiter and serves the next one
        await _settle()
        assert waiting.cancelled() and behind.done()
        assert slots.in_use == 1

    asyncio.run(scenario())


def test_a_check_queued_behind_a_cancelled_one_starts_when_a_process_is_free() -> None:
    """No deadlock: the cancelled waiter leaves, and the one behind it is not left waiting."""

    async def scenario() -> None:
        slots = CheckSlots(1)
        await slots.acquire()
        first = asyncio.create_task(slots.acquire())
        await _settle()
        first.cancel()
        second = asyncio.create_task(slots.acquire())  # queues behind the cancelled one
        slots.release()
        await _settle()
        assert first.cancelled()
        await asyncio.wait_for(second, timeout=1)
        assert slots.in_use == 1

    asyncio.run(scenario())
