"""The atomic validator reports the behavioural evidence that passed, and a check that cannot
run yet (a name of a later atom of the same file) as a structural failure."""

from __future__ import annotations

import asyncio

import pytest

from mge_pipeline.domain import AttemptRecord, EvidenceKind
from mge_pipeline.execution.waves import is_structural_failure
from mge_pipeline.validation import PythonSandbox
from mge_pipeline.validation.python_validator import PythonAtomValidator
from mge_pipeline_tests.factories import make_atom

CODE = "def add(a: int, b: int) -> int:\n    return a + b\n"


@pytest.mark.parametrize(
    ("tests", "evidence"),
    [
        pytest.param("assert add(1, 2) == 3\n", (EvidenceKind.OWN_TESTS,), id="bare-asserts"),
        pytest.param(
            "def test_characterization_add_1():\n    assert add(a=1, b=2) == 3\n"
            "def test_doctests_of_add():\n    assert add(0, 0) == 0\n",
            (EvidenceKind.DOCTESTS, EvidenceKind.CHARACTERIZATION),
            id="doctests-and-characterization",
        ),
        pytest.param("", (), id="no-tests"),
        pytest.param("X = 1\n", (), id="tests-that-check-nothing"),
    ],
)
def test_the_verdict_carries_the_evidence_that_passed(
    tests: str, evidence: tuple[EvidenceKind, ...]
) -> None:
    atom = make_atom(id="add", tests=tests)
    validator = PythonAtomValidator(PythonSandbox(timeout_seconds=5.0))
    verdict = asyncio.run(validator.validate(atom, CODE, {atom.file_path: CODE}))
    assert verdict.passed and verdict.evidence == evidence


def test_a_failing_atom_has_no_evidence() -> None:
    atom = make_atom(id="add", tests="assert add(1, 2) == 4\n")
    validator = PythonAtomValidator(PythonSandbox(timeout_seconds=5.0))
    verdict = asyncio.run(validator.validate(atom, CODE, {atom.file_path: CODE}))
    assert not verdict.passed and verdict.evidence == ()


def test_a_name_of_a_later_atom_of_the_file_is_a_structural_failure() -> None:
    code = "def is_even(n: int) -> bool:\n    return n == 0 or is_odd(n - 1)\n"
    atom = make_atom(id="is_even", signature="def is_even(n: int) -> bool:",
                     tests="assert is_even(2)\n")  # fmt: skip
    names = {atom.file_path: frozenset({"is_even", "is_odd"})}
    validator = PythonAtomValidator(PythonSandbox(timeout_seconds=5.0), names_by_file=names)
    verdict = asyncio.run(validator.validate(atom, code, {atom.file_path: code}))
    assert not verdict.passed and verdict.category == "dependency", verdict.issues
    assert "not available to this check" in verdict.issues[0].message
    attempt = AttemptRecord(atom_id="is_even", attempt_number=1, error_category=verdict.category)
    assert is_structural_failure([attempt])
    unknown = PythonAtomValidator(PythonSandbox(timeout_seconds=5.0))
    plain = asyncio.run(unknown.validate(atom, code, {atom.file_path: code}))
    assert plain.category == "import", "a name no atom defines is the code's own mistake"
