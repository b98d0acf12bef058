"""Behavioural evidence: what an atom's code was seen to *do* right, beyond parsing and importing.

"Validated" only says the checks passed; an atom without tests passes them by defining its name
and importing cleanly. Precision that means correct counts only atoms whose behaviour was checked:
by its own tests, its doctests, characterization tests recorded from the original code, or the
plan's test command with the atom's code exercised; a weakly tested atom may add agreement with
an independent sample (``cross_check``). Each kind is told apart by the name of the
test function that carries it (the atomizer writes doctests and characterization tests under
fixed prefixes), so the sandbox only reports which test functions ran.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from enum import StrEnum


class EvidenceKind(StrEnum):
    """One kind of behavioural check an atom's code passed."""

    OWN_TESTS = "own_tests"
    DOCTESTS = "doctests"
    CHARACTERIZATION = "characterization"
    TEST_COMMAND = "test_command"
    CROSS_CHECK = "cross_check"
    """The answer's outcomes agreed with an independent sample of the same model (or with the
    majority of two) on the tests' calls and their neighbours (``validation/cross_check.py``).
    Weaker than tests: two samples of one model can share a mistake. Given only to an atom
    that also passed its own tests, whose weakness (a surviving mutant) asked for it."""


DOCTEST_PREFIX = "test_doctests_of_"
"""The atomizer's doctest runners are named ``test_doctests_of_<atom>``."""
CHARACTERIZATION_PREFIX = "test_characterization_"
"""Tests built from calls recorded on the original code are named ``test_characterization_…``."""

_NOT_IN_A_NAME = re.compile(r"\W")


def doctest_name_for(atom_id: str) -> str:
    """The task-level test that runs an atom's doctests once its task is complete: named after
    the atom's id (``pkg.mod.Stack`` → ``test_doctests_of_pkg_mod_Stack``), so a pass or a
    failure is the atom's."""
    return DOCTEST_PREFIX + _NOT_IN_A_NAME.sub("_", atom_id)


def carried_evidence(kinds: Iterable[EvidenceKind], tests: str) -> tuple[EvidenceKind, ...]:
    """What cached code keeps of the evidence it was stored with. Its task's tests gave it
    doctest evidence in that run, at the task level; they run again in this one and give it
    anew, so only the atom's own check vouches for what is carried (the store already drops
    the test command's)."""
    own_doctests = DOCTEST_PREFIX in tests
    return normalize_evidence(
        kind for kind in kinds if kind is not EvidenceKind.DOCTESTS or own_doctests
    )


NO_EVIDENCE = "none"
"""How an atom without behavioural evidence is shown: plainly, never as verified."""


def evidence_of_test(name: str) -> EvidenceKind:
    """The kind of evidence a passing test function gives, from its name."""
    if name.startswith(DOCTEST_PREFIX):
        return EvidenceKind.DOCTESTS
    if name.startswith(CHARACTERIZATION_PREFIX):
        return EvidenceKind.CHARACTERIZATION
    return EvidenceKind.OWN_TESTS


def evidence_of_tests(names: Iterable[str]) -> tuple[EvidenceKind, ...]:
    """Every kind the passing test functions give, in the enum's order, each once."""
    found = {evidence_of_test(name) for name in names}
    return normalize_evidence(found)


def has_top_level_checks(tests: str) -> bool:
    """Whether the tests check behaviour outside test functions: plans often write their tests
    as bare ``assert`` lines, which run (and must pass) when the test text is executed."""
    try:
        tree = ast.parse(tests)
    except SyntaxError:
        return False
    skipped = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
    return any(
        isinstance(node, ast.Assert | ast.Raise | ast.Call)
        for statement in tree.body
        if not isinstance(statement, skipped)
        for node in ast.walk(statement)
    )


def normalize_evidence(kinds: Iterable[EvidenceKind]) -> tuple[EvidenceKind, ...]:
    """Each kind once, in the enum's order, so equal evidence is equal and stored the same."""
    present = set(kinds)
    return tuple(kind for kind in EvidenceKind if kind in present)


def encode_evidence(kinds: Iterable[EvidenceKind]) -> str:
    """The store's form: kinds joined by commas; the empty string is no evidence."""
    return ",".join(kind.value for kind in normalize_evidence(kinds))


def decode_evidence(text: str | None) -> tuple[EvidenceKind, ...]:
    """Back from the store's form; unknown words (a newer writer) are ignored, not guessed."""
    known = {kind.value: kind for kind in EvidenceKind}
    words = (word.strip() for word in (text or "").split(","))
    return normalize_evidence(known[word] for word in words if word in known)


def describe_evidence(kinds: Iterable[EvidenceKind]) -> str:
    """For reports and status lines: the kinds, or ``none`` said plainly."""
    text = ", ".join(kind.value for kind in normalize_evidence(kinds))
    return text or NO_EVIDENCE
