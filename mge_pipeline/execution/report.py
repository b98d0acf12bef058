"""The run report: per-atom status, attempts, cost and time; precision; the per-wave table."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pydantic import BaseModel

from mge_pipeline.domain import (
    AttemptRecord,
    ExecutionState,
    LevelValidation,
    MasterPlan,
    WaveSummary,
)
from mge_pipeline.domain.levels import LevelIssue
from mge_pipeline.domain.records import AtomResultRecord, ExecutionInfo
from mge_pipeline.execution.cross_check_note import read_notes


class AtomReport(BaseModel):
    atom_id: str
    task_id: str
    file_path: str
    wave_index: int
    status: str
    attempts: int
    cost_usd: float
    duration_seconds: float
    error_categories: list[str]
    reason: str | None = None
    auto_fixes: int = 0
    warnings: int = 0
    evidence: list[str] = []
    """Behavioural evidence the validated code passed; empty for none."""
    verified: bool = False
    mutants_tested: int = 0
    surviving_mutants: list[str] = []


class ModelUse(BaseModel):
    """One model at one effort in the run: its attempts, how many validated, their cost."""

    model: str
    effort: str | None
    attempts: int
    passed: int
    success_percent: float
    cost_usd: float
    input_tokens: int
    output_tokens: int


class CrossCheckUse(BaseModel):
    """Answers checked against independent samples (``cross_check`` run config) and the
    price: the samples' cost is part of the attempts' cost, shown apart here."""

    agreed: int = 0
    rejected: int = 0
    inconclusive: int = 0
    sample_calls: int = 0
    cost_usd: float = 0.0


class RunReport(BaseModel):
    masterplan_id: str
    masterplan_name: str
    execution_id: str
    status: str
    reason: str | None
    provider: str | None
    model: str | None
    atoms_total: int
    atoms_validated: int
    atoms_failed: int
    atoms_blocked: int
    atoms_skipped: int
    atoms_cached: int
    precision_percent: float
    atoms_verified: int = 0
    verified_precision_percent: float = 0.0
    """Atoms validated *with* behavioural evidence / all atoms: precision that means correct."""
    attempts_total: int
    retry_rate_percent: float
    total_cost_usd: float
    cost_without_cache_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    total_time_seconds: float
    output_dir: str
    files: list[str]
    acceptance: str = "none defined"
    acceptance_output: str = ""
    sandbox_isolation: str | None = None
    levels: list[LevelValidation] = []
    test_command: str = "none defined"
    test_command_output: str = ""
    repairs: list[str] = []
    cross_checks: CrossCheckUse = CrossCheckUse()
    """Rounds in which failing plan tests sent atoms back for regeneration, one line each."""
    waves: list[WaveSummary]
    atoms: list[AtomReport]
    models: list[ModelUse] = []


def build_report(
    plan: MasterPlan,
    state: ExecutionState,
    info: ExecutionInfo,
    results: list[AtomResultRecord],
    attempts: list[AttemptRecord],
    waves: list[WaveSummary],
    files: list[str],
) -> RunReport:
    """Assemble from store rows; precision = validated atoms / all atoms of the plan."""
    by_atom: dict[str, list[AttemptRecord]] = defaultdict(list)
    for attempt in attempts:
        by_atom[attempt.atom_id].append(attempt)
    rows = {row.atom_id: row for row in results}
    task_of = plan.task_of()
    atoms = [
        _atom_report(atom.id, atom.file_path, task_of[atom.id], rows.get(atom.id), by_atom[atom.id])
        for atom in plan.atoms()
    ]
    count = _counter(atoms)
    generated = [a for a in atoms if a.attempts > 0]
    total = len(atoms)
    verified = sum(1 for a in atoms if a.verified)
    return RunReport(
        masterplan_id=plan.id,
        masterplan_name=plan.name,
        execution_id=state.execution_id,
        status=state.status.value,
        reason=state.reason,
        provider=info.provider,
        model=info.model,
        atoms_total=total,
        atoms_validated=count("succeeded") + count("cached"),
        atoms_failed=count("failed"),
        atoms_blocked=count("blocked"),
        atoms_skipped=count("skipped"),
        atoms_cached=count("cached"),
        precision_percent=100.0 * (count("succeeded") + count("cached")) / total if total else 0.0,
        atoms_verified=verified,
        verified_precision_percent=100.0 * verified / total if total else 0.0,
        attempts_total=len(attempts),
        retry_rate_percent=(
            100.0 * sum(1 for a in generated if a.attempts > 1) / len(generated)
            if generated
            else 0.0
        ),
        total_cost_usd=state.total_cost_usd,
        cost_without_cache_usd=sum(a.cost_without_cache_usd for a in attempts),
        input_tokens=sum(a.prompt_tokens for a in attempts),
        output_tokens=sum(a.response_tokens for a in attempts),
        cache_read_tokens=sum(a.cache_read_tokens for a in attempts),
        cache_write_tokens=sum(a.cache_write_tokens for a in attempts),
        total_time_seconds=state.total_time_seconds,
        output_dir=info.output_dir,
        files=files,
        waves=waves,
        atoms=atoms,
        models=model_use(attempts),
        cross_checks=cross_check_use(attempts),
    )


def cross_check_use(attempts: list[AttemptRecord]) -> CrossCheckUse:
    notes = read_notes(w for attempt in attempts for w in attempt.warnings)
    return CrossCheckUse(
        agreed=sum(1 for n in notes if n.status == "agreed"),
        rejected=sum(1 for n in notes if n.status == "rejected"),
        inconclusive=sum(1 for n in notes if n.status == "inconclusive"),
        sample_calls=sum(n.sample_calls for n in notes),
        cost_usd=sum(n.cost_usd for n in notes),
    )


def cross_check_line(use: CrossCheckUse) -> str:
    checked = use.agreed + use.rejected + use.inconclusive
    if not checked:
        return "- Cross-checks: none (no weakly tested answer was checked against a sample)"
    return (
        f"- Cross-checks: {checked} answers checked against independent samples — "
        f"{use.agreed} agreed, {use.rejected} rejected (regenerated), {use.inconclusive} "
        f"inconclusive; {use.sample_calls} sample calls, ${use.cost_usd:.4f} (in the cost above)"
    )


def model_use(attempts: list[AttemptRecord]) -> list[ModelUse]:
    """Cost and success per (model, effort), in the order the schedule first used them."""
    groups: dict[tuple[str, str | None], list[AttemptRecord]] = defaultdict(list)
    for attempt in sorted(attempts, key=lambda a: a.attempt_number):
        groups[(attempt.model, attempt.effort)].append(attempt)
    return [
        ModelUse(
            model=model or "unknown",
            effort=effort,
            attempts=len(group),
            passed=sum(a.passed for a in group),
            success_percent=100.0 * sum(a.passed for a in group) / len(group),
            cost_usd=sum(a.cost_usd for a in group),
            input_tokens=sum(
                a.prompt_tokens + a.cache_read_tokens + a.cache_write_tokens for a in group
            ),
            output_tokens=sum(a.response_tokens for a in group),
        )
        for (model, effort), group in groups.items()
    ]


def model_table(models: list[ModelUse]) -> str:
    rows = [
        "| model | effort | attempts | validated | success | cost (USD) |",
        "|---|---|---|---|---|---|",
    ]
    rows += [
        f"| {m.model} | {m.effort or '-'} | {m.attempts} | {m.passed} | "
        f"{m.success_percent:.1f}% | {m.cost_usd:.4f} |"
        for m in models
    ]
    return "\n".join(rows)


def _counter(atoms: list[AtomReport]) -> Any:
    def count(status: str) -> int:
        return sum(1 for atom in atoms if atom.status == status)

    return count


def _atom_report(
    atom_id: str,
    file_path: str,
    task_id: str,
    row: AtomResultRecord | None,
    attempts: list[AttemptRecord],
) -> AtomReport:
    return AtomReport(
        atom_id=atom_id,
        task_id=task_id,
        file_path=file_path,
        wave_index=row.wave_index if row else -1,
        status=row.status.value if row else "pending",
        attempts=len(attempts),
        cost_usd=sum(a.cost_usd for a in attempts),
        duration_seconds=sum(a.duration_seconds for a in attempts),
        error_categories=[a.error_category.value for a in attempts if a.error_category],
        reason=row.reason if row else None,
        auto_fixes=sum(len(a.auto_fixes) for a in attempts),
        warnings=len(attempts[-1].warnings) if attempts else 0,
        evidence=[kind.value for kind in row.evidence] if row and row.validated else [],
        verified=bool(row and row.verified),
        mutants_tested=row.mutation.tested if row and row.mutation else 0,
        surviving_mutants=list(row.mutation.survivors) if row and row.mutation else [],
    )


def render_markdown(report: RunReport) -> str:
    lines = [
        f"# {report.masterplan_name} (`{report.masterplan_id}`)",
        "",
        f"- Status: **{report.status}**" + (f" — {report.reason}" if report.reason else ""),
        f"- Provider: {report.provider} ({report.model})",
        f"- Precision: **{report.precision_percent:.1f}%** "
        f"({report.atoms_validated}/{report.atoms_total} atoms validated, "
        f"{report.atoms_cached} from cache)",
        f"- Verified precision: **{report.verified_precision_percent:.1f}%** "
        f"({report.atoms_verified}/{report.atoms_total} atoms validated with behavioural "
        "evidence: tests, doctests, characterization tests or the test command)",
        f"- Failed: {report.atoms_failed}, blocked: {report.atoms_blocked}, "
        f"skipped: {report.atoms_skipped}",
        f"- Attempts: {report.attempts_total}, retry rate {report.retry_rate_percent:.1f}%",
        f"- Cost: ${report.total_cost_usd:.4f} "
        f"(${report.cost_without_cache_usd:.4f} without prompt caching); "
        f"wall time {report.total_time_seconds:.1f} s",
        f"- Tokens: {report.input_tokens} input, {report.cache_read_tokens} cache read, "
        f"{report.cache_write_tokens} cache write, {report.output_tokens} output",
        f"- Output: `{report.output_dir}` ({len(report.files)} files)",
        f"- Acceptance tests: {report.acceptance}",
        f"- Test command: {report.test_command}",
        f"- Repairs: {'; '.join(report.repairs) or 'none'}",
        cross_check_line(report.cross_checks),
        f"- Sandbox isolation: {report.sandbox_isolation or 'unknown'}",
        "",
        "## Models",
        "",
        model_table(report.models),
        "",
        "## Hierarchical validation",
        "",
        level_table(report.levels),
        "",
        "## Waves",
        "",
        wave_table(report.waves),
        "",
        "## Behavioural evidence",
        "",
        *evidence_lines(report),
        "",
        "## Atoms",
        "",
        "| atom | task | file | wave | status | attempts | cost (USD) | errors | auto-fixes "
        "| warnings | evidence | surviving mutants |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {a.atom_id} | {a.task_id} | {a.file_path} | {a.wave_index} | {a.status} | "
        f"{a.attempts} | {a.cost_usd:.4f} | {', '.join(a.error_categories) or '-'} | "
        f"{a.auto_fixes} | {a.warnings} | {_evidence_cell(a)} | {_mutants_cell(a)} |"
        for a in report.atoms
    ]
    return "\n".join(lines) + "\n"


def evidence_lines(report: RunReport) -> list[str]:
    """Said plainly, atom by atom: which validated atoms no behavioural check ever ran, and
    which mutants of the tested ones the tests let through."""
    validated = [a for a in report.atoms if a.status in ("succeeded", "cached")]
    unverified = [a for a in validated if not a.verified]
    lines: list[str] = []
    if validated and len(unverified) == len(validated):
        lines.append(
            "**This plan has no behavioural evidence**: no validated atom was run by its own "
            "tests, doctests, characterization tests or the plan's test command. Validation "
            "checked syntax, definitions and imports only; no atom is verified."
        )
    if unverified:
        lines += ["", "Validated WITHOUT behavioural evidence (not verified):", ""]
        lines += [f"- `{a.atom_id}` ({a.file_path}): no behavioural evidence" for a in unverified]
    survivors = [a for a in validated if a.surviving_mutants]
    if survivors:
        lines += ["", "Mutants the atom's tests did not catch (the tests are weak here):", ""]
        lines += [f"- `{a.atom_id}`: {mutant}" for a in survivors for mutant in a.surviving_mutants]
    return lines or ["Every validated atom passed behavioural checks; no mutant survived."]


def _evidence_cell(atom: AtomReport) -> str:
    if atom.status not in ("succeeded", "cached"):
        return "-"
    return ", ".join(atom.evidence) or "**none**"


def _mutants_cell(atom: AtomReport) -> str:
    if not atom.mutants_tested:
        return "-"
    return f"{len(atom.surviving_mutants)}/{atom.mutants_tested}"


_WAVE_COLUMNS = (
    "wave",
    "atoms",
    "succeeded",
    "cached",
    "failed",
    "blocked",
    "skipped",
    "attempts",
    "success",
    "cost (USD)",
    "time (s)",
)


def wave_table(waves: list[WaveSummary]) -> str:
    lines = ["| " + " | ".join(_WAVE_COLUMNS) + " |", "|" + "---|" * len(_WAVE_COLUMNS)]
    for w in waves:
        cells = (
            w.wave_index,
            w.atoms_total,
            w.succeeded,
            w.cached,
            w.failed,
            w.blocked,
            w.skipped,
            w.attempts,
            f"{100 * w.success_rate:.0f}%",
            f"{w.cost_usd:.4f}",
            f"{w.duration_seconds:.1f}",
        )
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return "\n".join(lines)


def level_table(levels: list[LevelValidation]) -> str:
    """One row per level and scope; errors and warnings listed with the atoms they implicate.

    A list of atoms is shown once: up to ``MAX_ATOMS_SHOWN`` ids and a count, and a list that
    already appeared in the table is referred to, so 38 blocked atoms do not fill three rows.
    """
    lines = ["| level | scope | score | passed | issues |", "|---|---|---|---|---|"]
    seen: dict[tuple[str, ...], str] = {}
    for level in levels:
        found = "<br>".join(_issue_cell(i, level.scope_id, seen) for i in level.issues)
        passed = "yes" if level.passed else "**no**"
        lines.append(
            f"| {level.level} | {level.scope_id} | {level.score:.2f} | {passed} | {found or '-'} |"
        )
    return "\n".join(lines)


MAX_ATOMS_SHOWN = 5
MAX_MESSAGE_CHARS = 200


def _issue_cell(issue: LevelIssue, scope_id: str, seen: dict[tuple[str, ...], str]) -> str:
    message = (
        issue.message
        if len(issue.message) <= MAX_MESSAGE_CHARS
        else (issue.message[:MAX_MESSAGE_CHARS] + "…")
    )
    text = f"{issue.severity}: {issue.check}: {message}".replace("|", "\\|").replace("\n", " ")
    return text + _atoms_cell(tuple(issue.atom_ids), f"{scope_id} {issue.check}", seen)


def _atoms_cell(ids: tuple[str, ...], where: str, seen: dict[tuple[str, ...], str]) -> str:
    if not ids:
        return ""
    if len(ids) > MAX_ATOMS_SHOWN and ids in seen:
        return f" [the same {len(ids)} atoms as {seen[ids]}]"
    seen.setdefault(ids, where)
    shown = ", ".join(ids[:MAX_ATOMS_SHOWN])
    more = f" and {len(ids) - MAX_ATOMS_SHOWN} more" if len(ids) > MAX_ATOMS_SHOWN else ""
    return f" [{shown}{more}]"
