"""The steps of a run around the atoms: prepare, close a wave, finalize. No Dagster here."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from mge_pipeline import constants as c
from mge_pipeline.domain import (
    AtomStatus,
    ExecutionStatus,
    LevelValidation,
    MasterPlan,
    WaveSummary,
)
from mge_pipeline.execution.assembly import assemble_files
from mge_pipeline.execution.output import write_output
from mge_pipeline.execution.plan_bundle import PlanBundle
from mge_pipeline.execution.report import RunReport, build_report, render_markdown
from mge_pipeline.execution.run_context import RunContext, RunSettings
from mge_pipeline.execution.waves import wave_stop_reason
from mge_pipeline.generation import LLMProvider
from mge_pipeline.store import MgeStore
from mge_pipeline.validation import PythonSandbox
from mge_pipeline.validation.levels import blocking_failures, validate_levels

MASTERPLAN_COMPLETED = "completed"
MASTERPLAN_FAILED = "failed"
MASTERPLAN_RUNNING = "running"


def prepare_run(
    bundle: PlanBundle,
    settings: RunSettings,
    store: MgeStore,
    execution_id: str,
    provider: LLMProvider,
) -> RunContext:
    plan = bundle.plan
    store.save_masterplan(plan, status=MASTERPLAN_RUNNING)
    store.save_atoms(plan, bundle.waves, bundle.spec_hashes)
    store.start_execution(
        execution_id=execution_id,
        plan=plan,
        total_waves=len(bundle.waves),
        budget_usd=settings.budget_usd,
        provider=provider.name,
        model=provider.model,
        output_dir=settings.output_dir,
    )
    return RunContext(execution_id=execution_id, masterplan_id=plan.id, settings=settings)


def run_tags(plan: MasterPlan, provider: LLMProvider) -> dict[str, str]:
    return {
        c.TAG_MASTERPLAN_ID: plan.id,
        c.TAG_MASTERPLAN_REVISION: plan.revision(),
        c.TAG_PROVIDER: provider.name,
        c.TAG_MODEL: provider.model,
    }


def close_wave(
    bundle: PlanBundle, run: RunContext, wave_index: int, started_monotonic: float, store: MgeStore
) -> tuple[RunContext, WaveSummary, list[dict[str, Any]]]:
    """Summarise the wave from the store and decide whether the run goes on.

    Returns the wave's atom rows too, for the op's Markdown table.
    """
    rows = [r for r in store.atom_results(run.execution_id) if r["wave_index"] == wave_index]
    count = {status: sum(1 for r in rows if r["status"] == status.value) for status in AtomStatus}
    summary = WaveSummary(
        wave_index=wave_index,
        atoms_total=len(bundle.waves[wave_index]),
        succeeded=count[AtomStatus.SUCCEEDED],
        cached=count[AtomStatus.CACHED],
        failed=count[AtomStatus.FAILED],
        blocked=count[AtomStatus.BLOCKED],
        skipped=count[AtomStatus.SKIPPED],
        attempts=sum(r["attempt_count"] for r in rows),
        cost_usd=sum(r["cost_usd"] for r in rows),
        duration_seconds=time.monotonic() - started_monotonic,
    )
    store.record_wave(run.execution_id, summary)
    if run.stop_reason:
        return run, summary, rows
    skip_reasons = sorted(r["reason"] for r in rows if r["status"] == AtomStatus.SKIPPED.value)
    reason = wave_stop_reason(
        wave_index,
        summary.success_rate,
        run.settings.wave_stop_threshold,
        skip_reasons[0] if skip_reasons else None,
    )
    return RunContext(run.execution_id, run.masterplan_id, run.settings, reason), summary, rows


async def finalize_run(
    bundle: PlanBundle, run: RunContext, store: MgeStore, sandbox: PythonSandbox
) -> RunReport:
    """Files and reports are written whole even when the run failed: nothing validated is lost."""
    codes = await anyio.to_thread.run_sync(
        lambda: store.validated_codes(run.execution_id, list(bundle.atoms))
    )
    files = assemble_files(bundle.atoms, codes, bundle.graph)
    levels = await validate_levels(bundle.plan, codes, files, sandbox)
    acceptance = await _acceptance(bundle, files, codes, sandbox)
    command = await _test_command(bundle, files, codes, sandbox)
    failures = [check.summary for check in (acceptance, command) if check.passed is False]
    reason = run.stop_reason or _levels_reason(levels) or (failures[0] if failures else None)
    status = ExecutionStatus.FAILED if reason else ExecutionStatus.COMPLETED

    def conclude() -> RunReport:
        for level in levels:
            store.record_level_validation(run.execution_id, level)
        return _conclude(
            bundle, run, store, files, status, reason, acceptance, command, sandbox.isolation
        )

    return await anyio.to_thread.run_sync(conclude)


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
) -> RunReport:
    store.finish_execution(run.execution_id, status=status, reason=reason)
    plan_status = MASTERPLAN_COMPLETED if status is ExecutionStatus.COMPLETED else MASTERPLAN_FAILED
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
        }
    )
    outputs = dict(files)
    outputs["report.json"] = json.dumps(report.model_dump(mode="json"), indent=2) + "\n"
    outputs["report.md"] = render_markdown(report)
    write_output(Path(run.settings.output_dir), outputs)
    return report


@dataclass(frozen=True)
class AcceptanceResult:
    passed: bool | None
    summary: str
    output: str = ""


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
    return AcceptanceResult(passed, summary, outcome.stderr_tail[-1500:])


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
    outcome = await sandbox.run_command(files, list(argv))
    shown = " ".join(argv)
    if outcome.timed_out:
        return AcceptanceResult(False, f"test command timed out: {shown}", outcome.stderr_tail)
    if outcome.returncode == 0:
        return AcceptanceResult(True, "passed", outcome.stderr_tail[-1500:])
    summary = f"test command failed (exit code {outcome.returncode}): {shown}"
    return AcceptanceResult(False, summary, outcome.stderr_tail[-1500:])
