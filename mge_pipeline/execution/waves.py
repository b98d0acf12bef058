"""A wave's summary and the stop rule, from the settled outcomes of its atoms.

The stop rule judges generation, not structure: an atom blocked by a dependency, skipped by a
stop, or failed only because a check could not run (the sandbox or a tool unavailable, a
dependency problem of the plan) says nothing about how well the model writes code, so none of
them counts in the rate the threshold is compared with.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mge_pipeline.domain import AtomStatus, AttemptRecord, ErrorCategory, WaveSummary
from mge_pipeline.domain.records import AtomResultRecord
from mge_pipeline.execution.root_cause import describe_root_causes

STRUCTURAL_CATEGORIES = frozenset({ErrorCategory.UNAVAILABLE, ErrorCategory.DEPENDENCY})
"""Errors of a check that cannot run (yet), not of the code the model wrote."""


def is_structural_failure(attempts: Sequence[AttemptRecord]) -> bool:
    """Every attempt failed for a structural reason: generation was never really judged."""
    return bool(attempts) and all(
        a.error_category in STRUCTURAL_CATEGORIES for a in attempts if not a.passed
    )


def structural_failures(rows: Sequence[AtomResultRecord], attempts: Iterable[AttemptRecord]) -> int:
    """How many of the wave's failed atoms failed for structural reasons only."""
    failed = {r.atom_id for r in rows if r.status is AtomStatus.FAILED}
    by_atom: dict[str, list[AttemptRecord]] = {atom_id: [] for atom_id in failed}
    for attempt in attempts:
        if attempt.atom_id in by_atom:
            by_atom[attempt.atom_id].append(attempt)
    return sum(1 for found in by_atom.values() if is_structural_failure(found))


def generation_success_rate(summary: WaveSummary, structural: int = 0) -> float:
    """Validated / atoms whose generation was judged: blocked, skipped and structurally failed
    atoms are left out of both sides. A wave with none judged has nothing to stop for."""
    judged = summary.atoms_total - summary.blocked - summary.skipped - structural
    return (summary.succeeded + summary.cached) / judged if judged > 0 else 1.0


def summarize_wave(
    wave_index: int, atoms_total: int, rows: Sequence[AtomResultRecord], duration_seconds: float
) -> WaveSummary:
    count = {status: sum(1 for r in rows if r.status is status) for status in AtomStatus}
    return WaveSummary(
        wave_index=wave_index,
        atoms_total=atoms_total,
        succeeded=count[AtomStatus.SUCCEEDED],
        cached=count[AtomStatus.CACHED],
        failed=count[AtomStatus.FAILED],
        blocked=count[AtomStatus.BLOCKED],
        skipped=count[AtomStatus.SKIPPED],
        attempts=sum(r.attempt_count for r in rows),
        cost_usd=sum(r.cost_usd for r in rows),
        duration_seconds=duration_seconds,
    )


def wave_stop_reason(
    wave_index: int,
    success_rate: float,
    threshold: float,
    skip_reason: str | None,
    *,
    root_causes: Sequence[str] = (),
) -> str | None:
    """The stop rule: an atom stopped by the budget or the provider, or a weak wave."""
    if skip_reason:
        return skip_reason
    if success_rate < threshold:
        return (
            f"wave {wave_index} validated only {100 * success_rate:.0f}% of its atoms"
            f"{describe_root_causes(root_causes)}, under the {100 * threshold:.0f}% threshold; "
            "no new LLM calls were started after it closed"
        )
    return None
