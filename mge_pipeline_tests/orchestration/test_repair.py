"""Plan-level failures sent back to their atoms, through the compiled Dagster job: a fault the
atom's checks cannot see fails the test command, the atom is regenerated with the failure as
feedback, and the run ends completed with the repair in the report."""

from __future__ import annotations

from pathlib import Path

import pytest

from mge_pipeline.generation import SimulatedModel
from mge_pipeline.generation.faults import FaultKind
from mge_pipeline.store import MgeStore
from mge_pipeline_tests.factories import make_atom, make_plan
from mge_pipeline_tests.orchestration.helpers import run_plan

pytestmark = pytest.mark.integration

FAULT_RATE = 0.5
_UNSEEN = {FaultKind.EXCEPTION, FaultKind.WRONG_RESULT, FaultKind.MISSING_IMPORT}


def _seed() -> int:
    """A seed whose first answer for ``outer`` carries a fault untested code lets through,
    and whose second answer (and ``inner``'s first) is clean."""
    for seed in range(2000):
        model = SimulatedModel(seed=seed, fault_rate=FAULT_RATE)
        if (
            model.choose_fault("inner", 1) is None
            and model.choose_fault("outer", 1) in _UNSEEN
            and model.choose_fault("outer", 2) is None
        ):
            return seed
    raise AssertionError("no seed found")


def _plan(**overrides: object):  # type: ignore[no-untyped-def]
    inner = make_atom(id="inner", tests="")
    outer = make_atom(
        id="outer",
        tests="",
        depends_on=["inner"],
        reference_implementation="def outer(a: int, b: int) -> int:\n    return inner(a, b)\n",
    )
    check = "from pkg.core import outer\nassert outer(2, 3) == 5\n"
    return make_plan(inner, outer, test_command=["python", "-c", check], **overrides)


def test_a_failing_test_command_regenerates_the_atom_it_traces_to(
    tmp_path: Path, database_url: str
) -> None:
    plan = _plan()
    run = run_plan(plan, tmp_path, database_url, fault_rate=FAULT_RATE, seed=_seed(), max_mutants=0)
    assert run.report is not None
    assert run.report["status"] == "completed", run.report["reason"]
    assert run.report["test_command"] == "passed"
    assert run.report["repairs"] == [
        "round 1 after test command failed (exit code 1): python -c "
        "from pkg.core import outer assert outer(2, 3) == 5: regenerated outer"  # one line
    ]
    atoms = {a["atom_id"]: a for a in run.report["atoms"]}
    assert atoms["outer"]["attempts"] == 2 and atoms["inner"]["attempts"] == 1
    assert atoms["outer"]["evidence"] == ["test_command"]
    store = MgeStore(database_url)
    attempts = store.attempts(store.executions(plan.id)[0].execution_id)
    assert [(a.atom_id, a.attempt_number, a.passed) for a in attempts if a.atom_id == "outer"] == [
        ("outer", 1, True),
        ("outer", 2, True),
    ]
    assert (
        "- Repairs: round 1 after test command failed" in (run.output_dir / "report.md").read_text()
    )


def test_without_repair_rounds_the_failure_ends_the_run(tmp_path: Path, database_url: str) -> None:
    run = run_plan(
        _plan(), tmp_path, database_url, fault_rate=FAULT_RATE, seed=_seed(), max_mutants=0,
        repair_rounds=0,
    )  # fmt: skip
    assert run.report is not None and run.report["status"] == "failed"
    assert run.report["repairs"] == []


def _task_tested_plan():  # type: ignore[no-untyped-def]
    """The same fault in `outer`, this time seen only by the task's own tests: one named after
    `outer` (its doctest evidence), one hand-written that only calls `inner`."""
    inner = make_atom(id="inner", tests="")
    outer = make_atom(
        id="outer",
        tests="",
        depends_on=["inner"],
        reference_implementation="def outer(a: int, b: int) -> int:\n    return inner(a, b)\n",
    )
    tests = (
        "from pkg.core import inner, outer\n\n\n"
        "def test_doctests_of_outer():\n    assert outer(2, 3) == 5\n\n\n"
        "def test_inner_alone():\n    assert inner(1, 1) == 2\n"
    )
    return make_plan(inner, outer, task_tests=tests)


def test_a_failing_task_test_regenerates_its_atom_and_then_is_its_evidence(
    tmp_path: Path, database_url: str
) -> None:
    plan = _task_tested_plan()
    run = run_plan(plan, tmp_path, database_url, fault_rate=FAULT_RATE, seed=_seed(), max_mutants=0)
    assert run.report is not None
    assert run.report["status"] == "completed", run.report["reason"]
    assert run.report["repairs"] == [
        "round 1 after the tests of task t1 failed: test_doctests_of_outer: regenerated outer"
    ], "the faulty outer raises before calling inner: only the passing test ran it"
    atoms = {a["atom_id"]: a for a in run.report["atoms"]}
    assert atoms["outer"]["attempts"] == 2 and atoms["inner"]["attempts"] == 1
    assert atoms["outer"]["evidence"] == ["doctests"]
    assert atoms["inner"]["evidence"] == [], "a test not named after an atom credits no one"


def test_without_repair_a_failing_task_test_fails_the_run_naming_its_atom(
    tmp_path: Path, database_url: str
) -> None:
    run = run_plan(
        _task_tested_plan(), tmp_path, database_url, fault_rate=FAULT_RATE, seed=_seed(),
        max_mutants=0, repair_rounds=0,
    )  # fmt: skip
    assert run.report is not None and run.report["status"] == "failed"
    assert run.report["reason"] == "task validation failed for t1 (implicated atoms: outer)"
    task = next(level for level in run.report["levels"] if level["scope_id"] == "t1")
    [issue] = [i for i in task["issues"] if i["check"] == "tests"]
    assert issue["message"] == "the tests of task t1 failed: test_doctests_of_outer"
