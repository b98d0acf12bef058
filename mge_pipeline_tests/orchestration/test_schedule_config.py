"""The attempt schedule, submission and prices as run config: in the Launchpad, into settings."""

from __future__ import annotations

import pytest

from mge_pipeline.exceptions import RunConfigError
from mge_pipeline.execution.prepare import check_schedule
from mge_pipeline.generation import AnthropicProvider, SimulatedModel
from mge_pipeline.generation.schedule import AttemptStep
from mge_pipeline.orchestration import compile_masterplan_job
from mge_pipeline.orchestration.config import (
    BATCH_MAX_REQUESTS,
    MasterplanRunConfig,
    settings_from_config,
)
from mge_pipeline_tests.factories import make_atom, make_plan


def test_schedule_submission_and_prices_are_in_the_launchpad_config() -> None:
    job = compile_masterplan_job(make_plan(make_atom(id="a")))
    assert job.run_config is not None
    prepare = job.run_config["ops"]["prepare"]["config"]
    assert prepare["schedule"] == [] and prepare["price_overrides"] == []
    assert prepare["submission"] == "realtime" and prepare["batch_poll_seconds"] == 30.0


def test_run_config_becomes_the_runs_schedule_and_price_book() -> None:
    config = MasterplanRunConfig(
        schedule=[{"model": "claude-haiku-5-5", "effort": "low"}, {"effort": "high"}],
        price_overrides=[
            {"model": "claude-haiku-5-5", "input_per_mtok": 0.2, "output_per_mtok": 1.0}
        ],
        submission="batch",
    )
    settings = settings_from_config(config, "/tmp/out")
    schedule = settings.policy.schedule_for("claude-sonnet-5-5")
    assert schedule.step(1) == AttemptStep("claude-haiku-5-5", "low")
    assert schedule.step(3) == AttemptStep(None, "high"), "the last step repeats"
    book = settings.prices("claude-sonnet-5-5")
    assert book.price("claude-haiku-5-5").output_per_mtok == 0.5, "the override, halved"
    assert book.price("claude-sonnet-5-5").output_per_mtok == 5.0
    assert settings.max_concurrent == BATCH_MAX_REQUESTS
    assert settings.policy.attempt_timeout_seconds > 24 * 3600, "a call waits for its batch"


def test_prepare_refuses_a_schedule_the_api_would_refuse() -> None:
    config = MasterplanRunConfig(schedule=[{"model": "claude-opus-5-5", "temperature": 0.3}])
    settings = settings_from_config(config, "/tmp/out")
    provider = AnthropicProvider(api_key="sk-test", model="claude-sonnet-5-5")
    with pytest.raises(RunConfigError) as caught:
        check_schedule(settings, provider)
    assert caught.value.problems == [
        "schedule step 1: model claude-opus-5-5 does not accept a temperature"
    ]
    check_schedule(settings, SimulatedModel())  # the simulated model plays any step
    batch = settings_from_config(MasterplanRunConfig(submission="batch"), "/tmp/out")
    with pytest.raises(RunConfigError, match="batch needs the anthropic provider"):
        check_schedule(batch, SimulatedModel())
