"""A plan's own test command runs on the assembled output; its verdict decides the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from mge_pipeline_tests.factories import chain_plan
from mge_pipeline_tests.orchestration.helpers import run_plan

pytestmark = pytest.mark.integration

_CHECK = "from pkg.core import f1\nassert f1(2, 3) == 5\n"


@pytest.mark.parametrize(
    ("command", "status", "summary"),
    [
        pytest.param(["python", "-c", _CHECK], "completed", "passed", id="passes"),
        pytest.param(
            ["python", "-c", "raise SystemExit(3)"],
            "failed",
            "test command failed (exit code 3): python -c raise SystemExit(3)",
            id="fails-the-run",
        ),
    ],
)
def test_test_command_outcome_is_reported(
    tmp_path: Path,
    database_url: str,
    scheduling: str,
    command: list[str],
    status: str,
    summary: str,
) -> None:
    plan = chain_plan(2, test_command=command)
    run = run_plan(plan, tmp_path, database_url, scheduling=scheduling)
    assert run.report is not None
    assert run.report["status"] == status
    assert run.report["test_command"] == summary
    assert run.success is (status == "completed")
    if status == "failed":
        assert run.report["reason"] == summary
    assert f"- Test command: {summary}" in (run.output_dir / "report.md").read_text()


def test_no_test_command_means_none_defined(
    tmp_path: Path, database_url: str, scheduling: str
) -> None:
    run = run_plan(chain_plan(1), tmp_path, database_url, scheduling=scheduling)
    assert run.report is not None and run.report["test_command"] == "none defined"
