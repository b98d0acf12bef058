"""The budget holds under load: 100 concurrent atoms, and two processes sharing one budget."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Iterator

import pytest

from mge_pipeline.domain import AtomResult, AtomSpec, AtomStatus, ValidationVerdict
from mge_pipeline.execution import AtomJob, RetryPolicy, run_atom
from mge_pipeline.execution.run_service import StoreCostGuard
from mge_pipeline.generation import AnthropicProvider, price_for
from mge_pipeline.store import AsyncStore, MgeStore
from mge_pipeline.testing import MessagesApiServer
from mge_pipeline_tests.factories import make_atom, make_plan

BUDGET = 0.25
PRICE = price_for("claude-sonnet-4-6")


class AcceptAll:
    """The budget is under test here, not validation."""

    async def validate(self, atom: AtomSpec, code: str, files: dict[str, str]) -> ValidationVerdict:
        return ValidationVerdict(passed=True)


def _atoms(prefix: str, count: int) -> list[AtomSpec]:
    return [make_atom(id=f"{prefix}{i}") for i in range(count)]


async def _run_many(url: str, database_url: str, atoms: list[AtomSpec]) -> list[AtomResult]:
    store = MgeStore(database_url)
    provider = AnthropicProvider(api_key="sk-test", model="claude-sonnet-4-6", base_url=url)
    jobs = [
        AtomJob(
            atom=atom,
            provider=provider,
            validator=AcceptAll(),
            cost_guard=StoreCostGuard(AsyncStore(store), "run1"),
            price=PRICE,
            files_for=lambda code: {},
            policy=RetryPolicy(),
        )
        for atom in atoms
    ]
    try:
        return list(await asyncio.gather(*[run_atom(job) for job in jobs]))
    finally:
        await provider.aclose()


def _process_entry(url: str, database_url: str, prefix: str) -> list[str]:
    results = asyncio.run(_run_many(url, database_url, _atoms(prefix, 50)))
    return [result.status.value for result in results]


@pytest.fixture
def server() -> Iterator[MessagesApiServer]:
    answer = "```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```"
    with MessagesApiServer(lambda request: answer) as running:
        yield running


def _open_budget(store: MgeStore) -> None:
    store.start_execution(
        execution_id="run1",
        plan=make_plan(),
        total_waves=1,
        budget_usd=BUDGET,
        provider="anthropic",
        model="claude-sonnet-4-6",
        output_dir="/tmp/x",
    )


def _billed(server: MessagesApiServer) -> float:
    return server.usage.cost(PRICE)


def test_hundred_concurrent_atoms_never_exceed_the_budget(
    server: MessagesApiServer, store: MgeStore
) -> None:
    _open_budget(store)
    results = asyncio.run(_run_many(server.url, store.url, _atoms("a", 100)))
    statuses = [r.status for r in results]
    info = store.execution_info("run1")
    assert info is not None
    assert AtomStatus.SKIPPED in statuses and AtomStatus.SUCCEEDED in statuses
    assert set(statuses) == {AtomStatus.SKIPPED, AtomStatus.SUCCEEDED}
    assert info.spent_usd <= BUDGET
    assert info.spent_usd == pytest.approx(_billed(server), abs=1e-9)
    assert info.reserved_usd == pytest.approx(0, abs=1e-9)
    assert len(server.requests) == statuses.count(AtomStatus.SUCCEEDED)


def test_two_processes_share_one_budget(server: MessagesApiServer, store: MgeStore) -> None:
    _open_budget(store)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        outcomes = pool.starmap(
            _process_entry, [(server.url, store.url, "p"), (server.url, store.url, "q")]
        )
    statuses = [status for outcome in outcomes for status in outcome]
    info = store.execution_info("run1")
    assert info is not None
    assert "skipped" in statuses
    assert info.spent_usd <= BUDGET
    assert info.spent_usd == pytest.approx(_billed(server), abs=1e-9)
    assert len(server.requests) == statuses.count("succeeded")
