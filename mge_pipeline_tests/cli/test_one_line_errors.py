"""Operational failures end in one line and the right exit code; a failed run's summary first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mge_pipeline_tests.cli.test_cli import mge
from mge_pipeline_tests.conftest import free_port
from mge_pipeline_tests.factories import make_atom, make_plan

pytestmark = pytest.mark.e2e


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.stderr
    return lines[0]


def test_an_unreachable_database_is_one_line_and_exit_3(tmp_path: Path) -> None:
    url = f"postgresql+psycopg2://postgres:secret@127.0.0.1:{free_port()}/mge_12_none"
    result = mge("status", home=tmp_path, env={"MGE_DATABASE_URL": url})
    assert result.returncode == 3
    line = _one_error_line(result)
    assert "127.0.0.1" in line and "refused" in line and "secret" not in line


def test_a_database_url_without_its_driver_is_one_line(tmp_path: Path) -> None:
    url = f"mysql+nosuchdriver://u@127.0.0.1:{free_port()}/x"
    result = mge("status", home=tmp_path, env={"MGE_DATABASE_URL": url})
    assert result.returncode == 3, result.stderr
    assert "mysql" in _one_error_line(result)


def test_an_unreachable_graphql_url_is_one_line_and_exit_3(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/graphql"
    result = mge("status", "--graphql", url, home=tmp_path)
    assert result.returncode == 3
    line = _one_error_line(result)
    assert url in line and "/graphql/graphql" not in line


def test_verbose_brings_the_traceback_back(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = mge("status", "--graphql", url, "--verbose", home=tmp_path)
    assert result.returncode == 3 and "Traceback" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("error: ")


def test_status_of_an_unknown_masterplan_is_an_error(tmp_path: Path) -> None:
    result = mge("status", "UNKNOWN", home=tmp_path)
    assert result.returncode == 2
    assert "UNKNOWN" in _one_error_line(result)


def test_a_reader_that_goes_away_is_no_traceback(tmp_path: Path) -> None:
    """``mge schema | head -0``: the pipe's reader is gone before anything is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MGE_", "DAGSTER_"))}
    result = subprocess.run(
        [sys.executable, "-m", "mge_pipeline.cli", "schema"],
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
        env={**base, "MGE_HOME": str(tmp_path)},
        timeout=120,
        check=False,
    )
    os.close(write_end)
    assert result.returncode == 141
    assert "BrokenPipeError" not in result.stderr and "Traceback" not in result.stderr


def test_a_failed_run_prints_its_summary_first_and_names_the_root_cause(tmp_path: Path) -> None:
    plan = make_plan(
        make_atom(id="broken", reference_implementation=None),
        make_atom(id="ok1"),
        make_atom(id="needs_broken", depends_on=["broken"]),
    )
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(yaml.safe_dump(plan.model_dump(mode="json"), sort_keys=False))
    result = mge("run", str(plan_file), "--allow-weak-sandbox", home=tmp_path / "home")
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert "Stack Trace" not in out + result.stderr and "Traceback" not in out + result.stderr
    summary = out.index("summary")
    failed = out.index("failed steps:")
    assert summary < failed
    assert "wave_0_generate_atom[broken]: atom broken failed" in out[failed:]
    assert "wave_1_generate_atom[needs_broken]: atom needs_broken blocked" in out[failed:]
    assert "rerun with --verbose" in out
    # wave 1's only atom was blocked: blocked atoms do not count against a wave (the stop rule
    # judges generation), so nothing blames wave 1; the status names the atoms themselves.
    assert "2 of 3 atoms did not validate: broken, needs_broken" in out[summary:failed]
    assert "wave 1 validated only" not in out
    # Bars count settled atoms: wave 1's blocked atom is settled, nothing was skipped.
    assert "wave  0 [" in out and "settled (1 failed or blocked)" in out

    verbose = mge(
        "run", str(plan_file), "--allow-weak-sandbox", "--verbose", home=tmp_path / "home"
    )
    assert verbose.returncode == 1
    tail = verbose.stdout[verbose.stdout.index("failed steps (Dagster's traces):") :]
    assert verbose.stdout.index("summary") < verbose.stdout.index("failed steps")
    assert "Stack Trace" in tail or "Traceback" in tail or 'File "' in tail
