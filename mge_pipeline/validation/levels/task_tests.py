"""A task's own tests, run once its atoms are complete: where doctests that need later atoms run.

An atom is checked alone, with only the atoms it depends on, so a class docstring whose
examples call its methods (atoms of later waves) cannot run there. The atomizer writes such
examples into the task's ``tests`` under a test named after the atom; here they run under pytest
in the sandbox, through the test-command launcher (rebuilt files only, calls recorded per test),
against the task's assembled files. A passing test named after an atom is that atom's doctest
evidence; a failing one names its atom, and the launcher's per-test record says what the
failing tests called: the suspects of the repair ``finalize`` runs, as for a failing acceptance
test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mge_pipeline.domain import ErrorCategory, LevelIssue, Severity, Task
from mge_pipeline.domain.evidence import doctest_name_for
from mge_pipeline.validation.levels.context import LevelContext, issue
from mge_pipeline.validation.sandbox import SandboxOutcome
from mge_pipeline.validation.test_command import (
    PerTestOutcomes,
    isolated_command,
    per_test_outcomes,
    without_markers,
)

if TYPE_CHECKING:
    from mge_pipeline.validation.levels import CommandRunner

TASK_TESTS_FILE = "__mge_task_tests__.py"
TASK_TESTS_TIMEOUT_SECONDS = 120.0
CHECK = "tests"
_PYTEST = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", TASK_TESTS_FILE]


@dataclass(frozen=True)
class TaskTestsRun:
    """What a task's tests said: who earned doctest evidence, and who to suspect."""

    task_id: str
    passed: bool
    summary: str
    verified: tuple[str, ...] = ()
    """Atoms whose own test (``test_doctests_of_<atom>``) passed."""
    named: tuple[str, ...] = ()
    """When failing: the atoms the failing tests are named after."""
    outcomes: PerTestOutcomes | None = None
    """Per test, as the launcher recorded it: what the failing tests called."""
    output: str = ""


async def run_task_tests(context: LevelContext, task: Task, sandbox: CommandRunner) -> TaskTestsRun:
    """Run ``task.tests`` under pytest against the assembled files."""
    staged, command = isolated_command(context.files, _PYTEST)
    staged[TASK_TESTS_FILE] = task.tests
    outcome = await sandbox.run_command(staged, command, timeout_seconds=TASK_TESTS_TIMEOUT_SECONDS)
    return judge_task_tests(task, outcome)


def judge_task_tests(task: Task, outcome: SandboxOutcome) -> TaskTestsRun:
    """The sandbox's outcome read per test: pure, so it is tested without a sandbox."""
    owners = {doctest_name_for(atom.id): atom.id for atom in task.atoms}
    raw = outcome.stderr_tail
    if outcome.timed_out:
        summary = f"the tests of task {task.id} timed out"
        return TaskTestsRun(task.id, False, summary, named=tuple(owners.values()), output=raw)
    outcomes = per_test_outcomes(raw)
    passed = (outcomes.passed or ()) if outcomes is not None else ()
    verified = tuple(dict.fromkeys(owners[n] for n in map(_test_name, passed) if n in owners))
    if outcome.returncode == 0:  # pytest passed them all; without its record none is credited
        return TaskTestsRun(task.id, True, "passed", verified, output=raw)
    failing = list(outcomes.failed) if outcomes else []
    named = tuple(dict.fromkeys(owners[n] for n in map(_test_name, failing) if n in owners))
    if failing:
        shown = ", ".join(_test_name(t) for t in failing[:3]) + (", …" if len(failing) > 3 else "")
        summary = f"the tests of task {task.id} failed: {shown}"
    else:
        tail = " ".join(without_markers(raw).strip().splitlines()[-2:])[-300:]
        summary = f"the tests of task {task.id} exited {outcome.returncode}: {tail}"
    return TaskTestsRun(task.id, False, summary, verified, named, outcomes, raw)


def task_tests_issues(run: TaskTestsRun, task: Task) -> list[LevelIssue]:
    if run.passed:
        return []
    implicated = list(run.named) or [a.id for a in task.atoms]
    category = ErrorCategory.TIMEOUT if "timed out" in run.summary else ErrorCategory.LOGIC
    return [issue(Severity.ERROR, category, CHECK, run.summary, implicated)]


def _test_name(nodeid: str) -> str:
    """``__mge_task_tests__.py::test_doctests_of_x`` → ``test_doctests_of_x``."""
    return nodeid.rsplit("::", 1)[-1].split("[", 1)[0]
