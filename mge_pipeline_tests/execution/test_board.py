"""The settlement board: atoms wake when their dependencies settle, in this process or another."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mge_pipeline.domain import AtomResult, AtomStatus
from mge_pipeline.exceptions import StoreError
from mge_pipeline.execution.board import SettlementBoard
from mge_pipeline.execution.plan_bundle import bundle_masterplan
from mge_pipeline.execution.prepare import prepare_run
from mge_pipeline.execution.retry import RetryPolicy
from mge_pipeline.execution.run_context import RunSettings
from mge_pipeline.execution.run_service import open_run_services, run_atom
from mge_pipeline.generation import SimulatedModel
from mge_pipeline.generation.rate_limit import CallGate
from mge_pipeline.store import AsyncStore, MgeStore
from mge_pipeline.validation import PythonSandbox
from mge_pipeline_tests.factories import make_atom, make_plan


def _store(tmp_path: Path) -> AsyncStore:
    store = MgeStore(f"sqlite:///{tmp_path / 'mge.db'}")
    plan = make_plan(make_atom(id="a"), make_atom(id="b", depends_on=["a"]))
    store.start_execution(
        execution_id="run1",
        plan=plan,
        total_waves=2,
        budget_usd=1.0,
        provider="simulated",
        model="m",
        output_dir=str(tmp_path),
    )
    return AsyncStore(store)


def test_a_waiter_wakes_when_its_dependency_settles_in_this_process(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        board = SettlementBoard(_store(tmp_path), "run1", poll_seconds=60)
        order: list[str] = []

        async def dependent() -> None:
            outcomes = await board.outcomes(["a"])
            order.append(f"b saw a {outcomes['a'].status.value}")

        waiter = asyncio.create_task(dependent())
        await asyncio.sleep(0.01)
        order.append("a settles")
        board.settle("a", AtomStatus.SUCCEEDED, "def a(): ...")
        await asyncio.wait_for(waiter, 1)
        board.close()
        return order

    assert asyncio.run(scenario()) == ["a settles", "b saw a succeeded"]


def test_outcomes_settled_by_another_process_arrive_through_the_store(tmp_path: Path) -> None:
    async def scenario() -> tuple[str, str | None, bool]:
        store = _store(tmp_path)
        board = SettlementBoard(store, "run1", poll_seconds=0.05)
        waiter = asyncio.create_task(board.outcomes(["a"]))
        wave = asyncio.create_task(board.wave_closed(0))
        await asyncio.sleep(0.1)
        assert not waiter.done()
        # Another process: a second repository on the same database records the outcome.
        other = MgeStore(store.sync.url)
        other.record_atom_result(
            "run1",
            wave_index=0,
            spec_hash="h",
            result=AtomResult(atom_id="a", status=AtomStatus.FAILED, reason="no attempt"),
        )
        other.set_stop_reason("run1", "wave 0 validated only 0%")
        other.record_wave("run1", _summary())
        outcomes = await asyncio.wait_for(waiter, 2)
        await asyncio.wait_for(wave, 2)
        board.close()
        return outcomes["a"].status.value, board.stop_reason, outcomes["a"].validated

    assert asyncio.run(scenario()) == ("failed", "wave 0 validated only 0%", False)


def test_the_first_stop_reason_wins_everywhere(tmp_path: Path) -> None:
    async def scenario() -> tuple[str, str | None, list[str]]:
        store = _store(tmp_path)
        seen: list[str] = []
        board = SettlementBoard(store, "run1")
        board.on_stop = seen.append
        first = await store.set_stop_reason("run1", "budget reached")
        second = await store.set_stop_reason("run1", "wave 3 validated only 10%")
        board.stop(first)
        board.stop(second)
        return second, board.stop_reason, seen

    assert asyncio.run(scenario()) == ("budget reached", "budget reached", ["budget reached"])


def _summary():  # type: ignore[no-untyped-def]
    from mge_pipeline.domain import WaveSummary

    return WaveSummary(
        wave_index=0,
        atoms_total=1,
        succeeded=0,
        cached=0,
        failed=1,
        blocked=0,
        skipped=0,
        attempts=1,
        cost_usd=0.0,
        duration_seconds=0.1,
    )


def test_an_atom_whose_step_crashes_is_settled_failed_so_dependents_do_not_wait(
    tmp_path: Path,
) -> None:
    plan = make_plan(
        make_atom(id="a"),
        make_atom(id="b", depends_on=["a"]),
        make_atom(id="c", depends_on=["b"]),
    )
    bundle = bundle_masterplan(plan)
    store = MgeStore(f"sqlite:///{tmp_path / 'mge.db'}")
    settings = RunSettings(1.0, RetryPolicy(), 5.0, 256, 0.5, str(tmp_path / "out"))
    run = prepare_run(bundle, settings, store, "run1", SimulatedModel())
    services = open_run_services(
        bundle,
        run,
        store=store,
        provider=SimulatedModel(),
        sandbox=PythonSandbox(),
        gate=CallGate(),
    )

    async def store_outage(*args: object, **kwargs: object) -> None:
        raise StoreError("store sqlite:///mge.db: OperationalError: database is locked")

    services.store.record_atom_result = store_outage  # type: ignore[method-assign]

    async def scenario() -> str | None:
        services.board.settle("a", AtomStatus.FAILED, None)  # b is blocked, then recording fails
        dependent = asyncio.create_task(run_atom(services, "c"))
        with pytest.raises(StoreError):
            await run_atom(services, "b")
        with pytest.raises(StoreError):  # c was released (blocked), and its write fails too
            await asyncio.wait_for(dependent, 2)
        services.board.close()
        return services.board.known(["b"])["b"].status.value

    assert asyncio.run(scenario()) == "failed"


def test_a_fan_out_waits_for_the_previous_waves_steps_to_start_or_the_timeout(
    tmp_path: Path,
) -> None:
    async def scenario() -> tuple[bool, bool]:
        board = SettlementBoard(_store(tmp_path), "run1")
        board.expect_steps(0, 2)
        waiting = asyncio.create_task(board.wave_steps_started(0, timeout_seconds=60))
        board.step_started(0)
        await asyncio.sleep(0.01)
        after_one = waiting.done()
        board.step_started(0)
        await asyncio.wait_for(waiting, 1)
        # Steps in another process are never seen here: the wait ends at its timeout.
        board.expect_steps(1, 5)
        await asyncio.wait_for(board.wave_steps_started(1, timeout_seconds=0.05), 1)
        return after_one, waiting.done()

    assert asyncio.run(scenario()) == (False, True)
