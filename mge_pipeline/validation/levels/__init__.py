"""Hierarchical validation: task, milestone and masterplan levels, each with a score and issues.

They run once the atoms are done (at finalize, over the assembled files), tasks first, then
milestones, then the masterplan. Whatever needs to execute code — a task's test command and its
own tests (``task_tests``: doctests that needed the task complete), the
import of a milestone's modules, the JavaScript/TypeScript program compiled and loaded (once,
its findings reported at each level for that level's files) — runs in the sandbox.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Protocol

import networkx as nx

from mge_pipeline.domain import (
    ErrorCategory,
    LevelIssue,
    LevelValidation,
    MasterPlan,
    Milestone,
    Severity,
    Task,
    ValidationLevel,
)
from mge_pipeline.planning.graph import build_dependency_graph
from mge_pipeline.validation.levels.context import (
    COMPLETENESS,
    LevelContext,
    issue,
    missing_atoms,
    verdict,
)
from mge_pipeline.validation.levels.masterplan import masterplan_issues
from mge_pipeline.validation.levels.milestone import milestone_atoms, milestone_issues
from mge_pipeline.validation.levels.program import (
    ProgramFinding,
    check_program,
    node_files,
    plan_uses_node,
    program_issues,
)
from mge_pipeline.validation.levels.task import task_issues
from mge_pipeline.validation.levels.task_tests import (
    TaskTestsRun,
    run_task_tests,
    task_tests_issues,
)
from mge_pipeline.validation.sandbox import SandboxOutcome
from mge_pipeline.validation.test_command import (
    describe_command,
    exercised_files,
    isolated_command,
    runs_node,
    without_markers,
)

TASK_COMMAND_TIMEOUT_SECONDS = 300.0
IMPORT_TIMEOUT_SECONDS = 30.0
_IMPORT_SCRIPT = """import importlib, json
failed = {}
for name in %r:
    try:
        importlib.import_module(name)
    except BaseException as exc:
        failed[name] = f"{type(exc).__name__}: {exc}"[:300]
print(json.dumps(failed))
"""


class CommandRunner(Protocol):
    async def run_command(
        self,
        files: dict[str, str],
        argv: list[str],
        *,
        timeout_seconds: float = ...,
        limit_address_space: bool = ...,
    ) -> SandboxOutcome: ...


@dataclass(frozen=True)
class LevelsCheck:
    """Every level's verdict, and what the tasks' own tests said per atom."""

    levels: list[LevelValidation]
    task_tests: list[TaskTestsRun] = field(default_factory=list)


async def validate_levels(
    plan: MasterPlan, codes: dict[str, str], files: dict[str, str], sandbox: CommandRunner
) -> list[LevelValidation]:
    return (await check_levels(plan, codes, files, sandbox)).levels


async def check_levels(
    plan: MasterPlan, codes: dict[str, str], files: dict[str, str], sandbox: CommandRunner
) -> LevelsCheck:
    context = LevelContext.build(plan, codes, files)
    task_runs: list[TaskTestsRun] = []
    started = time.perf_counter()
    program = await check_program(node_files(context), sandbox) if plan_uses_node(context) else []
    program_seconds = time.perf_counter() - started
    results: list[LevelValidation] = []
    milestones = [m for phase in plan.phases for m in phase.milestones]
    for milestone in milestones:
        for task in milestone.tasks:
            results.append(await _task(context, task, sandbox, program, task_runs))
    for milestone in milestones:
        results.append(await _milestone(context, milestone, sandbox, program))
    started = time.perf_counter() - program_seconds
    found = missing_atoms(context, list(context.atoms)) + masterplan_issues(context)
    found += program_issues(context, program, None)
    results.append(
        verdict(ValidationLevel.MASTERPLAN, plan.id, found, time.perf_counter() - started)
    )
    return LevelsCheck(results, task_runs)


def blocking_failures(results: list[LevelValidation]) -> list[LevelValidation]:
    """Levels failing for another reason than atoms that did not validate (precision has those)."""
    return [
        r
        for r in results
        if any(i.severity is Severity.ERROR and i.check != COMPLETENESS for i in r.issues)
    ]


async def _task(
    context: LevelContext,
    task: Task,
    sandbox: CommandRunner,
    program: list[ProgramFinding],
    task_runs: list[TaskTestsRun],
) -> LevelValidation:
    started = time.perf_counter()
    ids = [a.id for a in task.atoms]
    found = missing_atoms(context, ids) + task_issues(context, task)
    found += program_issues(context, program, ids)
    if task.test_command and all(a in context.codes for a in ids):
        found += await _task_command(context, task, sandbox)
    if task.tests.strip() and all(a in context.codes for a in _with_dependencies(context, ids)):
        run = await run_task_tests(context, task, sandbox)
        task_runs.append(run)
        found += task_tests_issues(run, task)
    return verdict(ValidationLevel.TASK, task.id, found, time.perf_counter() - started)


def _with_dependencies(context: LevelContext, ids: list[str]) -> set[str]:
    """The task's atoms and every atom they build on: a task's tests run only when all of
    them have code, so a failure is never an atom of another task that is missing."""
    graph = build_dependency_graph(context.plan)
    needed = set(ids)
    for atom_id in ids:
        needed |= nx.ancestors(graph, atom_id)
    return needed


async def _task_command(
    context: LevelContext, task: Task, sandbox: CommandRunner
) -> list[LevelIssue]:
    """The task's own command, run like the plan's: against the rebuilt files only, and failed
    when it loaded none of them (it then tested something else, say an installed copy)."""
    argv = list(task.test_command or [])
    staged, command = isolated_command(context.files, argv)
    outcome = await sandbox.run_command(
        staged,
        command,
        timeout_seconds=TASK_COMMAND_TIMEOUT_SECONDS,
        limit_address_space=not runs_node(argv),
    )
    ids = [a.id for a in task.atoms]
    shown = describe_command(argv)
    if outcome.timed_out:
        message = f"the task's test command `{shown}` timed out"
        return [issue(Severity.ERROR, ErrorCategory.TIMEOUT, "test_command", message, ids)]
    if outcome.returncode != 0:
        own_output = without_markers(outcome.stderr_tail).strip()
        tail = " ".join(own_output.splitlines()[-3:])[-400:]
        message = f"the task's test command `{shown}` exited {outcome.returncode}: {tail}"
        return [issue(Severity.ERROR, ErrorCategory.LOGIC, "test_command", message, ids)]
    if exercised_files(outcome.stderr_tail) == []:
        message = f"the task's test command `{shown}` loaded none of the rebuilt files"
        return [issue(Severity.ERROR, ErrorCategory.LOGIC, "test_command", message, ids)]
    return []


async def _milestone(
    context: LevelContext,
    milestone: Milestone,
    sandbox: CommandRunner,
    program: list[ProgramFinding],
) -> LevelValidation:
    started = time.perf_counter()
    ids = milestone_atoms(milestone)
    found = missing_atoms(context, ids) + milestone_issues(context, milestone)
    found += program_issues(context, program, ids)
    found += await _imports(context, [a for a in ids if a in context.codes], sandbox)
    return verdict(ValidationLevel.MILESTONE, milestone.id, found, time.perf_counter() - started)


async def _imports(
    context: LevelContext, ids: list[str], sandbox: CommandRunner
) -> list[LevelIssue]:
    """Integration: every module of the milestone imports, beside all the others."""
    modules = context.module_files(ids)
    if not modules:
        return []
    script = _IMPORT_SCRIPT % sorted(modules)
    outcome = await sandbox.run_command(
        context.files, ["python", "-c", script], timeout_seconds=IMPORT_TIMEOUT_SECONDS
    )
    lines = outcome.stderr_tail.strip().splitlines()
    try:
        failed: dict[str, str] = json.loads(lines[-1]) if lines and outcome.returncode == 0 else {}
    except ValueError:
        failed = {}
    if outcome.timed_out or (outcome.returncode != 0 and not failed):
        detail = "timed out" if outcome.timed_out else f"exited {outcome.returncode}"
        return [
            issue(
                Severity.ERROR,
                ErrorCategory.IMPORT,
                "integration",
                f"importing the modules {detail}",
                ids,
            )
        ]
    return [
        issue(
            Severity.ERROR,
            ErrorCategory.IMPORT,
            "integration",
            f"module {name} does not import: {error}",
            context.atoms_in_file(modules[name], ids),
        )
        for name, error in failed.items()
    ]


__all__ = ["LevelsCheck", "TaskTestsRun", "blocking_failures", "check_levels", "validate_levels"]
