"""The end of a run: assemble, validate the levels above the atoms, write files and reports.

Files and reports are written whole even when the run failed, so nothing validated is lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import anyio

from mge_pipeline.domain import EvidenceKind, ExecutionStatus, LevelValidation
from mge_pipeline.domain.records import MasterplanStatus
from mge_pipeline.execution.assembly import assemble_files
from mge_pipeline.execution.evidence import exercised_atoms
from mge_pipeline.execution.lifecycle import status_for_stop
from mge_pipeline.execution.output import write_output
from mge_pipeline.execution.plan_bundle import PlanBundle
from mge_pipeline.execution.repair import (
    doctest_example_atoms,
    failing_tests_atoms,
    failure_feedback,
    suspects,
    traceback_atoms,
)
from mge_pipeline.execution.report import RunReport, build_report, render_markdown
from mge_pipeline.execution.run_context import RunContext
from mge_pipeline.execution.run_service import RunServices, regenerate_atom
from mge_pipeline.review.queue import queue_for_review
from mge_pipeline.store import MgeStore
from mge_pipeline.validation import PythonSandbox
from mge_pipeline.validation.levels import (
    LevelsCheck,
    TaskTestsRun,
    blocking_failures,
    check_levels,
)
from mge_pipeline.validation.test_command import (
    called_functions,
    describe_command,
    exercised_files,
    isolated_command,
    per_test_outcomes,
    runs_node,
)


async def finalize(services: RunServices) -> RunReport:
    """The run's report; the stop reason is read from the store, where every process wrote it."""
    services.board.close()
    services.finalizing = True
    bundle, run, sandbox = services.bundle, services.run, services.sandbox
    store = services.store.sync
    codes, files, checked, acceptance, command = await _check_plan(services)
    repairs: list[str] = []
    for round_number in range(1, run.settings.repair_rounds + 1):
        failed = _task_test_failures(bundle, checked.task_tests)
        failed += [check for check in (acceptance, command) if check.passed is False]
        if not failed or services.stop_reason:
            break
        repaired = await _repair(services, files, failed)
        what = " and ".join(check.summary for check in failed)
        repairs.append(
            f"round {round_number} after {what}: regenerated {', '.join(repaired) or 'nothing'}"
        )
        if not repaired:
            break
        codes, files, checked, acceptance, command = await _check_plan(services)
    levels = checked.levels
    doctested = [atom_id for t in checked.task_tests for atom_id in t.verified]
    failures = [check.summary for check in (acceptance, command) if check.passed is False]
    stop_reason = await services.store.stop_reason(run.execution_id)
    reason = stop_reason or _levels_reason(levels) or (failures[0] if failures else None)
    reason = reason or _unvalidated_reason(bundle, codes)
    status = ExecutionStatus.FAILED if reason else ExecutionStatus.COMPLETED
    status = status_for_stop(stop_reason) or status

    def conclude() -> RunReport:
        for level in levels:
            store.record_level_validation(run.execution_id, level)
        store.add_evidence(run.execution_id, command.exercised_atoms, EvidenceKind.TEST_COMMAND)
        store.add_evidence(run.execution_id, doctested, EvidenceKind.DOCTESTS)
        report = _conclude(
            bundle,
            run,
            store,
            files,
            status,
            reason,
            acceptance,
            command,
            _isolation(sandbox),
            repairs,
        )
        queue_for_review(
            store, bundle.plan, run.execution_id, levels, run.settings.policy.max_attempts
        )
        return report

    try:
        return await anyio.to_thread.run_sync(conclude)
    finally:
        services.stop_watching()


def _isolation(sandbox: PythonSandbox) -> str | None:
    """The sandbox's isolation for the report, with the reason when it is only the weak guard."""
    if sandbox.weak_reason:
        return f"{sandbox.isolation} (WEAK: {sandbox.weak_reason})"
    return sandbox.isolation


def _unvalidated_reason(bundle: PlanBundle, codes: dict[str, str]) -> str | None:
    """A run that left atoms without validated code did not complete, whatever else passed."""
    missing = [atom_id for atom_id in bundle.atoms if atom_id not in codes]
    if not missing:
        return None
    shown = ", ".join(missing[:5]) + (", …" if len(missing) > 5 else "")
    return f"{len(missing)} of {len(bundle.atoms)} atoms did not validate: {shown}"


def _levels_reason(levels: list[LevelValidation]) -> str | None:
    """The first level that failed for its own reasons, with the atoms to regenerate."""
    failing = blocking_failures(levels)
    if not failing:
        return None
    first = failing[0]
    atoms = ", ".join(first.implicated_atoms) or "none named"
    return f"{first.level} validation failed for {first.scope_id} (implicated atoms: {atoms})"


def _conclude(
    bundle: PlanBundle,
    run: RunContext,
    store: MgeStore,
    files: dict[str, str],
    status: ExecutionStatus,
    reason: str | None,
    acceptance: AcceptanceResult,
    command: AcceptanceResult,
    isolation: str | None = None,
    repairs: list[str] | None = None,
) -> RunReport:
    store.finish_execution(run.execution_id, status=status, reason=reason)
    plan_status = {
        ExecutionStatus.COMPLETED: MasterplanStatus.COMPLETED,
        ExecutionStatus.CANCELLED: MasterplanStatus.CANCELLED,
        ExecutionStatus.PAUSED: MasterplanStatus.PAUSED,
    }.get(status, MasterplanStatus.FAILED)
    store.set_masterplan_status(bundle.plan.id, plan_status)
    state = store.execution_state(run.execution_id)
    info = store.execution_info(run.execution_id)
    assert state is not None and info is not None, "the execution row was written by prepare"
    report = build_report(
        bundle.plan,
        state,
        info,
        store.atom_results(run.execution_id),
        store.attempts(run.execution_id),
        store.wave_summaries(run.execution_id),
        sorted(files),
    )
    report = report.model_copy(
        update={
            "acceptance": acceptance.summary,
            "acceptance_output": acceptance.output,
            "levels": store.level_validations(run.execution_id),
            "sandbox_isolation": isolation,
            "test_command": command.summary,
            "test_command_output": command.output,
            "repairs": repairs or [],
        }
    )
    outputs = dict(files)
    outputs["report.json"] = json.dumps(report.model_dump(mode="json"), indent=2) + "\n"
    outputs["report.md"] = render_markdown(report)
    write_output(Path(run.settings.output_dir), outputs)
    return report


async def _check_plan(
    services: RunServices,
) -> tuple[dict[str, str], dict[str, str], LevelsCheck, AcceptanceResult, AcceptanceResult]:
    """Assemble the validated atoms and run every check above them."""
    bundle, sandbox = services.bundle, services.sandbox
    codes = await services.store.validated_codes(services.execution_id, list(bundle.atoms))
    files = assemble_files(bundle.atoms, codes, bundle.graph, bundle.plan.project_files)
    checked = await check_levels(bundle.plan, codes, files, sandbox)
    acceptance = await _acceptance(bundle, files, codes, sandbox)
    command = await _test_command(bundle, files, codes, sandbox)
    return codes, files, checked, acceptance, command


def _task_test_failures(bundle: PlanBundle, runs: list[TaskTestsRun]) -> list[AcceptanceResult]:
    """Failing task tests as checks to repair: suspects are the atoms the failing tests are
    named after, then what they called (per test), as the launcher recorded it."""
    failures = []
    for run in runs:
        if run.passed:
            continue
        task_atoms = [a for a in bundle.atoms.values() if a.id in _atoms_of_task(bundle, run)]
        called = failing_tests_atoms(run.outcomes, task_atoms) or []
        suspected = tuple(dict.fromkeys([*run.named, *called]))
        failures.append(AcceptanceResult(False, run.summary, "", (), suspected, run.output))
    return failures


def _atoms_of_task(bundle: PlanBundle, run: TaskTestsRun) -> set[str]:
    task_of = bundle.plan.task_of()
    return {atom_id for atom_id, task_id in task_of.items() if task_id == run.task_id}


async def _repair(
    services: RunServices, files: dict[str, str], failed: list[AcceptanceResult]
) -> list[str]:
    """Regenerate the atoms suspected of the failures; the ones that validated anew."""
    bundle = services.bundle
    outputs = [check.raw or check.output for check in failed]
    traced = traceback_atoms("\n".join(outputs), files, bundle.atoms.values())
    called = [atom_id for check in failed for atom_id in check.called_atoms]
    # A failed doctest example names what it called: ``s.peek()`` points at ``peek``.
    named = doctest_example_atoms("\n".join(outputs), [bundle.atoms[a] for a in called])
    traced = list(dict.fromkeys([*traced, *named]))
    rows = {r.atom_id: r for r in await services.store.atom_results(services.execution_id)}
    attempts = await services.store.attempts(services.execution_id)
    feedback = failure_feedback(outputs)
    repaired = []
    for atom_id in suspects(traced, called, rows):
        mine = sorted((a for a in attempts if a.atom_id == atom_id), key=lambda a: a.attempt_number)
        if await regenerate_atom(services, atom_id, feedback, mine) is not None:
            repaired.append(atom_id)
    return repaired


@dataclass(frozen=True)
class AcceptanceResult:
    passed: bool | None
    summary: str
    output: str = ""
    exercised_atoms: tuple[str, ...] = ()
    """Atoms whose code a passing test command ran: they get its behavioural evidence."""
    called_atoms: tuple[str, ...] = ()
    """Suspects when it failed: atoms whose code the failing tests ran (pytest under the
    launcher), else atoms whose code the command ran."""
    raw: str = ""
    """The whole output the sandbox kept, for locating a failure in tracebacks."""


async def _acceptance(
    bundle: PlanBundle, files: dict[str, str], codes: dict[str, str], sandbox: PythonSandbox
) -> AcceptanceResult:
    """The plan's own tests, against the assembled files, only when every atom validated."""
    tests = bundle.plan.acceptance_tests
    if not tests.strip():
        return AcceptanceResult(None, "none defined")
    missing = len(bundle.atoms) - len(codes)
    if missing:
        return AcceptanceResult(None, f"not run: {missing} atoms did not validate")
    outcome = await sandbox.run_pytest(files, tests)
    if outcome.timed_out:
        return AcceptanceResult(False, "acceptance tests timed out", outcome.stderr_tail)
    passed = bool(outcome.result and outcome.result.get("ok"))
    summary = "passed" if passed else "acceptance tests failed"
    return AcceptanceResult(passed, summary, outcome.stderr_tail[-1500:], raw=outcome.stderr_tail)


async def _test_command(
    bundle: PlanBundle, files: dict[str, str], codes: dict[str, str], sandbox: PythonSandbox
) -> AcceptanceResult:
    """The plan's own command (say, the project's test suite) run in the assembled files."""
    argv = bundle.plan.test_command
    if not argv:
        return AcceptanceResult(None, "none defined")
    missing = len(bundle.atoms) - len(codes)
    if missing:
        return AcceptanceResult(None, f"not run: {missing} atoms did not validate")
    staged, command = isolated_command(files, argv)
    outcome = await sandbox.run_command(staged, command, limit_address_space=not runs_node(argv))
    shown = describe_command(argv)
    exercised = exercised_files(outcome.stderr_tail)
    tail = outcome.stderr_tail[-1500:]
    if exercised is not None:
        tail = f"rebuilt files exercised ({len(exercised)}): {', '.join(exercised)}\n{tail}"
    if outcome.timed_out:
        return AcceptanceResult(False, f"test command timed out: {shown}", tail)
    if outcome.returncode == 0 and exercised == []:
        return AcceptanceResult(
            False, f"test command loaded none of the rebuilt files: {shown}", tail
        )
    called = called_functions(outcome.stderr_tail)
    ran = tuple(exercised_atoms(bundle.atoms.values(), called, exercised))
    if outcome.returncode == 0:
        return AcceptanceResult(True, "passed", tail, ran, ran, outcome.stderr_tail)
    summary = f"test command failed (exit code {outcome.returncode}): {shown}"
    # Under pytest the suspects are what the failing tests ran, not the whole suite's calls.
    by_failing = failing_tests_atoms(per_test_outcomes(outcome.stderr_tail), bundle.atoms.values())
    suspected = ran if by_failing is None else tuple(by_failing)
    return AcceptanceResult(False, summary, tail, (), suspected, outcome.stderr_tail)
