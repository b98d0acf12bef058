"""Locating a plan-level failure in the atoms: tracebacks first, then the least proven of the
atoms the failing command called."""

from __future__ import annotations

from mge_pipeline.domain import AtomStatus, EvidenceKind, MutationOutcome
from mge_pipeline.domain.records import AtomResultRecord
from mge_pipeline.execution.repair import (
    doctest_example_atoms,
    enclosing_scope,
    failing_tests_atoms,
    failure_feedback,
    suspects,
    traceback_atoms,
)
from mge_pipeline.validation.test_command import PerTestOutcomes, per_test_outcomes
from mge_pipeline_tests.factories import make_atom

SOURCE = (
    "import re\n\n"
    "def helper(x):\n"
    "    return x + 1\n\n"
    "class Box:\n"
    "    def size(self):\n"
    "        return helper(1)\n"
)


def test_the_innermost_function_or_class_around_a_line() -> None:
    assert enclosing_scope(SOURCE, 4) == "helper"
    assert enclosing_scope(SOURCE, 8) == "Box.size"
    assert enclosing_scope(SOURCE, 1) is None
    assert enclosing_scope("def (", 1) is None


def test_traceback_frames_in_rebuilt_files_name_atoms_deepest_first() -> None:
    atoms = [
        make_atom(id="helper", file_path="pkg/m.py"),
        make_atom(id="size", name="size", kind="method", file_path="pkg/m.py",
                  signature="def size(self):", context={"parent_scope": "Box"}),
    ]  # fmt: skip
    output = (
        'File "/tmp/x/src/tests.py", line 3, in test_it\n'
        'File "/tmp/x/src/pkg/m.py", line 8, in size\n'
        'File "/tmp/x/src/pkg/m.py", line 4, in helper\n'
        "pkg/m.py:4: TypeError\n"
    )
    assert traceback_atoms(output, {"pkg/m.py": SOURCE}, atoms) == ["helper", "size"]


def _row(atom_id: str, evidence: tuple[EvidenceKind, ...] = (), survivors: int = 0):  # type: ignore[no-untyped-def]
    return AtomResultRecord(
        atom_id=atom_id, wave_index=0, spec_hash="h", status=AtomStatus.SUCCEEDED, code="x",
        attempt_count=1, cost_usd=0.0, reason=None, evidence=evidence,
        mutation=MutationOutcome(tested=4, survivors=["m"] * survivors) if survivors else None,
    )  # fmt: skip


def test_suspects_are_traced_then_unproven_then_weakly_tested_and_bounded() -> None:
    rows = {
        "traced": _row("traced", (EvidenceKind.OWN_TESTS,)),
        "strong": _row("strong", (EvidenceKind.OWN_TESTS,)),
        "weak": _row("weak", (EvidenceKind.OWN_TESTS,), survivors=2),
        "untested": _row("untested", (EvidenceKind.TEST_COMMAND,)),
    }
    called = ["strong", "weak", "untested", "traced"]
    assert suspects(["traced"], called, rows) == ["traced", "untested", "weak"]
    assert suspects([], ["gone"], rows) == [], "only validated atoms of the run"


def test_feedback_is_the_failing_output_without_mge_markers_and_bounded() -> None:
    text = failure_feedback(["E  assert 1 == 2\nMGE-CALLED: {}\n", "x" * 5000])
    assert "MGE-CALLED" not in text and len(text) == 1500


def _atoms_x_y():  # type: ignore[no-untyped-def]
    return [
        make_atom(id="x", name="x", file_path="pkg/m.py", signature="def x():"),
        make_atom(id="y", name="y", file_path="pkg/m.py", signature="def y():"),
        make_atom(id="Box", name="Box", kind="class", file_path="pkg/m.py",
                  signature="class Box:"),
    ]  # fmt: skip


def test_only_what_the_failing_tests_called_is_suspected() -> None:
    """A passing test called `x`, the failing one `y` and a method of `Box`: `y` and `Box`."""
    output = (
        "F.\nMGE-TESTS: "
        '{"failed":{"t.py::test_y":[["pkg/m.py","y"],["pkg/m.py","Box.size"],["t.py","test_y"]]},'
        '"passed":["t.py::test_x"],"complete":true}\n'
        'MGE-CALLED: {"pkg/m.py":["x","y","Box.size"]}\n'
    )
    outcomes = per_test_outcomes(output)
    assert outcomes is not None and outcomes.passed == ("t.py::test_x",)
    assert failing_tests_atoms(outcomes, _atoms_x_y()) == ["y", "Box"]


def test_without_a_full_per_test_record_the_whole_command_stands_in() -> None:
    atoms = _atoms_x_y()
    assert per_test_outcomes("MGE-CALLED: {}\n") is None  # not pytest
    assert failing_tests_atoms(None, atoms) is None
    assert per_test_outcomes("MGE-TESTS: {cut\n") is None
    cut = PerTestOutcomes(passed=None, failed={"t.py::test_y": None}, complete=True)
    assert failing_tests_atoms(cut, atoms) is None  # its calls did not fit in the output
    more = PerTestOutcomes(("a",), {"t.py::test_y": frozenset({("pkg/m.py", "y")})}, False)
    assert failing_tests_atoms(more, atoms) is None  # more tests failed than were listed
    none_failed = PerTestOutcomes(("t.py::test_x",), {}, True)
    assert failing_tests_atoms(none_failed, atoms) is None  # failed outside any test


def test_a_failed_doctest_example_points_at_what_it_calls_not_at_its_docstring() -> None:
    """doctest reports ``File "m.py", line N, in m.Box`` for the docstring the example is
    written in: not a frame of code that ran; the example's ``b.size()`` names `size`."""
    atoms = [
        make_atom(id="Box", name="Box", kind="class", file_path="pkg/m.py", signature="class Box:"),
        make_atom(id="size", name="size", kind="method", file_path="pkg/m.py",
                  signature="def size(self):", context={"parent_scope": "Box"}),
        make_atom(id="helper", file_path="pkg/m.py"),
    ]  # fmt: skip
    output = (
        "**********************************************************************\n"
        'File "/tmp/w/src/pkg/m.py", line 7, in pkg.m.Box\n'
        "Failed example:\n"
        "    b.size()\n"
        "Expected:\n"
        "    1\n"
        "Got:\n"
        "    2\n"
    )
    assert traceback_atoms(output, {"pkg/m.py": SOURCE}, atoms) == []
    assert doctest_example_atoms(output, atoms) == ["size"]
    assert doctest_example_atoms("no doctest here", atoms) == []
