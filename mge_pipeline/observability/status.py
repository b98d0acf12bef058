"""ExecutionState as one Dagster run tag, so one GraphQL query answers "how far is it?".

The state is a single structured tag, ``mge/state``: a JSON object with the fields of
``ExecutionState`` (one tag instead of 19 keeps Dagit's Runs list readable). The ops publish it
at the run's barriers (prepare, each wave close, finalize), where no atom is in flight, so a
tag write never slows the atoms down. The same query works for any GraphQL client:

    query MgeStatus($runId: ID!) {
      runOrError(runId: $runId) { ... on Run { runId status tags { key value } } }
    }
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from mge_pipeline.domain import ExecutionState, ExecutionStatus

STATE_TAG = "mge/state"
LEGACY_TAG_PREFIX = "mge/state."
"""Runs published before the single tag carried one tag per field; they are still read."""
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
_SHOWN_FIRST = ("status", "atoms_completed", "atoms_total", "atoms_failed", "total_cost_usd")
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
    """The state as one JSON tag; empty values are left out."""
    values = state.model_dump(mode="json", exclude_none=True)
    # What a person scanning the Runs list wants first; the rest in the model's order.
    first = {key: values.pop(key) for key in _SHOWN_FIRST if key in values}
    return {STATE_TAG: json.dumps({**first, **values}, separators=(",", ":"))}


def state_from_tags(tags: dict[str, str]) -> ExecutionState | None:
    if STATE_TAG in tags:
        try:
            return ExecutionState.model_validate_json(tags[STATE_TAG])
        except ValueError:
            return None
    fields: dict[str, Any] = {
        key.removeprefix(LEGACY_TAG_PREFIX): value
        for key, value in tags.items()
        if key.startswith(LEGACY_TAG_PREFIX)
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
