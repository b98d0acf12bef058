"""A failed run's steps for the CLI: one line each after the summary, traces on request.

Dagster's console logger prints every failed step's stack trace while the run goes on; with
failed atoms being failed steps, that would bury the summary. ``mge run`` silences the logger
and prints these lines after its summary instead; ``--verbose`` adds the traces.
"""

from __future__ import annotations

from typing import Any

from dagster import DagsterEventType

MAX_LINES = 10


def failed_step_lines(instance: Any, run_id: str, *, verbose: bool) -> list[str]:
    records = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.STEP_FAILURE, limit=10_000
    ).records
    lines: list[str] = []
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is None or not event.step_key:
            continue
        data = event.step_failure_data
        user = data.user_failure_data
        text = (user.description if user and user.description else None) or (
            data.error.message if data.error else "failed"
        )
        first = text.strip().splitlines()[0] if text.strip() else "failed"
        if verbose:
            lines.append(f"{event.step_key}: {first}")
            if data.error is not None:
                lines.append(data.error.to_string().rstrip())
        elif len(lines) < MAX_LINES:
            lines.append(f"  {event.step_key}: {first}")
    if not verbose and len(records) > MAX_LINES:
        lines.append(f"  … and {len(records) - MAX_LINES} more failed steps (see Dagit)")
    return lines
