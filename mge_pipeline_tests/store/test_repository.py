"""The store: the budget can never be overshot, even by many writers; states derive from rows."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mge_pipeline.domain import AtomResult, AtomStatus, ExecutionStatus
from mge_pipeline.domain.records import MasterplanStatus
from mge_pipeline.exceptions import BudgetExceededError, StoreError
from mge_pipeline.store import MASTERPLAN_READY, MgeStore
from mge_pipeline_tests.factories import make_atom, make_plan


def _open(store: MgeStore, execution_id: str = "run1", budget: float = 1.0) -> None:
    store.start_execution(
        execution_id=execution_id,
        plan=make_plan(),
        total_waves=1,
        budget_usd=budget,
        provider="simulated",
        model="m",
        output_dir="/tmp/x",
    )


def _reserve_many(url: str, count: int) -> int:
    store = MgeStore(url)
    granted = 0
    for _ in range(count):
        try:
            reservation = store.reserve(execution_id="run1", atom_id="a", amount_usd=0.1)
        except BudgetExceededError:
            continue
        store.settle(reservation, execution_id="run1", actual_usd=0.1)
        granted += 1
    return granted


def test_concurrent_threads_never_exceed_the_budget(store: MgeStore) -> None:
    _open(store, budget=1.0)
    with ThreadPoolExecutor(max_workers=16) as pool:
        granted = sum(pool.map(lambda _: _reserve_many(store.url, 3), range(16)))
    info = store.execution_info("run1")
    assert info is not None
    assert granted == 10
    assert info.spent_usd == pytest.approx(1.0) and info.reserved_usd == pytest.approx(0)


def test_concurrent_processes_never_exceed_the_budget(store: MgeStore) -> None:
    _open(store, budget=0.75)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        granted = sum(pool.starmap(_reserve_many, [(store.url, 5)] * 4))
    info = store.execution_info("run1")
    assert info is not None
    assert granted == 7
    assert info.spent_usd <= 0.75 + 1e-9


def test_reservation_error_says_what_was_spent(store: MgeStore) -> None:
    _open(store, budget=0.5)
    reservation = store.reserve(execution_id="run1", atom_id="a", amount_usd=0.4)
    store.settle(reservation, execution_id="run1", actual_usd=0.3)
    held = store.reserve(execution_id="run1", atom_id="c", amount_usd=0.1)
    with pytest.raises(BudgetExceededError) as refused:
        store.reserve(execution_id="run1", atom_id="b", amount_usd=0.15)
    assert str(refused.value) == (
        "cost budget of $0.5 cannot cover the next call (up to $0.1500): $0.3000 spent, "
        "$0.1000 reserved by calls in flight, $0.1000 left; no new LLM calls were started"
    )
    assert refused.value.may_fit_later, "once c settles, $0.2 may be left"
    store.settle(held, execution_id="run1", actual_usd=0.1)
    with pytest.raises(BudgetExceededError) as refused:
        store.reserve(execution_id="run1", atom_id="b", amount_usd=0.15)
    assert not refused.value.may_fit_later
    assert "$0.4000 spent, nothing in flight, $0.1000 left" in str(refused.value)


def test_validated_code_is_found_by_spec_hash_across_executions(store: MgeStore) -> None:
    _open(store, "run1")
    ok = AtomResult(atom_id="a", status=AtomStatus.SUCCEEDED, code="A = 1\n")
    failed = AtomResult(atom_id="b", status=AtomStatus.FAILED, code="B = \n")
    store.record_atom_result("run1", wave_index=0, spec_hash="h-a", result=ok)
    store.record_atom_result("run1", wave_index=0, spec_hash="h-b", result=failed)
    cached = store.validated_codes_by_hash(["h-a", "h-b"])
    assert cached.get("h-a") == "A = 1\n"
    assert cached.get("h-b") is None, "failed code is never reused"
    assert store.validated_codes("run1", ["a", "b"]) == {"a": "A = 1\n"}


def test_execution_state_counts_come_from_atom_results(store: MgeStore) -> None:
    _open(store, "run1")
    for atom_id, status in [
        ("a", AtomStatus.SUCCEEDED),
        ("b", AtomStatus.CACHED),
        ("c", AtomStatus.FAILED),
        ("d", AtomStatus.BLOCKED),
    ]:
        store.record_atom_result(
            "run1",
            wave_index=0,
            spec_hash=atom_id,
            result=AtomResult(atom_id=atom_id, status=status),
        )
    store.finish_execution("run1", status=ExecutionStatus.FAILED, reason="stopped")
    state = store.execution_state("run1")
    assert state is not None
    assert (state.atoms_completed, state.atoms_succeeded, state.atoms_failed) == (4, 2, 1)
    assert state.status is ExecutionStatus.FAILED and state.reason == "stopped"
    assert state.completed_at is not None and state.total_time_seconds >= 0


def test_masterplans_by_status(store: MgeStore) -> None:
    plan = make_plan(make_atom(id="a"), id="p1")
    revision = store.save_masterplan(plan, status=MASTERPLAN_READY)
    store.save_masterplan(make_plan(id="p2"), status="draft")
    ready = store.masterplans(status=MASTERPLAN_READY)
    assert [(row.masterplan_id, row.revision) for row in ready] == [("p1", revision)]
    assert ready[0].status is MasterplanStatus.READY
    assert store.get_masterplan("p1") == plan


def test_an_unusable_database_is_a_store_error_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "not_a_dir").write_text("a file where the database directory should be")
    with pytest.raises(StoreError) as raised:
        MgeStore(f"sqlite:///{tmp_path / 'not_a_dir' / 'mge.db'}")
    message = str(raised.value)
    assert "\n" not in message and "store sqlite:///" in message


def test_the_first_stop_reason_of_an_execution_is_kept(store: MgeStore) -> None:
    store.start_execution(
        execution_id="run9",
        plan=make_plan(make_atom(id="a")),
        total_waves=1,
        budget_usd=1.0,
        provider="simulated",
        model="m",
        output_dir="/tmp/out",
    )
    assert store.stop_reason("run9") is None
    assert store.set_stop_reason("run9", "first") == "first"
    assert store.set_stop_reason("run9", "second") == "first"
    info = store.execution_info("run9")
    assert info is not None and info.stop_reason == "first"
