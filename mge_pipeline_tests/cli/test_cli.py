"""The ``mge`` command line end to end, in subprocesses, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mge_pipeline_tests.conftest import EXAMPLES
from mge_pipeline_tests.factories import make_atom, make_plan

pytestmark = pytest.mark.e2e


def mge(
    *args: str, home: Path, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Runs ``mge`` with a clean environment: no developer's key, store or Dagster home."""
    prefixes = ("MGE_", "ANTHROPIC_", "DAGSTER_", "PROMETHEUS_")
    base = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return subprocess.run(
        [sys.executable, "-m", "mge_pipeline.cli", *args],
        capture_output=True,
        text=True,
        env={**base, "MGE_HOME": str(home), **(env or {})},
        timeout=timeout,
        check=False,
    )


def test_schema_is_json_schema(clean_environment: Path) -> None:
    result = mge("schema", home=clean_environment)
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "MasterPlan"
    assert "AtomSpec" in schema["$defs"]


def test_validate_plan_prints_statistics(clean_environment: Path) -> None:
    result = mge("validate-plan", str(EXAMPLES / "ledger_library.yaml"), home=clean_environment)
    assert result.returncode == 0, result.stderr
    assert "masterplan 'ledger_library' is valid" in result.stdout
    assert "critical path" in result.stdout


def test_bad_plan_is_rejected_with_one_line_per_problem_and_nothing_written(
    clean_environment: Path, tmp_path: Path
) -> None:
    document = make_plan(make_atom(id="a", depends_on=["ghost"]), make_atom(id="b")).model_dump(
        mode="json"
    )
    del document["phases"][0]["milestones"][0]["tasks"][0]["atoms"][1]["signature"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(document))
    result = mge("run", str(bad), home=clean_environment)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {bad}: atom 'b' field 'signature': Field required"
    ]
    assert not clean_environment.exists(), "a rejected plan writes nothing"
    document["phases"][0]["milestones"][0]["tasks"][0]["atoms"][1]["signature"] = "def b(): ..."
    bad.write_text(yaml.safe_dump(document))
    result = mge("validate-plan", str(bad), home=clean_environment)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: atom 'a' field 'depends_on': unknown atom 'ghost'"
    ]
    document = make_plan(task_tests="def test_it(:\n    pass\n").model_dump(mode="json")
    bad.write_text(yaml.safe_dump(document))
    result = mge("run", str(bad), home=clean_environment)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: task 't1' field 'tests': not valid Python: line 1: invalid syntax"
    ]
    assert not clean_environment.exists(), "a rejected plan writes nothing"


@pytest.mark.parametrize("scheduling", ["dependencies", "waves"])
def test_run_the_large_example_under_default_faults(
    clean_environment: Path, tmp_path: Path, scheduling: str
) -> None:
    """The README's main command: ≥ 95 % precision at the default 10 % fault rate."""
    output = tmp_path / "ledger"
    result = mge(
        "run",
        str(EXAMPLES / "ledger_library.yaml"),
        "--latency",
        "0.05",
        "--scheduling",
        scheduling,
        "--output",
        str(output),
        home=clean_environment,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "provider: simulated" in result.stdout
    assert f"scheduling by {scheduling}" in result.stdout
    report = json.loads((output / "report.json").read_text())
    assert report["precision_percent"] >= 95.0
    assert report["attempts_total"] > report["atoms_total"], "the default fault rate causes retries"
    assert report["acceptance"] == "passed"
    assert "wave  8 [" in result.stdout and "precision" in result.stdout, "the last wave settled"
    check = subprocess.run(
        [sys.executable, "-c", "import ledgerlib; print(sorted(ledgerlib.__all__)[:3])"],
        cwd=output,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr


def test_submit_then_status(clean_environment: Path) -> None:
    assert "no executions" in mge("status", home=clean_environment).stdout
    plan = str(EXAMPLES / "small_textutils.yaml")
    submitted = mge("submit", plan, home=clean_environment)
    assert submitted.returncode == 0 and "as ready" in submitted.stdout
    ran = mge("run", plan, "--latency", "0", home=clean_environment)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    status = mge("status", "small_textutils", home=clean_environment)
    assert status.returncode == 0
    row = status.stdout.splitlines()[2].split()
    assert row[1:5] == ["small_textutils", "completed", "6/6", "11/11"]


def test_without_bubblewrap_mge_run_refuses_in_one_line_unless_allowed(
    clean_environment: Path, tmp_path: Path
) -> None:
    """A PATH with no bwrap on it: refused before any call, or run and labelled WEAK."""
    bare = tmp_path / "bin"
    bare.mkdir()
    plan = str(EXAMPLES / "small_textutils.yaml")
    refused = mge("run", plan, "--latency", "0", home=clean_environment, env={"PATH": str(bare)})
    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1 and "bubblewrap" in refused.stderr
    assert not (clean_environment / "output").exists(), "nothing written"
    allowed = mge(
        "run",
        plan,
        "--latency",
        "0",
        "--allow-weak-sandbox",
        home=clean_environment,
        env={"PATH": str(bare)},
    )
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "sandbox: python-guard (WEAK:" in allowed.stdout


def test_cancel_of_an_unknown_run_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = mge("cancel", "no-such-run", home=tmp_path / "home")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: no run 'no-such-run' in the Dagster instance"
