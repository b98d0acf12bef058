"""ExecutionState as Dagster run tags, so one GraphQL query answers "how far is it?".

The ops publish the state at the run's barriers (prepare, each wave close, finalize), where no
atom is in flight, so a tag write never slows the atoms down. The same query works for any
GraphQL client:

    query MgeStatus($runId: ID!) {
      runOrError(runId: $runId) { ... on Run { runId status tags { key value } } }
    }
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mge_pipeline.domain import ExecutionState, ExecutionStatus

TAG_PREFIX = "mge/state."
_INT_FIELDS = (
    "current_wave",
    "total_waves",
    "atoms_completed",
    "atoms_total",
    "atoms_succeeded",
    "atoms_verified",
    "atoms_failed",
)
_FLOAT_FIELDS = ("total_cost_usd", "total_time_seconds")
_TIME_FIELDS = ("started_at", "completed_at")

RUN_STATUS_QUERY = """
query MgeStatus($runId: ID!) {
  runOrError(runId: $runId) { __typename ... on Run { runId status tags { key value } } }
}
"""

RUNS_QUERY = """
query MgeRuns($filter: RunsFilter, $limit: Int) {
  runsOrError(filter: $filter, limit: $limit) {
    __typename ... on Runs { results { runId status tags { key value } } }
  }
}
"""


def state_tags(state: ExecutionState) -> dict[str, str]:
    """Every field of the state as a string tag; empty values are left out."""
    values = state.model_dump(mode="json")
    return {f"{TAG_PREFIX}{key}": str(value) for key, value in values.items() if value is not None}


def state_from_tags(tags: dict[str, str]) -> ExecutionState | None:
    fields: dict[str, Any] = {
        key.removeprefix(TAG_PREFIX): value
        for key, value in tags.items()
        if key.startswith(TAG_PREFIX)
    }
    if "execution_id" not in fields:
        return None
    for key in _INT_FIELDS:
        fields[key] = int(fields.get(key, 0))
    for key in _FLOAT_FIELDS:
        fields[key] = float(fields.get(key, 0.0))
    for key in _TIME_FIELDS:
        fields[key] = datetime.fromisoformat(fields[key]) if fields.get(key) else None
    fields["status"] = ExecutionStatus(fields["status"])
    return ExecutionState.model_validate(fields)


def states_from_runs(results: list[dict[str, Any]]) -> list[ExecutionState]:
    """Parse a RUNS_QUERY answer; runs that never published a state are left out."""
    states = []
    for run in results:
        state = state_from_tags({tag["key"]: tag["value"] for tag in run.get("tags", [])})
        if state is not None:
            states.append(state)
    return states
