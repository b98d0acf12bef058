"""Locating a plan-level failure in the atoms: tracebacks first, then the least proven of the
atoms the failing command called."""

from __future__ import annotations

from mge_pipeline.domain import AtomStatus, EvidenceKind, MutationOutcome
from mge_pipeline.domain.records import AtomResultRecord
from mge_pipeline.execution.repair import (
    enclosing_scope,
    failure_feedback,
    suspects,
    traceback_atoms,
)
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
