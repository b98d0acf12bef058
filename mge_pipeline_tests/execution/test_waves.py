"""Atom decisions: blocked dependents, stopped runs, wave summaries and the stop rule; spec
hashes as cache keys."""

from __future__ import annotations

from mge_pipeline.domain import AtomStatus
from mge_pipeline.domain.records import AtomResultRecord
from mge_pipeline.execution import bundle_masterplan
from mge_pipeline.execution.board import Settled
from mge_pipeline.execution.run_service import settled_without_call
from mge_pipeline.execution.waves import summarize_wave, wave_stop_reason
from mge_pipeline_tests.factories import make_atom, make_plan


def test_dependents_of_failed_atoms_are_blocked_and_validated_ones_proceed() -> None:
    direct = {
        "a": Settled(AtomStatus.SUCCEEDED, "def a(): ..."),
        "b": Settled(AtomStatus.FAILED, None),
    }
    blocked = settled_without_call("needs_both", direct, stop_reason=None)
    assert blocked is not None and blocked.status is AtomStatus.BLOCKED
    assert "b" in (blocked.reason or "") and "a," not in (blocked.reason or "")
    assert settled_without_call("needs_a", {"a": direct["a"]}, stop_reason=None) is None


def test_a_stopped_run_skips_atoms_that_have_not_called_yet() -> None:
    skipped = settled_without_call("x", {}, stop_reason="budget reached")
    assert skipped is not None and skipped.status is AtomStatus.SKIPPED
    assert skipped.reason == "budget reached"


def test_a_wave_summary_counts_each_status() -> None:
    rows = [
        _row("a", AtomStatus.SUCCEEDED, attempts=2, cost=0.5),
        _row("b", AtomStatus.CACHED),
        _row("c", AtomStatus.BLOCKED),
        _row("d", AtomStatus.FAILED, attempts=4, cost=1.0),
    ]
    summary = summarize_wave(3, 4, rows, 1.5)
    assert (summary.succeeded, summary.cached, summary.blocked, summary.failed) == (1, 1, 1, 1)
    assert summary.attempts == 6 and summary.cost_usd == 1.5 and summary.success_rate == 0.5


def _row(atom_id: str, status: AtomStatus, *, attempts: int = 0, cost: float = 0.0):  # type: ignore[no-untyped-def]
    return AtomResultRecord(
        atom_id=atom_id,
        wave_index=3,
        spec_hash="h",
        status=status,
        code=None,
        attempt_count=attempts,
        cost_usd=cost,
        reason=None,
    )


def test_stop_rule() -> None:
    assert "wave 2 validated only 49%" in (wave_stop_reason(2, 0.49, 0.5, None) or "")
    assert wave_stop_reason(2, 0.5, 0.5, None) is None
    assert wave_stop_reason(2, 1.0, 0.5, "budget reached") == "budget reached"


def test_spec_hash_changes_with_a_dependency_spec() -> None:
    before = bundle_masterplan(make_plan(make_atom(id="a"), make_atom(id="c", depends_on=["a"])))
    after = bundle_masterplan(
        make_plan(make_atom(id="a", description="changed"), make_atom(id="c", depends_on=["a"]))
    )
    assert before.spec_hashes["c"] != after.spec_hashes["c"]
    same = bundle_masterplan(make_plan(make_atom(id="a"), make_atom(id="c", depends_on=["a"])))
    assert same.spec_hashes == before.spec_hashes


def test_mapping_keys_are_clean_and_unique() -> None:
    bundle = bundle_masterplan(
        make_plan(
            make_atom(id="a-b"), make_atom(id="a_b", name="ab"), make_atom(id="x.y", name="xy")
        )
    )
    assert bundle.mapping_keys == {"a-b": "a_b", "a_b": "a_b_2", "x.y": "x_y"}
