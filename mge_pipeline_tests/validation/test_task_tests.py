"""A task's own tests read per test: a passing test named after an atom is its doctest
evidence, a failing one names its atom; without the launcher's per-test record nothing is
credited."""

from __future__ import annotations

from mge_pipeline.domain import Severity
from mge_pipeline.domain.evidence import doctest_name_for
from mge_pipeline.validation.levels.task_tests import judge_task_tests, task_tests_issues
from mge_pipeline.validation.sandbox import SandboxOutcome
from mge_pipeline_tests.factories import make_atom, make_plan

TESTS_LINE = (
    'MGE-TESTS: {"failed":{"__mge_task_tests__.py::test_doctests_of_b":[["pkg/core.py","b"]]},'
    '"passed":["__mge_task_tests__.py::test_doctests_of_a",'
    '"__mge_task_tests__.py::test_round_trip"],"complete":true}\n'
)


def _task():  # type: ignore[no-untyped-def]
    plan = make_plan(
        make_atom(id="a"),
        make_atom(id="b", name="b", signature="def b():"),
        task_tests="def test_doctests_of_a():\n    pass\n",
    )
    return plan.phases[0].milestones[0].tasks[0]


def _outcome(output: str, returncode: int = 1, timed_out: bool = False) -> SandboxOutcome:
    return SandboxOutcome(None, timed_out, returncode, output, 1.0)


def test_names_follow_atom_ids() -> None:
    assert doctest_name_for("pkg.mod.Stack-2") == "test_doctests_of_pkg_mod_Stack_2"


def test_a_passing_named_test_credits_its_atom_and_a_failing_one_names_its_atom() -> None:
    task = _task()
    run = judge_task_tests(task, _outcome("F..\n" + TESTS_LINE))
    assert not run.passed and run.verified == ("a",) and run.named == ("b",)
    assert run.summary == "the tests of task t1 failed: test_doctests_of_b"
    assert run.outcomes is not None and list(run.outcomes.failed) == [
        "__mge_task_tests__.py::test_doctests_of_b"
    ]
    [issue] = task_tests_issues(run, task)
    assert issue.severity is Severity.ERROR and issue.check == "tests" and issue.atom_ids == ["b"]


def test_a_run_that_said_nothing_per_test_credits_no_one_and_implicates_the_task() -> None:
    task = _task()
    run = judge_task_tests(task, _outcome("ImportError while loading module\n", returncode=4))
    assert not run.passed and run.verified == () and run.named == ()
    assert run.summary.startswith("the tests of task t1 exited 4: ")
    assert task_tests_issues(run, task)[0].atom_ids == ["a", "b"]
    timed_out = judge_task_tests(task, _outcome("", returncode=None, timed_out=True))  # type: ignore[arg-type]
    assert timed_out.summary == "the tests of task t1 timed out"
    unrecorded = judge_task_tests(task, _outcome("2 passed in 0.1s\n", returncode=0))
    assert unrecorded.passed and unrecorded.verified == (), "passed, but no one to credit"
    passing = judge_task_tests(
        task, _outcome(TESTS_LINE.replace('"failed":{', '"failed":{}, "x":{'), 0)
    )
    assert passing.passed and passing.verified == ("a",) and task_tests_issues(passing, task) == []
