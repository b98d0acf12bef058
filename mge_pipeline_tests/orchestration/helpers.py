"""Running a compiled masterplan job for real: async executor, temporary Dagster instance."""

from __future__ import annotations

import json
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from mge_pipeline.domain import MasterPlan
from mge_pipeline.orchestration import default_run_config


@dataclass
class PlanRun:
    success: bool
    run_id: str
    report: dict[str, Any] | None
    output_dir: Path
    step_events: dict[str, list[str]]
    dagster_status: dg.DagsterRunStatus | None = None
    step_states: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    """Step key → the description of its ``Failure`` (or its error message)."""


def run_plan(
    plan: MasterPlan,
    tmp_path: Path,
    database_url: str,
    *,
    fault_rate: float = 0.0,
    seed: int = 0,
    latency_seconds: float = 0.0,
    executor_config: dict[str, Any] | None = None,
    allow_weak_sandbox: bool = False,
    instance: dg.DagsterInstance | None = None,
    **config: Any,
) -> PlanRun:
    """Writes the plan to a file and runs it the way ``mge run`` does.

    ``instance``: a Dagster instance other processes can reach (Celery workers); by default a
    temporary one.
    """
    plan_file = tmp_path / f"{plan.id}.yaml"
    plan_file.write_text(yaml.safe_dump(plan.model_dump(mode="json"), sort_keys=False))
    output_dir = tmp_path / "out" / plan.id
    options = {
        "database_url": database_url,
        "fault_rate": fault_rate,
        "latency_seconds": latency_seconds,
        "seed": seed,
        "provider": "simulated",
        "allow_weak_sandbox": allow_weak_sandbox,
    }
    job = dg.build_reconstructable_job(
        "mge_pipeline.orchestration.compiler",
        "compile_masterplan_job_from_file",
        reconstructable_args=(str(plan_file),),
        reconstructable_kwargs={"options": options},
    )
    run_config = default_run_config(output_dir=str(output_dir), **config)
    if executor_config is not None:
        run_config["execution"] = {"config": executor_config}
    run_config["loggers"] = {
        "console": {
            "config": {
                "log_level": "ERROR"
                if not __import__("os").environ.get("MGE_TEST_LOGS")
                else "INFO"
            }
        }
    }
    with ExitStack() as stack:
        if instance is None:
            instance = stack.enter_context(dg.instance_for_test())
        result = stack.enter_context(
            dg.execute_job(job, instance=instance, run_config=run_config, raise_on_error=False)
        )
        events: dict[str, list[str]] = {}
        failures: dict[str, str] = {}
        for event in result.all_events:
            if event.step_key:
                events.setdefault(event.step_key, []).append(event.event_type_value)
            if event.is_step_failure and event.step_key:
                data = event.step_failure_data
                user = data.user_failure_data
                failures[event.step_key] = (
                    user.description if user and user.description else data.error.message
                ) or ""
        run_record = instance.get_run_by_id(result.run_id)
        states = {
            stat.step_key: stat.status.value
            for stat in instance.get_run_step_stats(result.run_id)
            if stat.status is not None
        }
        report_file = output_dir / "report.json"
        report = json.loads(report_file.read_text()) if report_file.exists() else None
        return PlanRun(
            result.success,
            result.run_id,
            report,
            output_dir,
            events,
            run_record.status if run_record else None,
            states,
            failures,
        )
