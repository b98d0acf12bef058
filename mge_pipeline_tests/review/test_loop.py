"""The whole loop on a real Dagster instance: an atom that cannot pass reaches the queue with
its dependents blocked; a reviewer's edit, validated in the sandbox and picked up by the
review sensor, completes the plan without generating any other atom again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from mge_pipeline.cli import main
from mge_pipeline.domain import AtomStatus
from mge_pipeline.domain.records import MasterplanStatus
from mge_pipeline.orchestration import StoreResource, compile_masterplan_job
from mge_pipeline.orchestration.sensors import make_review_decision_sensor
from mge_pipeline.store import MgeStore
from mge_pipeline.store.review_repository import ReviewRepository
from mge_pipeline_tests.factories import make_atom, make_plan
from mge_pipeline_tests.orchestration.helpers import run_plan

pytestmark = pytest.mark.integration

GOOD_MUL = "def mul(a: int, b: int) -> int:\n    return add(a, 0) * b\n"


def _plan() -> Any:
    return make_plan(
        make_atom(id="add"),
        make_atom(
            id="mul",
            depends_on=["add"],
            signature="def mul(a: int, b: int) -> int:",
            description="mul: multiplies two integers",
            tests="assert mul(2, 3) == 6\nassert mul(0, 5) == 0\n",
            reference_implementation=None,  # the simulated model cannot write it
        ),
        make_atom(
            id="square",
            depends_on=["mul"],
            signature="def square(a: int, b: int) -> int:",
            description="square: the square of a (b is ignored)",
            tests="assert square(3, 0) == 9\n",
            reference_implementation="def square(a: int, b: int) -> int:\n    return mul(a, a)\n",
        ),
        make_atom(id="other"),
        make_atom(id="other2", depends_on=["add"]),
        make_atom(id="other3", depends_on=["add"]),
        id="review_loop",
    )


def _execute(plan: Any, tmp_path: Path, database_url: str, request: dg.RunRequest) -> str:
    plan_file = tmp_path / f"{plan.id}.yaml"
    job = dg.build_reconstructable_job(
        "mge_pipeline.orchestration.compiler",
        "compile_masterplan_job_from_file",
        reconstructable_args=(str(plan_file),),
        reconstructable_kwargs={
            "options": {"database_url": database_url, "provider": "simulated", "fault_rate": 0.0}
        },
    )
    run_config = dict(request.run_config)
    run_config["loggers"] = {"console": {"config": {"log_level": "ERROR"}}}
    with (
        dg.instance_for_test() as instance,
        dg.execute_job(
            job, instance=instance, run_config=run_config, tags=request.tags, raise_on_error=False
        ) as result,
    ):
        assert result.success
        return result.run_id


def _tick(plan: Any, database_url: str) -> dg.SensorResult:
    sensor = make_review_decision_sensor([compile_masterplan_job(plan)])
    with dg.build_sensor_context(
        resources={"store": StoreResource(database_url=database_url)}
    ) as context:
        return sensor.evaluate_tick(context)


def test_edit_picked_up_by_the_sensor_completes_the_plan(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan = _plan()
    first = run_plan(plan, tmp_path, database_url, wave_stop_threshold=0.0)
    assert first.report is not None and first.report["status"] == "failed"
    assert "2 of 6 atoms did not validate: mul, square" in first.report["reason"]
    store = MgeStore(database_url)
    assert store.atom_statuses(first.run_id) == {
        "add": AtomStatus.SUCCEEDED,
        "other": AtomStatus.SUCCEEDED,
        "other2": AtomStatus.SUCCEEDED,
        "other3": AtomStatus.SUCCEEDED,
        "mul": AtomStatus.FAILED,
        "square": AtomStatus.BLOCKED,
    }
    reviews = ReviewRepository(store)
    queued = reviews.entries("review_loop")
    assert [(e.atom_id, e.status, e.priority, e.confidence_level) for e in queued] == [
        ("mul", "pending", 100, "critical")
    ]
    entry = queued[0]
    assert any("no attempt validated" in reason for reason in entry.reasons)
    # Nothing waits for a run yet: the sensor says so.
    assert "no review decision" in (_tick(plan, database_url).skip_message or "")

    monkeypatch.setenv("MGE_DATABASE_URL", database_url)
    monkeypatch.setenv("MGE_REVIEWER", "ana")
    assert main(["review", "show", str(entry.entry_id)]) == 0
    shown = capsys.readouterr().out
    assert "atom mul of review_loop" in shown and "simulated model has no reference" in shown

    wrong = tmp_path / "wrong.py"
    wrong.write_text("def mul(a: int, b: int) -> int:\n    return a + b\n")
    assert main(["review", "edit", str(entry.entry_id), "--file", str(wrong)]) == 2
    refused = capsys.readouterr().err.strip()
    assert refused.startswith(
        f"error: review entry {entry.entry_id}: the edited code does not validate"
    )
    assert "\n" not in refused
    assert reviews.entry(entry.entry_id) == entry and reviews.awaiting_run() == []

    fixed = tmp_path / "fixed.py"
    fixed.write_text(GOOD_MUL)
    assert main(["review", "edit", str(entry.entry_id), "--file", str(fixed)]) == 0
    assert "edited by ana" in capsys.readouterr().out
    decided = reviews.entry(entry.entry_id)
    assert decided is not None and decided.status == "edited" and decided.code == GOOD_MUL
    assert decided.decided_by == "ana" and decided.applied_execution_id is None

    tick = _tick(plan, database_url)
    requests = tick.run_requests or []
    assert len(requests) == 1 and requests[0].job_name == "mge_review_loop"
    prepare = requests[0].run_config["ops"]["prepare"]["config"]
    assert prepare["output_dir"] == str(first.output_dir.resolve())

    second_id = _execute(plan, tmp_path, database_url, requests[0])
    statuses = store.atom_statuses(second_id)
    assert statuses == {
        "add": AtomStatus.CACHED,
        "other": AtomStatus.CACHED,
        "other2": AtomStatus.CACHED,
        "other3": AtomStatus.CACHED,
        "mul": AtomStatus.CACHED,
        "square": AtomStatus.SUCCEEDED,
    }
    assert {a.atom_id for a in store.attempts(second_id)} == {"square"}, "nothing else generated"
    assert store.validated_codes(second_id, ["mul"]) == {"mul": GOOD_MUL}
    report = json.loads((first.output_dir / "report.json").read_text())
    assert report["status"] == "completed" and report["execution_id"] == second_id
    assert "return add(a, 0) * b" in (first.output_dir / "pkg" / "core.py").read_text()
    records = {p.masterplan_id: p.status for p in store.masterplans()}
    assert records["review_loop"] is MasterplanStatus.COMPLETED
    applied = reviews.entry(entry.entry_id)
    assert applied is not None and applied.applied_execution_id == second_id
    assert reviews.awaiting_run() == []
    assert "no review decision" in (_tick(plan, database_url).skip_message or "")
    history = reviews.decisions(entry.entry_id)
    assert [(d.action, d.reviewer, d.to_status) for d in history] == [("edit", "ana", "edited")]
    store.dispose()


def test_regenerate_runs_only_that_atom_again_with_the_feedback(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MGE_REVIEW_BOTTOM_PERCENT", "100")  # every validated atom is queued
    plan = make_plan(make_atom(id="add"), make_atom(id="twice", name="twice"), id="regen")
    first = run_plan(plan, tmp_path, database_url)
    assert first.report is not None and first.report["status"] == "completed"
    store = MgeStore(database_url)
    reviews = ReviewRepository(store)
    by_atom = {e.atom_id: e for e in reviews.entries("regen")}
    assert set(by_atom) == {"add", "twice"}
    assert all(
        e.atom_status == "succeeded" and e.confidence_level == "high" for e in by_atom.values()
    )

    monkeypatch.setenv("MGE_DATABASE_URL", database_url)
    assert main(["review", "regenerate", str(by_atom["twice"].entry_id), "--reviewer", "bo"]) == 2
    assert (
        main(
            [
                "review",
                "regenerate",
                str(by_atom["twice"].entry_id),
                "--reviewer",
                "bo",
                "--feedback",
                "name the parameters x and y",
            ]
        )
        == 0
    )
    assert reviews.regeneration_feedback_by_atom("regen") == {
        "twice": "name the parameters x and y"
    }
    assert main(["review", "approve", str(by_atom["add"].entry_id), "--reviewer", "bo"]) == 0

    requests = _tick(plan, database_url).run_requests or []
    assert len(requests) == 1, "the approval needs no run, the regeneration does"
    second_id = _execute(plan, tmp_path, database_url, requests[0])
    assert store.atom_statuses(second_id) == {
        "add": AtomStatus.CACHED,
        "twice": AtomStatus.SUCCEEDED,
    }
    assert {a.atom_id for a in store.attempts(second_id)} == {"twice"}
    carried = reviews.entry(by_atom["twice"].entry_id)
    assert carried is not None and carried.applied_execution_id == second_id
    assert reviews.regeneration_feedback_by_atom("regen") == {}
    store.dispose()
