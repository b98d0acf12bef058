"""Run config cannot be half-given: defaults per field, invalid values refused at launch."""

from __future__ import annotations

import dagster as dg
import pytest
from dagster._core.run_coordinator import SubmitRunContext

from mge_pipeline import constants as c
from mge_pipeline.exceptions import RunConfigError
from mge_pipeline.orchestration import compile_masterplan_job, default_run_config
from mge_pipeline.orchestration.config import run_config_problems
from mge_pipeline_tests.factories import make_atom, make_plan

COORDINATOR = {
    "run_coordinator": {
        "module": "mge_pipeline.orchestration.run_coordinator",
        "class": "MgeRunCoordinator",
        "config": {"max_concurrent_runs": 4},
    }
}


def _job() -> dg.JobDefinition:
    return compile_masterplan_job(make_plan(make_atom(id="a")))


def test_a_partial_config_keeps_every_other_default() -> None:
    resolved = dg.validate_run_config(_job(), {"ops": {"prepare": {"config": {"budget_usd": 5}}}})
    prepare = resolved["ops"]["prepare"]["config"]
    assert prepare["budget_usd"] == 5
    assert prepare["max_concurrent"] == c.DEFAULT_MAX_CONCURRENT
    assert prepare["max_attempts"] == c.DEFAULT_MAX_ATTEMPTS
    executor = next(iter(resolved["execution"].values()))
    assert executor["max_concurrent"] is None  # the LLM limit is prepare's, not the executor's


def test_invalid_values_are_named_one_line_each() -> None:
    problems = run_config_problems(
        {"ops": {"prepare": {"config": {"budget_usd": -1, "max_attempts": 0}}}}
    )
    assert len(problems) == 2
    assert problems[0].startswith("ops.prepare.config.budget_usd: ") and "-1" in problems[0]
    assert problems[1].startswith("ops.prepare.config.max_attempts: ")
    with pytest.raises(RunConfigError) as raised:
        default_run_config(budget_usd=-1)
    assert raised.value.problems[0].startswith("ops.prepare.config.budget_usd")


def test_the_instance_refuses_an_invalid_run_when_it_is_launched() -> None:
    job = _job()
    with dg.instance_for_test(overrides=COORDINATOR) as instance:
        bad = instance.create_run_for_job(
            job, run_config={"ops": {"prepare": {"config": {"budget_usd": -1}}}}
        )
        submitted = instance.run_coordinator.submit_run(SubmitRunContext(bad, workspace=None))
        assert submitted.status == dg.DagsterRunStatus.FAILURE
        failure = instance.get_records_for_run(
            bad.run_id, of_type=dg.DagsterEventType.RUN_FAILURE
        ).records
        message = failure[0].event_log_entry.dagster_event.message
        assert "ops.prepare.config.budget_usd" in message and "-1" in message
