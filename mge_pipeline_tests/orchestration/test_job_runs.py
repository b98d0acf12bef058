"""Compiled jobs run for real on the async executor: success, cache, stop rule, blocks, budget.

Every test runs under both scheduling modes; where they differ (what the stop rule can still
let finish), the test says how.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

from mge_pipeline.domain import MasterPlan
from mge_pipeline.planning.loader import load_masterplan
from mge_pipeline.store import MgeStore
from mge_pipeline_tests.conftest import EXAMPLES
from mge_pipeline_tests.factories import chain_plan, make_atom, make_plan
from mge_pipeline_tests.orchestration.helpers import run_plan

pytestmark = pytest.mark.integration


def _no_reference(atom_id: str, **overrides: object):  # type: ignore[no-untyped-def]
    return make_atom(id=atom_id, reference_implementation=None, **overrides)


def test_a_plan_runs_end_to_end_and_its_output_imports(
    tmp_path: Path, database_url: str, scheduling: str
) -> None:
    plan = chain_plan(
        3, acceptance_tests="from pkg.core import f2\n\ndef test_f2():\n    assert f2(2, 3) == 5\n"
    )
    run = run_plan(plan, tmp_path, database_url, scheduling=scheduling)
    assert run.success
    assert run.report is not None
    assert run.report["status"] == "completed" and run.report["precision_percent"] == 100.0
    assert run.report["acceptance"] == "passed"
    assert [w["atoms_total"] for w in run.report["waves"]] == [1, 1, 1]
    assert (run.output_dir / "report.md").exists()
    sys.path.insert(0, str(run.output_dir))
    try:
        module = importlib.import_module("pkg.core")
        assert module.f2(20, 22) == 42
    finally:
        sys.path.remove(str(run.output_dir))
        sys.modules.pop("pkg.core", None)
        sys.modules.pop("pkg", None)
    assert "STEP_SUCCESS" in run.step_events["wave_2_generate_atom[f2]"]


def test_rerun_reuses_validated_atoms_and_costs_nothing(
    tmp_path: Path, database_url: str, scheduling: str
) -> None:
    plan = chain_plan(3)
    first = run_plan(plan, tmp_path, database_url, scheduling=scheduling)
    second = run_plan(plan, tmp_path, database_url, scheduling=scheduling)
    assert first.report and second.report
    assert first.report["total_cost_usd"] > 0 and first.report["attempts_total"] >= 3
    assert second.report["atoms_cached"] == 3
    assert second.report["attempts_total"] == 0 and second.report["total_cost_usd"] == 0
    assert not any("generate_atom" in key for key in second.step_events), "no LLM step ran"


def test_faults_are_retried_until_valid(tmp_path: Path, database_url: str, scheduling: str) -> None:
    plan = make_plan(*[make_atom(id=f"a{i}") for i in range(12)])
    run = run_plan(plan, tmp_path, database_url, fault_rate=0.5, seed=3, scheduling=scheduling)
    assert run.report is not None
    assert run.report["attempts_total"] > 12
    assert run.report["retry_rate_percent"] > 0
    store = MgeStore(database_url)
    retried = [a for a in store.attempts(run.run_id) if a.attempt_number > 1]
    assert retried and all(a.temperature < 0.7 for a in retried)


def test_a_failing_wave_stops_the_run(tmp_path: Path, database_url: str, scheduling: str) -> None:
    plan = make_plan(
        _no_reference("a"),
        _no_reference("b"),
        make_atom(id="c"),
        make_atom(id="later", depends_on=["c"]),
        make_atom(id="last", depends_on=["later"]),
    )
    run = run_plan(plan, tmp_path, database_url, scheduling=scheduling, latency_seconds=0.3)
    assert not run.success
    assert run.report is not None
    assert run.report["status"] == "failed"
    assert "wave 0 validated only 33%" in run.report["reason"]
    statuses = {a["atom_id"]: a["status"] for a in run.report["atoms"]}
    assert {k: statuses[k] for k in ("a", "b", "c", "last")} == {
        "a": "failed",
        "b": "failed",
        "c": "succeeded",
        "last": "skipped",
    }
    if scheduling == "waves":
        assert statuses["later"] == "skipped"
    else:
        # Without a barrier, `later` may have started its call before wave 0 closed; a call in
        # flight finishes. `last` could only start after the stop (a 0.3 s call later): skipped.
        assert statuses["later"] in ("succeeded", "skipped")
    assert (run.output_dir / "pkg" / "core.py").read_text().count("def c(") == 1, (
        "validated code kept"
    )
    state = MgeStore(database_url).execution_state(run.run_id)
    assert state is not None and state.status.value == "failed" and state.reason


def test_dependents_of_a_failed_atom_are_blocked(
    tmp_path: Path, database_url: str, scheduling: str
) -> None:
    plan = make_plan(
        _no_reference("broken"),
        make_atom(id="ok1"),
        make_atom(id="ok2"),
        make_atom(id="needs_broken", depends_on=["broken"]),
        make_atom(id="needs_ok", depends_on=["ok1"]),
    )
    run = run_plan(plan, tmp_path, database_url, scheduling=scheduling)
    assert run.report is not None
    statuses = {a["atom_id"]: a["status"] for a in run.report["atoms"]}
    assert statuses["needs_broken"] == "blocked" and statuses["needs_ok"] == "succeeded"
    broken = next(a for a in run.report["atoms"] if a["atom_id"] == "broken")
    assert broken["attempts"] == 1 and "real model" in broken["reason"]
    blocked = next(a for a in run.report["atoms"] if a["atom_id"] == "needs_broken")
    assert blocked["attempts"] == 0 and "broken" in blocked["reason"], "blocked: no LLM call"


def test_budget_stop_lets_no_new_call_start(
    tmp_path: Path, database_url: str, scheduling: str
) -> None:
    plan = chain_plan(6)
    # A call reserves its prompt plus a 500-token output cap (≈ $0.009) and costs ≈ $0.001:
    # $0.012 admits a few calls, then no call fits even with nothing in flight.
    run = run_plan(plan, tmp_path, database_url, budget_usd=0.012, scheduling=scheduling)
    assert not run.success
    assert run.report is not None
    assert run.report["reason"].startswith("cost budget of $0.012 cannot cover the next call")
    assert 0 < run.report["total_cost_usd"] <= 0.012
    statuses = [a["status"] for a in run.report["atoms"]]
    done = statuses.count("succeeded")
    assert done >= 1 and statuses == ["succeeded"] * done + ["skipped"] * (6 - done)
    assert "def f0(" in (run.output_dir / "pkg" / "core.py").read_text(), (
        "nothing generated is lost"
    )


_REFUSAL = re.compile(
    r"cost budget of \$0\.05 cannot cover the next call \(up to \$(?P<needed>\d\.\d{4})\): "
    r"\$(?P<spent>\d\.\d{4}) spent, (nothing in flight|\$(?P<reserved>\d\.\d{4}) reserved by "
    r"calls in flight), \$(?P<left>\d\.\d{4}) left; no new LLM calls were started"
)


def test_the_budget_is_spent_not_hoarded(tmp_path: Path) -> None:
    """The large example costs $0.235: $0.30 completes it; $0.05 stops it, saying exactly why,
    with every validated atom kept (each budget on a store of its own: no cache between)."""
    plan = load_masterplan(EXAMPLES / "ledger_library.yaml")
    for folder in ("roomy", "tight"):
        (tmp_path / folder).mkdir()
    roomy = run_plan(plan, tmp_path / "roomy", f"sqlite:///{tmp_path / 'roomy.db'}",
                     budget_usd=0.30)  # fmt: skip
    assert roomy.success and roomy.report is not None
    assert roomy.report["precision_percent"] == 100.0
    assert 0.2 < roomy.report["total_cost_usd"] < 0.30

    tight_url = f"sqlite:///{tmp_path / 'tight.db'}"
    tight = run_plan(plan, tmp_path / "tight", tight_url, budget_usd=0.05)
    assert not tight.success and tight.report is not None
    match = _REFUSAL.fullmatch(tight.report["reason"])
    assert match, tight.report["reason"]
    reserved = float(match["reserved"] or 0)
    left = 0.05 - float(match["spent"]) - reserved
    assert float(match["left"]) == pytest.approx(left, abs=2e-4)  # three figures rounded
    # refused only when it truly cannot fit (the figures are rounded to 4 decimals)
    assert float(match["needed"]) >= left + reserved - 1e-4
    assert tight.report["total_cost_usd"] <= 0.05
    execution = MgeStore(tight_url).execution_info(tight.run_id)
    assert execution is not None and execution.reserved_usd == pytest.approx(0)
    succeeded = [a for a in tight.report["atoms"] if a["status"] == "succeeded"]
    assert succeeded and all(a["status"] in ("succeeded", "skipped") for a in tight.report["atoms"])
    written = "".join(p.read_text() for p in tight.output_dir.rglob("*.py"))
    for atom in succeeded:
        name = plan_atom_names(plan)[atom["atom_id"]]
        assert name in written, atom["atom_id"]


def plan_atom_names(plan: MasterPlan) -> dict[str, str]:
    return {atom.id: atom.name for atom in plan.atoms()}


def test_an_executor_slot_limit_below_the_plan_is_refused_before_any_call(
    tmp_path: Path, database_url: str
) -> None:
    run = run_plan(chain_plan(3), tmp_path, database_url, executor_config={"max_concurrent": 2})
    assert not run.success
    assert "STEP_FAILURE" in run.step_events["prepare"]
    assert not any("generate_atom" in key for key in run.step_events), "no atom step ran"
    assert MgeStore(database_url).executions() == [], "no execution was opened"


@pytest.fixture
def no_bubblewrap(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine as if bubblewrap were missing: only the weak Python guard is possible."""
    from mge_pipeline.validation import pool

    monkeypatch.setattr(pool, "bubblewrap_command", lambda *args, **kwargs: None)


@pytest.mark.usefixtures("no_bubblewrap")
def test_without_isolation_the_run_is_refused_before_any_call(
    tmp_path: Path, database_url: str
) -> None:
    run = run_plan(chain_plan(2), tmp_path, database_url)
    assert not run.success
    assert "STEP_FAILURE" in run.step_events["prepare"]
    assert not any("generate_atom" in key for key in run.step_events), "no LLM call"
    assert MgeStore(database_url).executions() == []


@pytest.mark.usefixtures("no_bubblewrap")
def test_a_weak_sandbox_runs_only_when_allowed_and_the_report_says_so(
    tmp_path: Path, database_url: str
) -> None:
    run = run_plan(chain_plan(2), tmp_path, database_url, allow_weak_sandbox=True)
    assert run.success and run.report is not None
    assert run.report["sandbox_isolation"].startswith("python-guard (WEAK:")
    assert "WEAK" in (run.output_dir / "report.md").read_text()
