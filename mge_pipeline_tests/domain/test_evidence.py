"""Behavioural evidence: told apart by test names, stored as text, described plainly."""

from __future__ import annotations

import pytest

from mge_pipeline.domain import EvidenceKind
from mge_pipeline.domain.evidence import (
    carried_evidence,
    decode_evidence,
    describe_evidence,
    encode_evidence,
    evidence_of_tests,
    has_top_level_checks,
)
from mge_pipeline.execution.evidence import exercised_atoms
from mge_pipeline_tests.factories import make_atom


def test_test_names_give_their_kind_each_once_in_a_fixed_order() -> None:
    names = ["test_characterization_f_1", "test_sums", "test_doctests_of_f", "test_other"]
    assert evidence_of_tests(names) == (
        EvidenceKind.OWN_TESTS,
        EvidenceKind.DOCTESTS,
        EvidenceKind.CHARACTERIZATION,
    )
    assert evidence_of_tests([]) == ()


@pytest.mark.parametrize(
    ("tests", "checks"),
    [
        pytest.param("assert f(1) == 2\n", True, id="bare-assert"),
        pytest.param("if f(1) != 2:\n    raise AssertionError\n", True, id="raise"),
        pytest.param("def test_x():\n    assert f(1) == 2\n", False, id="only-a-function"),
        pytest.param("import math\nX = 1\n", False, id="no-check"),
        pytest.param("", False, id="empty"),
        pytest.param("assert (\n", False, id="does-not-parse"),
    ],
)
def test_top_level_checks(tests: str, checks: bool) -> None:
    assert has_top_level_checks(tests) is checks


def test_store_form_round_trips_and_ignores_unknown_words() -> None:
    kinds = (EvidenceKind.TEST_COMMAND, EvidenceKind.OWN_TESTS)
    assert encode_evidence(kinds) == "own_tests,test_command"
    assert decode_evidence("own_tests,test_command,telepathy") == (
        EvidenceKind.OWN_TESTS,
        EvidenceKind.TEST_COMMAND,
    )
    assert decode_evidence(None) == decode_evidence("") == ()
    assert describe_evidence(()) == "none"


def test_a_test_command_exercises_the_atoms_it_called_and_the_blocks_it_loaded() -> None:
    function = make_atom(id="f", file_path="pkg/a.py")
    method = make_atom(
        id="m", name="total", kind="method", file_path="pkg/a.py",
        signature="def total(self) -> int:", context={"parent_scope": "Ledger"},
    )  # fmt: skip
    klass = make_atom(id="Ledger", kind="class", file_path="pkg/a.py", signature="class Ledger:")
    block = make_atom(id="RATE", kind="block", file_path="pkg/a.py", signature="RATE: int")
    idle = make_atom(id="g", file_path="pkg/a.py")
    elsewhere = make_atom(id="h", file_path="pkg/b.py")
    called = {("pkg/a.py", "f"), ("pkg/a.py", "Ledger.total"), ("pkg/b.py", "h")}
    atoms = [function, method, klass, block, idle, elsewhere]
    assert exercised_atoms(atoms, called, ["pkg/a.py"]) == ["f", "m", "Ledger", "RATE"]
    assert exercised_atoms(atoms, None, ["pkg/a.py"]) == ["RATE"], "no call list: blocks only"


def test_cached_code_keeps_doctest_evidence_only_when_its_own_check_runs_doctests() -> None:
    """Task-level doctests gave it in that run; they run again in this one."""
    kinds = (EvidenceKind.DOCTESTS, EvidenceKind.CHARACTERIZATION)
    assert carried_evidence(kinds, "") == (EvidenceKind.CHARACTERIZATION,)
    own = "def test_doctests_of_words():\n    pass\n"
    assert carried_evidence(kinds, own) == kinds
