"""What a person reads: root causes in the stop reason, lists cut short, code fenced, bars."""

from __future__ import annotations

from mge_pipeline.cli_progress import progress_line, wave_counts
from mge_pipeline.domain import AtomStatus, AttemptRecord, ErrorCategory
from mge_pipeline.domain.levels import LevelIssue, LevelValidation
from mge_pipeline.domain.records import AtomResultRecord
from mge_pipeline.execution.best_attempt import best_attempt
from mge_pipeline.execution.report import level_table
from mge_pipeline.execution.root_cause import root_cause_atoms
from mge_pipeline.execution.waves import wave_stop_reason
from mge_pipeline.planning import build_dependency_graph, compute_waves
from mge_pipeline.planning.diagrams import dependency_table
from mge_pipeline_tests.factories import make_atom, make_plan


def _row(atom_id: str, status: AtomStatus) -> AtomResultRecord:
    return AtomResultRecord(atom_id, 0, "h", status, None, 0, 0.0, None)


def test_the_stop_reason_names_the_failed_ancestor_of_a_blocked_wave() -> None:
    rows = [_row("c", AtomStatus.BLOCKED)]
    ancestors = {"c": ["a", "b"]}
    causes = root_cause_atoms(
        rows, ancestors.__getitem__, {"a": AtomStatus.SUCCEEDED, "b": AtomStatus.FAILED}
    )
    assert causes == ["b"]
    reason = wave_stop_reason(1, 0.0, 0.5, None, root_causes=causes) or ""
    assert "wave 1 validated only 0% of its atoms (root cause: atom b failed)" in reason
    many = [f"f{i}" for i in range(8)]
    assert "atoms f0, f1, f2, f3, f4 and 3 more failed" in (
        wave_stop_reason(0, 0.1, 0.5, None, root_causes=many) or ""
    )


def test_a_long_atom_list_is_shown_once_and_cut_short() -> None:
    ids = [f"atom_{i}" for i in range(38)]
    issue = LevelIssue(
        severity="error", category=ErrorCategory.DEPENDENCY, check="c", message="m", atom_ids=ids
    )
    levels = [
        LevelValidation(level=level, scope_id="s", score=0.0, passed=False, issues=[issue])
        for level in ("task", "milestone", "masterplan")
    ]
    table = level_table(levels)
    assert table.count("atom_0") == 1 and "atom_37" not in table
    assert "and 33 more" in table and table.count("the same 38 atoms as") == 2


def test_the_dependency_graph_is_a_table_with_failures_in_bold() -> None:
    plan = make_plan(make_atom(id="a"), make_atom(id="b", depends_on=["a"]))
    graph = build_dependency_graph(plan)
    table = dependency_table(graph, compute_waves(graph), status={"a": "failed", "b": "blocked"})
    assert "| 0 | a | **failed** | - | b |" in table
    assert "| 1 | b | **blocked** | a | - |" in table and "flowchart" not in table


def test_the_best_attempt_is_the_one_that_got_furthest() -> None:
    def attempt(n: int, category: ErrorCategory, code: str | None) -> AttemptRecord:
        return AttemptRecord(
            atom_id="a", attempt_number=n, error_category=category, errors=["e"], code=code
        )

    attempts = [
        attempt(1, ErrorCategory.LOGIC, "x = 1"),
        attempt(2, ErrorCategory.SYNTAX, "x ="),
        attempt(3, ErrorCategory.NO_CODE, None),
    ]
    best = best_attempt(attempts)
    assert best is not None and best.attempt_number == 1


def test_bars_fill_with_settled_atoms_and_count_skipped_ones_apart() -> None:
    statuses = {"a": AtomStatus.SUCCEEDED, "b": AtomStatus.FAILED, "c": AtomStatus.SKIPPED}
    counts = wave_counts(["a", "b", "c", "d"], statuses)
    assert (counts.settled, counts.skipped, counts.seen) == (2, 1, 3)
    line = progress_line(3, counts, 0.5)
    assert line.startswith("wave  3 [" + "#" * 15 + "." * 15 + "]")
    assert "2/4   settled (1 failed or blocked), 1 skipped" in line
