"""``mge submit``: mark a plan ready for the sensor, unless this exact revision already ran.

The sensor keys each launch by plan, revision and submission time, so a resubmitted plan is
launched again; but an unchanged plan whose last execution completed has nothing to do, and
saying so (with the execution and its output) beats a silent no-op or a paid repeat.
"""

from __future__ import annotations

from dataclasses import dataclass

from mge_pipeline.domain import ExecutionStatus, MasterPlan
from mge_pipeline.store import MgeStore


@dataclass(frozen=True)
class Done:
    execution_id: str
    output_dir: str
    completed_at: str


def already_done(store: MgeStore, plan: MasterPlan) -> Done | None:
    """The latest execution, when it completed this very revision."""
    latest = store.executions(plan.id, limit=1)
    if not latest or latest[0].status is not ExecutionStatus.COMPLETED:
        return None
    info = store.execution_info(latest[0].execution_id)
    if info is None or info.revision != plan.revision():
        return None
    when = latest[0].completed_at.isoformat(timespec="seconds") if latest[0].completed_at else "?"
    return Done(info.execution_id, info.output_dir, when)
