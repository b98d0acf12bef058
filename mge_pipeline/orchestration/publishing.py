"""Publishing execution state through Dagster: run tags for GraphQL, observations for history."""

from collections.abc import Callable

import dagster as dg

from mge_pipeline.domain import ExecutionState
from mge_pipeline.domain.evidence import describe_evidence
from mge_pipeline.domain.records import AtomResultRecord
from mge_pipeline.observability.status import state_tags


def publish_state(context: dg.OpExecutionContext, state: ExecutionState | None) -> None:
    """Called at barriers only (prepare, wave close, finalize), never per atom."""
    if state is None:
        return
    context.instance.add_run_tags(context.run_id, state_tags(state))
    context.log_event(
        dg.AssetObservation(
            asset_key=dg.AssetKey(["mge", state.masterplan_id, "execution"]),
            metadata={
                "status": state.status.value,
                "current_wave": state.current_wave,
                "total_waves": state.total_waves,
                "atoms_completed": state.atoms_completed,
                "atoms_succeeded": state.atoms_succeeded,
                "atoms_verified": state.atoms_verified,
                "atoms_failed": state.atoms_failed,
                "atoms_total": state.atoms_total,
                "total_cost_usd": dg.MetadataValue.float(state.total_cost_usd),
                "total_time_seconds": dg.MetadataValue.float(state.total_time_seconds),
            },
        )
    )


def wave_atoms_table(rows: list[AtomResultRecord], step_link: Callable[[str], str | None]) -> str:
    """The wave's atoms as a Markdown table for Dagit: failures first, each linked to its step.

    ``step_link`` gives the Dagit path of an atom's step (its logs, filtered to that step), so
    any atom of an 800-atom run is two clicks away: the wave's close, then the atom.
    """
    lines = [
        "| atom | status | evidence | attempts | cost (USD) | reason | step |",
        "|---|---|---|---|---|---|---|",
    ]
    order = {"failed": 0, "blocked": 1, "skipped": 2}
    for row in sorted(rows, key=lambda r: (order.get(r.status.value, 3), r.atom_id)):
        reason = (row.reason or "").replace("|", "\\|").replace("\n", " ")[:120]
        status = row.status.value
        shown = f"**{status}**" if status in order else status
        evidence = describe_evidence(row.evidence) if row.validated else "-"
        link = step_link(row.atom_id)
        lines.append(
            f"| {row.atom_id} | {shown} | {evidence} | {row.attempt_count} | "
            f"{row.cost_usd:.4f} | {reason} | {f'[logs]({link})' if link else '-'} |"
        )
    return "\n".join(lines)
