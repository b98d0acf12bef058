"""``mge review …`` against a real run's store: what each action prints, and its refusals
(one line on stderr, exit code 2, nothing changed)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from mge_pipeline.cli import main
from mge_pipeline.domain import ExecutionStatus
from mge_pipeline.orchestration import StoreResource, compile_masterplan_job
from mge_pipeline.orchestration.sensors import make_review_decision_sensor
from mge_pipeline.store import MgeStore
from mge_pipeline.store.review_repository import ReviewRepository
from mge_pipeline_tests.factories import make_atom, make_plan
from mge_pipeline_tests.orchestration.helpers import run_plan

pytestmark = pytest.mark.integration


def _refused(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_review_commands_and_their_refusals(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MGE_REVIEW_BOTTOM_PERCENT", "50")
    plan = make_plan(
        make_atom(id="add"),
        make_atom(id="plus", name="plus"),
        make_atom(id="broken", name="broken", reference_implementation=None),
        make_atom(id="sum3", name="sum3"),
        make_atom(id="sum4", name="sum4"),
        id="cli_plan",
    )
    run = run_plan(plan, tmp_path, database_url, wave_stop_threshold=0.0, fault_rate=0.5, seed=7)
    store = MgeStore(database_url)
    reviews = ReviewRepository(store)
    entries = reviews.entries("cli_plan")
    assert entries[0].atom_id == "broken" and entries[0].priority == 100
    assert len(entries) == 3, "the failed atom and the bottom 50 % (2) of the 4 validated"
    confidences = [e.confidence for e in entries[1:]]
    assert confidences == sorted(confidences)
    broken, passing = entries[0], entries[1]
    monkeypatch.setenv("MGE_DATABASE_URL", database_url)

    assert main(["review", "list", "cli_plan", "--stats"]) == 0
    out = capsys.readouterr().out
    assert out.index("broken") < out.index(passing.atom_id)
    assert "cli_plan: 3 entries (pending 3)" in out

    assert main(["review", "show", str(passing.entry_id)]) == 0
    shown = capsys.readouterr().out
    assert f"atom {passing.atom_id} of cli_plan" in shown
    assert "attempts (" in shown and "temperature 0.7" in shown
    assert "assistant findings: 0" in shown
    assert main(["review", "show", str(broken.entry_id), "--explain"]) == 0
    assert "explanation: none — the simulated model does not explain" in capsys.readouterr().out

    assert main(["review", "show", "999"]) == 2
    assert _refused(capsys) == "error: review entry 999 does not exist"

    assert main(["review", "assign", str(passing.entry_id), "--reviewer", "ana"]) == 0
    assert "in_review by ana" in capsys.readouterr().out
    before = reviews.entry(passing.entry_id)
    assert main(["review", "approve", str(passing.entry_id), "--reviewer", "bo"]) == 2
    assert "is in review by ana, not bo" in _refused(capsys)
    assert main(["review", "reject", str(passing.entry_id), "--reviewer", "ana"]) == 2
    assert "reject needs --feedback" in _refused(capsys)
    assert reviews.entry(passing.entry_id) == before
    assert (
        main(["review", "reject", str(passing.entry_id), "--reviewer", "ana", "--feedback", "slow"])
        == 0
    )
    capsys.readouterr()
    assert main(["review", "approve", str(passing.entry_id), "--reviewer", "ana"]) == 2
    assert "is rejected; approve is allowed only when it is pending, in_review" in _refused(capsys)

    assert main(["review", "approve", str(broken.entry_id), "--reviewer", "ana"]) == 2
    assert "did not validate" in _refused(capsys)
    missing = tmp_path / "nope.py"
    assert main(["review", "edit", str(broken.entry_id), "--file", str(missing)]) == 2
    assert "is not a readable file" in _refused(capsys)
    assert reviews.awaiting_run() == []

    assert main(["review", "next", "cli_plan", "--reviewer", "cy"]) == 0
    assert "(broken): in_review by cy" in capsys.readouterr().out
    taken = reviews.entry(broken.entry_id)
    assert taken is not None and taken.status == "in_review" and taken.assignee == "cy"
    assert run.report is not None
    store.dispose()


def test_the_sensor_waits_for_a_running_run_and_for_an_unknown_job(store: MgeStore) -> None:
    from mge_pipeline.domain.review import NewReviewEntry
    from mge_pipeline.review.actions import ReviewAction
    from mge_pipeline.review.service import act

    plan = make_plan(make_atom(id="a"), id="busy")
    store.start_execution(
        execution_id="run-1",
        plan=plan,
        total_waves=1,
        budget_usd=1.0,
        provider="simulated",
        model="m",
        output_dir="/tmp/out",
    )
    reviews = ReviewRepository(store)
    [entry_id] = reviews.enqueue(
        "busy", "run-1", [NewReviewEntry("a", "h", "succeeded", 25, 0.9, "high", [])]
    )
    act(reviews, entry_id, ReviewAction.REGENERATE, "ana", feedback="shorter")
    resources = {"store": StoreResource(database_url=store.url)}
    sensor = make_review_decision_sensor([compile_masterplan_job(plan)])
    with dg.build_sensor_context(resources=resources) as context:
        tick = sensor.evaluate_tick(context)
    assert not tick.run_requests and "run run-1 still running" in (tick.skip_message or "")
    store.finish_execution("run-1", status=ExecutionStatus.PAUSED, reason="paused by ana")
    with dg.build_sensor_context(resources=resources) as context:
        tick = sensor.evaluate_tick(context)
    assert not tick.run_requests and "run-1 is paused" in (tick.skip_message or "")
    other = make_review_decision_sensor([compile_masterplan_job(make_plan(id="other"))])
    with dg.build_sensor_context(resources=resources) as context:
        tick = other.evaluate_tick(context)
    assert not tick.run_requests and "not in this code location" in (tick.skip_message or "")
