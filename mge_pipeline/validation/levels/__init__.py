"""Hierarchical validation: task, milestone and masterplan levels, each with a score and issues.

They run once the atoms are done (at finalize, over the assembled files), tasks first, then
milestones, then the masterplan. Whatever needs to execute code — a task's test command, the
import of a milestone's modules, the JavaScript/TypeScript program compiled and loaded (once,
its findings reported at each level for that level's files) — runs in the sandbox.
"""

from __future__ import annotations

import json
import time
from typing import Protocol

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


async def validate_levels(
    plan: MasterPlan, codes: dict[str, str], files: dict[str, str], sandbox: CommandRunner
) -> list[LevelValidation]:
    context = LevelContext.build(plan, codes, files)
    started = time.perf_counter()
    program = await check_program(node_files(context), sandbox) if plan_uses_node(context) else []
    program_seconds = time.perf_counter() - started
    results: list[LevelValidation] = []
    milestones = [m for phase in plan.phases for m in phase.milestones]
    for milestone in milestones:
        for task in milestone.tasks:
            results.append(await _task(context, task, sandbox, program))
    for milestone in milestones:
        results.append(await _milestone(context, milestone, sandbox, program))
    started = time.perf_counter() - program_seconds
    found = missing_atoms(context, list(context.atoms)) + masterplan_issues(context)
    found += program_issues(context, program, None)
    results.append(
        verdict(ValidationLevel.MASTERPLAN, plan.id, found, time.perf_counter() - started)
    )
    return results


def blocking_failures(results: list[LevelValidation]) -> list[LevelValidation]:
    """Levels failing for another reason than atoms that did not validate (precision has those)."""
    return [
        r
        for r in results
        if any(i.severity is Severity.ERROR and i.check != COMPLETENESS for i in r.issues)
    ]


async def _task(
    context: LevelContext, task: Task, sandbox: CommandRunner, program: list[ProgramFinding]
) -> LevelValidation:
    started = time.perf_counter()
    ids = [a.id for a in task.atoms]
    found = missing_atoms(context, ids) + task_issues(context, task)
    found += program_issues(context, program, ids)
    if task.test_command and all(a in context.codes for a in ids):
        found += await _task_command(context, task, sandbox)
    return verdict(ValidationLevel.TASK, task.id, found, time.perf_counter() - started)


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


__all__ = ["blocking_failures", "validate_levels"]
