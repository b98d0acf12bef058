"""The large example end to end with ``--provider anthropic`` against the local Messages API.

The server answers with the plan's reference implementations and injects faults on a schedule;
the real SDK, our retry layer, the budget and the report all run for real.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mge_pipeline.generation import price_for
from mge_pipeline.planning import load_masterplan
from mge_pipeline.testing import Fault, FaultKind, MessagesApiServer, reference_responder
from mge_pipeline_tests.cli.test_cli import mge
from mge_pipeline_tests.conftest import EXAMPLES

pytestmark = pytest.mark.e2e
PLAN = EXAMPLES / "ledger_library.yaml"


@pytest.fixture
def server() -> Iterator[MessagesApiServer]:
    with MessagesApiServer(reference_responder(load_masterplan(PLAN))) as running:
        yield running


def _run(server: MessagesApiServer, home: Path, output: Path, *extra: str) -> dict[str, object]:
    env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-test"}
    result = mge("run", str(PLAN), "--output", str(output), *extra, home=home, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "provider: anthropic (model claude-sonnet-4-5)" in result.stdout
    report: dict[str, object] = json.loads((output / "report.json").read_text())
    return report


def test_large_example_with_the_anthropic_provider(
    server: MessagesApiServer, clean_environment: Path, tmp_path: Path
) -> None:
    server.enqueue(
        Fault(FaultKind.RATE_LIMIT, retry_after=1),
        Fault(FaultKind.OVERLOADED),
        Fault(FaultKind.TRUNCATED),
        Fault(FaultKind.DROP_CONNECTION),
    )
    report = _run(server, clean_environment, tmp_path / "out")
    assert report["precision_percent"] == 100.0 and report["acceptance"] == "passed"
    usage = server.usage
    billed = usage.cost(price_for("claude-sonnet-4-5"))
    assert report["total_cost_usd"] == pytest.approx(billed, abs=1e-9)
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
