"""Atom decisions: blocked dependents, stopped runs, wave summaries and the stop rule; spec
hashes as cache keys."""

from __future__ import annotations

import pytest

from mge_pipeline.domain import AtomStatus, AttemptRecord, ErrorCategory
from mge_pipeline.domain.records import AtomResultRecord
from mge_pipeline.execution import bundle_masterplan
from mge_pipeline.execution.board import Settled
from mge_pipeline.execution.run_service import settled_without_call
from mge_pipeline.execution.waves import (
    generation_success_rate,
    is_structural_failure,
    structural_failures,
    summarize_wave,
    wave_stop_reason,
)
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


def _attempt(atom_id: str, number: int, category: ErrorCategory | None) -> AttemptRecord:
    return AttemptRecord(
        atom_id=atom_id, attempt_number=number, passed=category is None, error_category=category
    )


@pytest.mark.parametrize(
    ("categories", "structural"),
    [
        pytest.param([ErrorCategory.UNAVAILABLE] * 4, True, id="tool-unavailable"),
        pytest.param([ErrorCategory.DEPENDENCY, ErrorCategory.UNAVAILABLE], True, id="mixed"),
        pytest.param([ErrorCategory.UNAVAILABLE, ErrorCategory.LOGIC], False, id="one-wrong"),
        pytest.param([ErrorCategory.SYNTAX] * 4, False, id="syntax"),
        pytest.param([], False, id="no-attempts"),
    ],
)
def test_a_failure_is_structural_only_when_no_attempt_was_judged_on_its_code(
    categories: list[ErrorCategory], structural: bool
) -> None:
    attempts = [_attempt("a", n, c) for n, c in enumerate(categories, start=1)]
    assert is_structural_failure(attempts) is structural


def test_blocked_and_structural_failures_do_not_count_as_generation_failures() -> None:
    """One atom failed for real, one could not be checked, two were blocked behind it: the
    plain rate is 1/5, the generation rate 1/2 (one validated of the two judged)."""
    rows = [
        _row("ok", AtomStatus.SUCCEEDED, attempts=1),
        _row("bad", AtomStatus.FAILED, attempts=4),
        _row("nocheck", AtomStatus.FAILED, attempts=4),
        _row("b1", AtomStatus.BLOCKED),
        _row("b2", AtomStatus.BLOCKED),
    ]
    attempts = [
        *[_attempt("bad", n, ErrorCategory.LOGIC) for n in range(1, 5)],
        *[_attempt("nocheck", n, ErrorCategory.UNAVAILABLE) for n in range(1, 5)],
        _attempt("elsewhere", 1, ErrorCategory.UNAVAILABLE),
    ]
    summary = summarize_wave(3, 5, rows, 1.0)
    structural = structural_failures(rows, attempts)
    assert structural == 1
    assert summary.success_rate == 0.2
    assert generation_success_rate(summary, structural) == 0.5
    assert wave_stop_reason(3, generation_success_rate(summary, structural), 0.5, None) is None
    assert wave_stop_reason(3, summary.success_rate, 0.5, None) is not None


def test_a_wave_of_blocked_atoms_only_has_nothing_to_stop_for() -> None:
    summary = summarize_wave(
        1, 2, [_row("x", AtomStatus.BLOCKED), _row("y", AtomStatus.BLOCKED)], 0
    )
    assert generation_success_rate(summary) == 1.0
