"""``mge plan`` and ``mge build`` end to end: the real SDK against the scripted Messages API
server, which answers discovery, planning, decomposition (first answers wrong, repaired by
feedback) and the generation prompts; the built plan then runs to completion."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mge_pipeline.planning import load_masterplan
from mge_pipeline.store import MgeStore
from mge_pipeline.testing import BUILD_REQUEST, Fault, FaultKind, MessagesApiServer, build_responder
from mge_pipeline_tests.cli.test_cli import mge

pytestmark = pytest.mark.e2e


@pytest.fixture
def scripted() -> Iterator[MessagesApiServer]:
    with MessagesApiServer(build_responder()) as server:
        yield server


def _env(server: MessagesApiServer) -> dict[str, str]:
    return {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-test"}


def _stage(body: dict[str, object]) -> str:
    output_config = body.get("output_config") or {}
    schema = (
        (output_config.get("format") or {}).get("schema")
        if isinstance(output_config, dict)
        else None
    )
    return str(schema["title"]) if isinstance(schema, dict) else "generation"


def test_build_goes_from_a_request_to_validated_code_in_one_run(
    scripted: MessagesApiServer, clean_environment: Path, tmp_path: Path
) -> None:
    plan_path, output = tmp_path / "plans" / "textkit.yaml", tmp_path / "out"
    scripted.enqueue(Fault(FaultKind.OVERLOADED))  # an API error on the way: retried, free
    result = mge(
        "build", BUILD_REQUEST, "-o", str(plan_path), "--output", str(output),
        home=clean_environment, env=_env(scripted),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tasks / atoms / waves  2 / 5 / 2" in result.stdout
    assert "precision                   100.0% (5/5 atoms)" in result.stdout
    report = json.loads((output / "report.json").read_text())
    assert report["status"] == "completed" and report["acceptance"] == "passed"
    assert "def top_word" in (output / "textkit" / "stats.py").read_text()

    plan = load_masterplan(plan_path)  # the written plan is one mge run accepts
    assert [a.id for a in plan.atoms()][:2] == ["text.normalize_space", "text.slugify"]
    discovery = json.loads((tmp_path / "plans" / "textkit.discovery.json").read_text())
    assert discovery["project_id"] == "textkit" and discovery["language"] == "python"

    stages = [_stage(r.body) for r in scripted.requests]
    assert stages.count("Discovery") == 3, "an overloaded answer retried, a schema repair"
    assert stages.count("PlanOutline") == 2, "an unknown task dependency sent back"
    assert stages.count("TaskDecomposition") == 4, "an oversized atom and a cycle sent back"
    assert stages.count("generation") == 5
    spent = float(result.stdout.split("planning cost")[1].split("$")[1].split()[0])
    assert spent + report["total_cost_usd"] == pytest.approx(scripted.billed_usd(), abs=1e-4)
    (execution,) = MgeStore(f"sqlite:///{clean_environment / 'mge.db'}").executions()
    assert execution.masterplan_id == "textkit" and execution.status.value == "completed"


def test_plan_only_writes_a_plan_that_mge_run_then_completes(
    scripted: MessagesApiServer, clean_environment: Path, tmp_path: Path
) -> None:
    plan_path, output = tmp_path / "plan.yaml", tmp_path / "out"
    env = _env(scripted)
    planned = mge("build", BUILD_REQUEST, "--plan-only", "-o", str(plan_path),
                  home=clean_environment, env=env)  # fmt: skip
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert f"mge run {plan_path}" in planned.stdout
    assert all(_stage(r.body) != "generation" for r in scripted.requests), "stopped before code"
    assert not (clean_environment / "output").exists()

    ran = mge("run", str(plan_path), "--output", str(output), home=clean_environment, env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    report = json.loads((output / "report.json").read_text())
    assert report["precision_percent"] == 100.0 and report["acceptance"] == "passed"


def test_mge_plan_needs_an_output_and_writes_the_plan(
    scripted: MessagesApiServer, clean_environment: Path, tmp_path: Path
) -> None:
    plan_path = tmp_path / "p.yml"
    result = mge("plan", BUILD_REQUEST, "-o", str(plan_path), "--max-answers", "2",
                 home=clean_environment, env=_env(scripted))  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert load_masterplan(plan_path).id == "textkit"


def test_a_stage_that_cannot_be_repaired_fails_the_build_with_its_reason(
    scripted: MessagesApiServer, clean_environment: Path, tmp_path: Path
) -> None:
    plan_path = tmp_path / "plan.yaml"
    result = mge("plan", BUILD_REQUEST, "-o", str(plan_path), "--max-answers", "1",
                 home=clean_environment, env=_env(scripted))  # fmt: skip
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: discover: discovery: no answer passed its checks in 1 answers")
    assert "package: Field required" in line
    assert not plan_path.exists(), "nothing half-written"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("plan", "   ", "-o", "p.yaml"), "error: the request is empty", id="empty"),
        pytest.param(("plan", "x", "-o", "p.txt"), "must end in .yaml or .yml", id="suffix"),
        pytest.param(("build", "x", "--budget", "0"), "--budget must be above 0", id="budget"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: tuple[str, ...], message: str, clean_environment: Path, tmp_path: Path
) -> None:
    env = {"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}
    result = mge(*args, home=clean_environment, env=env)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert message in line
    assert not (clean_environment / "dagster").exists(), "no run was started"


def test_the_simulated_model_declines_to_plan(clean_environment: Path, tmp_path: Path) -> None:
    result = mge("build", BUILD_REQUEST, home=clean_environment)  # no key: simulated
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: The simulated model replays reference implementations")
    assert "needs a real model" in line and "scripted Messages API server" in line


def test_the_budget_covers_planning_and_refuses_before_a_call(
    scripted: MessagesApiServer, clean_environment: Path, tmp_path: Path
) -> None:
    result = mge("plan", BUILD_REQUEST, "-o", str(tmp_path / "p.yaml"), "--budget", "0.001",
                 home=clean_environment, env=_env(scripted))  # fmt: skip
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: discover: discovery: cost budget of $0.001")
    assert scripted.requests == [] and not (tmp_path / "p.yaml").exists()
