"""A wave's summary and the stop rule, from the settled outcomes of its atoms."""

from __future__ import annotations

from collections.abc import Sequence

from mge_pipeline.domain import AtomStatus, WaveSummary
from mge_pipeline.domain.records import AtomResultRecord
from mge_pipeline.execution.root_cause import describe_root_causes


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
