"""The cross-check's warning line is read back exactly as it was written (the report's figures)."""

from __future__ import annotations

import pytest

from mge_pipeline.execution.cross_check_note import read_note, read_notes, write_note


def test_a_note_reads_back_its_status_calls_and_cost() -> None:
    text = write_note("rejected", "on input f(2); this answer returned 1", 3, 0.01234, "a; b")
    note = read_note(text)
    assert note is not None
    assert (note.status, note.sample_calls) == ("rejected", 3)
    assert note.cost_usd == pytest.approx(0.0123)


def test_other_warnings_are_not_notes() -> None:
    assert read_note("auto-fix: added import os") is None
    assert (
        read_note("cross-check forged: 9 independent sample call(s), $1 (checked because x)")
        is None
    )
    notes = read_notes(["x", write_note("agreed", "ok", 1, 0.5, "weak"), "y"])
    assert [n.status for n in notes] == ["agreed"]
