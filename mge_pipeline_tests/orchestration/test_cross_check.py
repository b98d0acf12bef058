"""The cross-check through the compiled Dagster job, with the simulated model at its default
fault rate: a wrong result the atom's weak tests miss is caught before the atom settles."""

from __future__ import annotations

from pathlib import Path

import pytest

from mge_pipeline.constants import DEFAULT_FAULT_RATE
from mge_pipeline.store import MgeStore
from mge_pipeline_tests.factories import make_atom, make_plan
from mge_pipeline_tests.orchestration.helpers import run_plan

pytestmark = pytest.mark.integration

GOOD = (
    "def is_prime(n: int) -> bool:\n"
    "    if n < 2:\n"
    "        return False\n"
    "    return all(n % k for k in range(2, n))\n"
)
SEED = 378
"""At this seed the simulated model's first answer for ``is_prime`` is ``if n < 3`` (a wrong
result that ``assert is_prime(5)``, ``not is_prime(4)``, ``is_prime(7)`` never notice); its
first cross-check sample loops for ever, the second is right."""


def _plan():  # type: ignore[no-untyped-def]
    atom = make_atom(
        id="is_prime", signature="def is_prime(n: int) -> bool:",
        description="whether n is a prime number", reference_implementation=GOOD,
        tests="assert is_prime(5)\nassert not is_prime(4)\nassert is_prime(7)\n",
    )  # fmt: skip
    return make_plan(atom)


def test_a_wrong_result_the_tests_miss_is_caught_and_regenerated(
    tmp_path: Path, database_url: str
) -> None:
    run = run_plan(_plan(), tmp_path, database_url, fault_rate=DEFAULT_FAULT_RATE, seed=SEED)
    assert run.success and run.report is not None
    (atom,) = run.report["atoms"]
    assert atom["status"] == "succeeded" and atom["attempts"] == 2
    assert atom["evidence"] == ["own_tests", "cross_check"]
    assert "if n < 2:" in (run.output_dir / "pkg" / "core.py").read_text()
    store = MgeStore(database_url)
    execution = store.executions("plan")[0]
    first, second = store.attempts(execution.execution_id)
    assert not first.passed and "on input is_prime(2) this answer returned False" in first.errors[0]
    assert (
        "cross-check rejected" in first.warnings[-1]
        and "3 independent sample call(s)" in first.warnings[-1]
    )
    assert second.passed and "cross-check agreed" in second.warnings[-1]
    # Every call is booked: the run's spend is the attempts' cost, samples included.
    assert execution.total_cost_usd == pytest.approx(first.cost_usd + second.cost_usd)
    # The report says what the cross-check did and what its samples cost.
    checks = run.report["cross_checks"]
    assert (checks["agreed"], checks["rejected"], checks["inconclusive"]) == (1, 1, 0)
    assert checks["sample_calls"] >= 4 and 0 < checks["cost_usd"] < execution.total_cost_usd
    markdown = (run.output_dir / "report.md").read_text()
    assert (
        "- Cross-checks: 2 answers checked against independent samples — 1 agreed, 1 rejected"
        in markdown
    )


def test_without_the_cross_check_the_same_run_ships_the_wrong_result(
    tmp_path: Path, database_url: str
) -> None:
    run = run_plan(
        _plan(), tmp_path, database_url, fault_rate=DEFAULT_FAULT_RATE, seed=SEED,
        cross_check="off",
    )  # fmt: skip
    assert run.success and run.report is not None
    (atom,) = run.report["atoms"]
    assert atom["attempts"] == 1 and atom["evidence"] == ["own_tests"]
    assert atom["surviving_mutants"]  # mutation still flags the weak tests, after the fact
    assert "if n < 3:" in (run.output_dir / "pkg" / "core.py").read_text()
    assert run.report["cross_checks"]["sample_calls"] == 0
    assert "- Cross-checks: none" in (run.output_dir / "report.md").read_text()
