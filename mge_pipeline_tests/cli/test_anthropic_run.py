"""The large example end to end with ``--provider anthropic`` against the local Messages API.

The server answers with the plan's reference implementations and injects faults on a schedule;
the real SDK, our retry layer, the budget and the report all run for real.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mge_pipeline.domain import AttemptRecord
from mge_pipeline.generation import price_for
from mge_pipeline.planning import load_masterplan
from mge_pipeline.store import MgeStore
from mge_pipeline.testing import (
    Fault,
    FaultKind,
    MessagesApiServer,
    faulty_reference_responder,
    reference_responder,
)
from mge_pipeline_tests.cli.test_cli import mge
from mge_pipeline_tests.conftest import EXAMPLES

pytestmark = pytest.mark.e2e
PLAN = EXAMPLES / "ledger_library.yaml"


@pytest.fixture
def server() -> Iterator[MessagesApiServer]:
    with MessagesApiServer(reference_responder(load_masterplan(PLAN))) as running:
        yield running


def _run(
    server: MessagesApiServer,
    home: Path,
    output: Path,
    *extra: str,
    model: str = "claude-sonnet-5-5",
) -> dict[str, object]:
    env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-test"}
    if model != "claude-sonnet-5-5":
        extra = ("--model", model, *extra)
    result = mge("run", str(PLAN), "--output", str(output), *extra, home=home, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"provider: anthropic (model {model})" in result.stdout
    report: dict[str, object] = json.loads((output / "report.json").read_text())
    if "--batch" in extra:
        # whichever batch the progress thread first sees pending (on a loaded machine it can
        # first look after batch 1 was collected)
        assert "batches pending: msgbatch_" in result.stdout, "batch progress shown"
        assert result.stdout.rstrip().count("batches pending: none") >= 1
    return report


def _attempts(home: Path) -> list[AttemptRecord]:
    store = MgeStore(f"sqlite:///{home / 'mge.db'}")
    (execution,) = store.executions()
    return store.attempts(execution.execution_id)


def test_large_example_with_the_anthropic_provider(
    server: MessagesApiServer, clean_environment: Path, tmp_path: Path
) -> None:
    server.enqueue(
        Fault(FaultKind.RATE_LIMIT, retry_after=1),
        Fault(FaultKind.OVERLOADED),
        Fault(FaultKind.TRUNCATED),
        Fault(FaultKind.DROP_CONNECTION),
    )
    report = _run(server, clean_environment, tmp_path / "out", model="claude-sonnet-4-6")
    assert report["precision_percent"] == 100.0 and report["acceptance"] == "passed"
    usage = server.usage
    billed = usage.cost(price_for("claude-sonnet-4-6"))
    assert report["total_cost_usd"] == pytest.approx(billed, abs=1e-9)
    assert {a.temperature for a in _attempts(clean_environment)} == {0.7, 0.5}, "seed schedule"
    assert report["cache_read_tokens"] == usage.cache_read_tokens > 0
    assert report["total_cost_usd"] < report["cost_without_cache_usd"]
    assert report["attempts_total"] == 50, "49 atoms + the truncated answer; API errors are free"
    assert {r.headers["x-stainless-retry-count"] for r in server.requests} == {"0"}


def test_caching_off_sends_no_cache_control(
    server: MessagesApiServer, clean_environment: Path, tmp_path: Path
) -> None:
    report = _run(server, clean_environment, tmp_path / "out", "--no-prompt-caching")
    assert report["cache_read_tokens"] == 0 and report["cache_write_tokens"] == 0
    assert report["total_cost_usd"] == pytest.approx(report["cost_without_cache_usd"])
    assert all("cache_control" not in block for r in server.requests for block in r.body["system"])


def test_an_invalid_key_stops_the_run_with_its_reason_and_a_report(
    server: MessagesApiServer, clean_environment: Path, tmp_path: Path
) -> None:
    server.enqueue(*[Fault(FaultKind.AUTHENTICATION)] * 49)
    output = tmp_path / "out"
    env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-wrong"}
    result = mge("run", str(PLAN), "--output", str(output), home=clean_environment, env=env)
    assert result.returncode == 1
    report = json.loads((output / "report.json").read_text())
    assert report["status"] == "failed"
    assert report["reason"].startswith(
        "the LLM provider cannot serve this run: request rejected (401)"
    )
    assert report["attempts_total"] == 0
    first_wave = 14
    assert len(server.requests) <= first_wave, "only calls already in flight were made"


def test_the_default_schedule_escalates_from_the_fast_model(
    clean_environment: Path, tmp_path: Path
) -> None:
    """Haiku 5.5 at low effort gets a fault in a third of its answers; Sonnet 5.5 in none."""
    plan = load_masterplan(PLAN)
    responder = faulty_reference_responder(plan, {"claude-haiku-5-5": 0.35}, seed=3)
    with MessagesApiServer(responder) as server:
        report = _run(server, clean_environment, tmp_path / "out")
        billed = server.billed_usd()
        requests = server.requests
    assert report["precision_percent"] == 100.0
    assert report["total_cost_usd"] == pytest.approx(billed, abs=1e-9), "ledger = the bill"
    attempts = _attempts(clean_environment)
    expected = {1: ("claude-haiku-5-5", "low"), 2: ("claude-sonnet-5-5", "medium")}
    expected |= {3: ("claude-sonnet-5-5", "high"), 4: ("claude-sonnet-5-5", "xhigh")}
    assert {(a.model, a.effort) == expected[a.attempt_number] for a in attempts} == {True}
    assert all(a.temperature is None for a in attempts)
    escalated = [a for a in attempts if a.attempt_number == 2]
    assert escalated, "some first answers failed and went to the stronger model"
    assert all(a.passed for a in escalated), "Sonnet got the errors and fixed them"
    assert all("temperature" not in r.body for r in requests)
    assert {r.body["output_config"]["effort"] for r in requests} == {"low", "medium"}
    models = {(m["model"], m["effort"]): m for m in report["models"]}  # type: ignore[attr-defined]
    assert models[("claude-sonnet-5-5", "medium")]["passed"] == len(escalated)
    assert sum(m["cost_usd"] for m in models.values()) == pytest.approx(billed)


def test_a_configured_schedule_is_used_and_a_refused_one_is_bad_input(
    server: MessagesApiServer, clean_environment: Path, tmp_path: Path
) -> None:
    server.enqueue(Fault(FaultKind.TRUNCATED))
    steps = ("--schedule", "claude-sonnet-5-5:high", "--schedule", "claude-opus-5-5:max")
    report = _run(server, clean_environment, tmp_path / "out", *steps)
    assert report["attempts_total"] == 50
    used = {(a.attempt_number, a.model, a.effort) for a in _attempts(clean_environment)}
    assert used == {(1, "claude-sonnet-5-5", "high"), (2, "claude-opus-5-5", "max")}
    assert report["total_cost_usd"] == pytest.approx(server.billed_usd(), abs=1e-9)

    env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-test"}
    bad = ("--schedule", "claude-sonnet-5-5::0.5", "--schedule", "claude-haiku-4-5:low")
    result = mge("run", str(PLAN), *bad, home=tmp_path / "other", env=env)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: schedule step 1: model claude-sonnet-5-5 does not accept a temperature",
        "error: schedule step 2: model claude-haiku-4-5 does not accept an effort",
    ]
    assert not (tmp_path / "other" / "mge.db").exists(), "nothing stored"


def test_batch_mode_runs_every_round_as_a_message_batch_at_half_price(
    clean_environment: Path, tmp_path: Path
) -> None:
    plan = load_masterplan(PLAN)
    responder = faulty_reference_responder(plan, {"claude-haiku-5-5": 0.35}, seed=3)
    with MessagesApiServer(responder) as server:
        report = _run(server, clean_environment, tmp_path / "out", "--batch", "--batch-poll", "1.0")
        billed = server.billed_usd()
        requests, batches = server.requests, server.batches
        realtime = server.usage_by_model
    assert report["precision_percent"] == 100.0
    assert realtime == {}, "no realtime call"
    assert all(r.batch_id for r in requests)
    assert report["total_cost_usd"] == pytest.approx(billed, abs=1e-9), "ledger = the bill"
    attempts = _attempts(clean_environment)
    samples = report["cross_checks"]["sample_calls"]
    assert len(requests) == len(attempts) + samples, "one batch request per attempt or sample"
    assert len(batches) < len(attempts) / 3, "rounds gathered into few batches"
    retried = [a for a in attempts if a.attempt_number == 2]
    assert retried and {(a.model, a.effort) for a in retried} == {("claude-sonnet-5-5", "medium")}
    half = sum(a.cost_usd for a in attempts) * 2
    realtime_price = sum(u.cost(price_for(m)) for m, u in server.batch_usage_by_model.items())
    assert half == pytest.approx(realtime_price), "exactly half the realtime price"


def test_batch_mode_survives_a_worker_restart_while_a_batch_is_pending(
    clean_environment: Path, tmp_path: Path
) -> None:
    """The first worker is killed with its first batch pending; the second one collects it."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MGE_", "ANTHROPIC_"))},
        "MGE_HOME": str(clean_environment),
        "ANTHROPIC_API_KEY": "sk-ant-test",
        # the killed worker's execution must be found lost before its output directory is free
        "MGE_LOST_AFTER_SECONDS": "1",
    }
    command = [sys.executable, "-m", "mge_pipeline.cli", "run", str(PLAN), "--batch"]
    command += ["--batch-poll", "0.2", "--output", str(tmp_path / "out")]
    with MessagesApiServer(reference_responder(load_masterplan(PLAN))) as server:
        server.hold_batches()
        env["ANTHROPIC_BASE_URL"] = server.url
        worker = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            for _ in range(600):
                if server.batches or worker.poll() is not None:
                    break
                time.sleep(0.1)
            (pending,) = server.batches
            time.sleep(0.5)  # the batch id is written right after the create answers
        finally:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        assert pending.status == "in_progress" and server.billed_usd() == 0.0
        server.hold_batches(False)
        time.sleep(1.5)
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
        batches, billed = server.batches, server.billed_usd()
    first_ids = set(pending.custom_ids)
    assert all(not first_ids & set(b.custom_ids) for b in batches[1:]), "never resubmitted"
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["precision_percent"] == 100.0
    assert report["total_cost_usd"] == pytest.approx(billed, abs=1e-9), "paid once, counted once"
