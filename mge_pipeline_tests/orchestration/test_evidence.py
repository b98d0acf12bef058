"""Behavioural evidence and mutation testing through the compiled Dagster job: what the report,
the store and the review scores say about atoms that were, and were not, seen to behave right."""

from __future__ import annotations

from pathlib import Path

import pytest

from mge_pipeline.review.queue import score_run
from mge_pipeline.store import MgeStore
from mge_pipeline_tests.factories import make_atom, make_plan
from mge_pipeline_tests.orchestration.helpers import run_plan

pytestmark = pytest.mark.integration


def test_a_plan_without_behavioural_evidence_says_so_atom_by_atom(
    tmp_path: Path, database_url: str
) -> None:
    plan = make_plan(make_atom(id="a", tests=""), make_atom(id="b", tests=""))
    run = run_plan(plan, tmp_path, database_url, max_mutants=0)
    assert run.success and run.report is not None
    assert run.report["precision_percent"] == 100.0
    assert run.report["verified_precision_percent"] == 0.0 and run.report["atoms_verified"] == 0
    assert [a["evidence"] for a in run.report["atoms"]] == [[], []]
    markdown = (run.output_dir / "report.md").read_text()
    assert "**This plan has no behavioural evidence**" in markdown
    assert "- `a` (pkg/core.py): no behavioural evidence" in markdown
    assert "- `b` (pkg/core.py): no behavioural evidence" in markdown
    assert "- Verified precision: **0.0%** (0/2 atoms" in markdown
    store = MgeStore(database_url)
    state = store.executions(plan.id)[0]
    assert (state.atoms_succeeded, state.atoms_verified) == (2, 0)


def test_the_test_command_is_evidence_only_for_the_atoms_it_ran(
    tmp_path: Path, database_url: str
) -> None:
    """``used`` is called by the command, ``unused`` only imported: it stays unverified."""
    plan = make_plan(
        make_atom(id="used", tests=""),
        make_atom(id="unused", tests=""),
        make_atom(id="tested"),
        test_command=["python", "-c", "from pkg.core import used\nassert used(2, 3) == 5\n"],
    )
    run = run_plan(plan, tmp_path, database_url, max_mutants=0)
    assert run.report is not None and run.report["test_command"] == "passed"
    evidence = {a["atom_id"]: a["evidence"] for a in run.report["atoms"]}
    assert evidence == {"used": ["test_command"], "unused": [], "tested": ["own_tests"]}
    assert run.report["atoms_verified"] == 2
    assert (
        "- `unused` (pkg/core.py): no behavioural evidence"
        in (run.output_dir / "report.md").read_text()
    )


def test_a_surviving_mutant_is_listed_and_lowers_confidence(
    tmp_path: Path, database_url: str
) -> None:
    """The issue's case: no test uses 1, so ``> 0`` becoming ``> 1`` goes unnoticed."""
    weak = make_atom(
        id="is_income",
        signature="def is_income(cents: int) -> bool:",
        reference_implementation="def is_income(cents: int) -> bool:\n    return cents > 0\n",
        tests="assert is_income(500)\nassert not is_income(-20)\nassert not is_income(0)\n",
    )
    strong = make_atom(
        id="is_income_strict",
        signature="def is_income_strict(cents: int) -> bool:",
        reference_implementation=(
            "def is_income_strict(cents: int) -> bool:\n    return cents > 0\n"
        ),
        tests="assert is_income_strict(1)\nassert not is_income_strict(0)\n"
        "assert not is_income_strict(-1)\n",
    )
    plan = make_plan(weak, strong)
    run = run_plan(plan, tmp_path, database_url)
    assert run.report is not None
    atoms = {a["atom_id"]: a for a in run.report["atoms"]}
    assert atoms["is_income"]["surviving_mutants"] == ["off-by-one constant `0` → `1` (line 2)"]
    assert atoms["is_income_strict"]["surviving_mutants"] == []
    assert atoms["is_income_strict"]["mutants_tested"] >= 2
    markdown = (run.output_dir / "report.md").read_text()
    assert "- `is_income`: off-by-one constant `0` → `1` (line 2)" in markdown
    store = MgeStore(database_url)
    execution_id = store.executions(plan.id)[0].execution_id
    _, scores = score_run(
        plan, store.atom_results(execution_id), store.attempts(execution_id), [], 4
    )
    by_atom = {s.atom_id: s for s in scores}
    assert by_atom["is_income"].score < by_atom["is_income_strict"].score
    assert any("mutants survived" in r for r in by_atom["is_income"].reasons)


def test_cached_atoms_keep_their_evidence(tmp_path: Path, database_url: str) -> None:
    plan = make_plan(make_atom(id="a"), make_atom(id="b", tests=""))
    run_plan(plan, tmp_path, database_url, max_mutants=0)
    again = run_plan(plan, tmp_path, database_url, max_mutants=0)
    assert again.report is not None and again.report["atoms_cached"] == 2
    evidence = {a["atom_id"]: a["evidence"] for a in again.report["atoms"]}
    assert evidence == {"a": ["own_tests"], "b": []}
