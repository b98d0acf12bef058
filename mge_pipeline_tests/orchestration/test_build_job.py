"""The build job in process: discovery, plan, one decomposition step per task (a dynamic
fan-out) and the assembled plan, with each stage's answers and cost as op metadata."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from mge_pipeline.orchestration.build import make_build_job
from mge_pipeline.orchestration.build_config import BuiltPlan, build_run_config
from mge_pipeline.orchestration.environment import ResourceOptions, make_resources
from mge_pipeline.planning import load_masterplan
from mge_pipeline.testing import BUILD_REQUEST, MessagesApiServer, build_responder

pytestmark = pytest.mark.integration


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Iterator[MessagesApiServer]:
    with MessagesApiServer(build_responder()) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
        yield server


def _metadata(result: dg.ExecuteInProcessResult, step: str) -> dict[str, object]:
    (event,) = [e for e in result.all_events if e.is_successful_output and e.step_key == step]
    return {k: v.value for k, v in event.step_output_data.metadata.items()}


def test_the_plan_job_fans_out_one_decomposition_per_task(
    scripted: MessagesApiServer, database_url: str, tmp_path: Path
) -> None:
    resources = make_resources(
        ResourceOptions(provider="anthropic", database_url=database_url, io_manager="memory")
    )
    job = make_build_job(generate=False, resources=resources)
    plan_path = tmp_path / "plan.yaml"
    config = build_run_config({"request": BUILD_REQUEST, "plan_path": str(plan_path)})
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(run_config=config, instance=instance)
    assert result.success
    steps = {e.step_key for e in result.all_events if e.is_step_success}
    assert {"decompose_task[text]", "decompose_task[stats]"} <= steps
    assert _metadata(result, "discover")["answers"] == 2
    assert "package: Field required" in str(_metadata(result, "discover")["sent_back"])
    assert _metadata(result, "plan")["tasks"] == 2
    assert "atom cycle" in str(_metadata(result, "decompose_task[stats]")["sent_back"])
    assembled = _metadata(result, "assemble_plan")
    assert assembled["atoms"] == 5 and assembled["waves"] == 2
    built = result.output_for_node("assemble_plan")
    assert isinstance(built, BuiltPlan)
    assert built.planning_cost_usd == pytest.approx(scripted.billed_usd())
    assert load_masterplan(plan_path) == built.plan


def test_the_simulated_model_fails_discovery_with_its_reason(
    database_url: str, tmp_path: Path
) -> None:
    resources = make_resources(ResourceOptions(provider="simulated", database_url=database_url))
    job = make_build_job(generate=False, resources=resources)
    config = build_run_config({"request": "x", "plan_path": str(tmp_path / "p.yaml")})
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(run_config=config, instance=instance, raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "discover"
    description = failure.step_failure_data.user_failure_data.description
    assert description.startswith("discovery: The simulated model replays reference")
    assert not (tmp_path / "p.yaml").exists()


def test_tasks_are_decomposed_concurrently_on_the_async_executor(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> None:
    """Each answer takes 2 s: the second task's first request arrives while the first task's
    is still being answered (sequential steps would put 2 s between them)."""
    latency = 2.0
    with MessagesApiServer(build_responder(), latency_seconds=latency) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
        job = dg.build_reconstructable_job(  # on the job's own (async) executor
            "mge_pipeline.orchestration.build",
            "make_build_job_from_options",
            reconstructable_kwargs={
                "generate": False,
                "options": {"provider": "anthropic", "database_url": database_url},
            },
        )
        config = build_run_config({"request": BUILD_REQUEST, "plan_path": str(tmp_path / "p.yaml")})
        with (
            dg.instance_for_test() as instance,
            dg.execute_job(job, instance=instance, run_config=config) as result,
        ):
            assert result.success
        requests = server.requests
    first_turns = [
        r.received_at
        for r in requests
        if r.body["output_config"]["format"]["schema"]["title"] == "TaskDecomposition"
        and len(r.body["messages"]) == 1
    ]
    assert len(first_turns) == 2
    assert abs(first_turns[0] - first_turns[1]) < latency
