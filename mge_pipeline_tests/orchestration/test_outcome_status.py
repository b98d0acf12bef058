"""Outcome is status: failed, blocked and skipped atoms are failed steps, the run is not Success.

The wave still closes and the run still finalizes (the report is written), because the atom
steps yield their output before they fail (orchestration/executor.py).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from mge_pipeline_tests.factories import make_atom, make_plan
from mge_pipeline_tests.orchestration.helpers import run_plan

pytestmark = pytest.mark.integration


def _plan():  # type: ignore[no-untyped-def]
    return make_plan(
        make_atom(id="broken", reference_implementation=None),
        make_atom(id="ok1"),
        make_atom(id="needs_broken", depends_on=["broken"]),
        make_atom(id="needs_needs_broken", depends_on=["needs_broken"]),
        make_atom(id="needs_ok", depends_on=["ok1"]),
    )


def test_failed_and_blocked_atoms_are_failed_steps_and_the_run_is_not_success(
    tmp_path: Path, database_url: str, scheduling: str
) -> None:
    run = run_plan(_plan(), tmp_path, database_url, scheduling=scheduling, wave_stop_threshold=0)
    assert run.report is not None, "finalize ran and wrote the report"
    statuses = {a["atom_id"]: a["status"] for a in run.report["atoms"]}
    assert statuses == {
        "broken": "failed",
        "ok1": "succeeded",
        "needs_broken": "blocked",
        "needs_needs_broken": "blocked",
        "needs_ok": "succeeded",
    }
    assert run.dagster_status == dg.DagsterRunStatus.FAILURE
    states = run.step_states
    assert states["wave_0_generate_atom[broken]"] == "FAILURE"
    assert states["wave_1_generate_atom[needs_broken]"] == "FAILURE"
    assert states["wave_2_generate_atom[needs_needs_broken]"] == "FAILURE"
    assert states["wave_0_generate_atom[ok1]"] == "SUCCESS"
    assert states["wave_1_generate_atom[needs_ok]"] == "SUCCESS"
    for close in ("wave_0_close", "wave_1_close", "wave_2_close"):
        assert states[close] == "SUCCESS", close
    assert "STEP_START" in run.step_events["finalize"], "finalize ran (it fails: atoms failed)"
    assert run.report["status"] == "failed"
    assert "atom broken failed:" in run.failures["wave_0_generate_atom[broken]"]
    assert (
        "blocked by dependencies that did not validate: broken"
        in (run.failures["wave_1_generate_atom[needs_broken]"])
    )


def test_a_run_whose_atoms_all_validate_is_success(tmp_path: Path, database_url: str) -> None:
    plan = make_plan(make_atom(id="a"), make_atom(id="b", depends_on=["a"]))
    run = run_plan(plan, tmp_path, database_url)
    assert run.dagster_status == dg.DagsterRunStatus.SUCCESS
    assert set(run.step_states.values()) == {"SUCCESS"}
