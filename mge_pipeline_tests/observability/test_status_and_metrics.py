"""Execution state as run tags (and back), and metrics as the merged registry reports them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from mge_pipeline.domain import (
    AtomResult,
    AtomStatus,
    AttemptRecord,
    ErrorCategory,
    ExecutionState,
    ExecutionStatus,
    WaveSummary,
)
from mge_pipeline.observability import metrics
from mge_pipeline.observability.server import merged_registry
from mge_pipeline.observability.status import state_from_tags, state_tags, states_from_runs


def _state(**overrides: object) -> ExecutionState:
    fields: dict[str, object] = {
        "execution_id": "run-1",
        "masterplan_id": "plan",
        "status": ExecutionStatus.RUNNING,
        "current_wave": 3,
        "total_waves": 9,
        "atoms_completed": 20,
        "atoms_total": 49,
        "atoms_succeeded": 19,
        "atoms_failed": 1,
        "total_cost_usd": 0.125,
        "total_time_seconds": 12.5,
        "started_at": datetime(2026, 11, 21, 12, 0, tzinfo=UTC),
        "provider": "simulated",
    }
    fields.update(overrides)
    return ExecutionState.model_validate(fields)


def test_state_survives_the_round_trip_through_tags() -> None:
    state = _state()
    tags = state_tags(state)
    assert list(tags) == ["mge/state"], "one structured tag, not one per field"
    fields = json.loads(tags["mge/state"])
    assert fields["status"] == "running" and fields["current_wave"] == 3
    assert "completed_at" not in fields
    assert state_from_tags({**tags, "dagster/other": "x"}) == state


def test_runs_tagged_one_tag_per_field_are_still_read() -> None:
    state = _state()
    legacy = {
        f"mge/state.{key}": str(value)
        for key, value in state.model_dump(mode="json").items()
        if value is not None
    }
    assert state_from_tags(legacy) == state


def test_runs_without_state_are_left_out() -> None:
    runs = [
        {"runId": "a", "tags": [{"key": k, "value": v} for k, v in state_tags(_state()).items()]},
        {"runId": "b", "tags": [{"key": "mge/masterplan_id", "value": "plan"}]},
    ]
    assert [s.execution_id for s in states_from_runs(runs)] == ["run-1"]


def _sample(name: str, labels: dict[str, str]) -> float | None:
    return merged_registry().get_sample_value(name, labels)


def test_atom_wave_and_run_metrics() -> None:
    plan = f"plan-{uuid.uuid4().hex[:8]}"
    attempts = [
        AttemptRecord(
            atom_id="a",
            attempt_number=1,
            temperature=0.7,
            prompt_tokens=100,
            response_tokens=20,
            cost_usd=0.01,
            duration_seconds=1.0,
            error_category=ErrorCategory.SYNTAX,
            api_retries=2,
        ),
        AttemptRecord(
            atom_id="a",
            attempt_number=2,
            temperature=0.5,
            prompt_tokens=120,
            response_tokens=20,
            cost_usd=0.02,
            duration_seconds=2.0,
            passed=True,
        ),
    ]
    ok = AtomResult(atom_id="a", status=AtomStatus.SUCCEEDED, attempts=attempts)
    failed = AtomResult(atom_id="b", status=AtomStatus.FAILED, attempts=attempts[:1])
    for result in (ok, failed):
        metrics.record_atom(plan, "python", result, provider="simulated", model="m")
    metrics.record_wave(
        plan,
        WaveSummary(
            wave_index=0,
            atoms_total=2,
            succeeded=1,
            cached=0,
            failed=1,
            blocked=0,
            skipped=0,
            attempts=3,
            cost_usd=0.04,
            duration_seconds=4.0,
        ),
    )
    by_plan = {"masterplan": plan}
    assert _sample("v2_atoms_succeeded_total", {**by_plan, "language": "python"}) == 1
    failed_labels = {**by_plan, "language": "python", "error_category": "syntax"}
    assert _sample("v2_atoms_failed_total", failed_labels) == 1
    assert _sample("v2_execution_cost_usd_total", by_plan) == 0.04
    assert _sample("v2_retry_attempts_total", {**by_plan, "language": "python"}) == 1
    assert _sample("v2_retry_temperature_changes_total", by_plan) == 1
    assert _sample("v2_wave_completion_percent", {**by_plan, "wave": "0"}) == 50.0
    assert _sample("v2_wave_atom_throughput", {**by_plan, "wave": "0"}) == 0.5
    count = _sample("v2_atom_execution_time_seconds_count", {**by_plan, "language": "python"})
    assert count == 2
    assert _sample("mge_attempt_failures_total", {**by_plan, "error_category": "syntax"}) == 2
