"""Simulated faults are realistic: a missing import removes one the code needs, and no fault
leaves junk that an auto-fix turns into passing code."""

from __future__ import annotations

import ast
import asyncio
import random

import pytest

from mge_pipeline.domain import Language
from mge_pipeline.generation.faults import FaultKind, applied_fault, inject_fault
from mge_pipeline.validation import PythonSandbox
from mge_pipeline.validation.autofix import auto_fix
from mge_pipeline.validation.python_validator import PythonAtomValidator
from mge_pipeline_tests.factories import make_atom

WITH_IMPORTS = (
    "import math\n"
    "from fractions import Fraction as F\n"
    "import os\n\n"
    "def mean_ratio(a: int, b: int) -> float:\n"
    "    return math.fsum([float(F(a, b)), 0.0])\n"
)
ATOM = make_atom(
    id="mean_ratio",
    name="mean_ratio",
    signature="def mean_ratio(a: int, b: int) -> float:",
    reference_implementation=WITH_IMPORTS,
    tests="assert mean_ratio(1, 2) == 0.5\nassert mean_ratio(3, 4) == 0.75\n",
)
NO_IMPORTS = "def double(x: int) -> int:\n    if x < 0:\n        return 0\n    return x * 2\n"


@pytest.mark.parametrize("seed", range(12), ids=lambda s: f"seed-{s}")
def test_missing_import_removes_an_import_the_code_uses(seed: int) -> None:
    faulty = inject_fault(WITH_IMPORTS, FaultKind.MISSING_IMPORT, random.Random(seed))
    kept = {type(n).__name__ + ast.dump(n) for n in ast.parse(faulty).body}
    dropped = [
        n for n in ast.parse(WITH_IMPORTS).body if type(n).__name__ + ast.dump(n) not in kept
    ]
    assert len(dropped) == 1
    assert "os" not in ast.unparse(dropped[0]), "an unused import is never the one removed"
    assert "_scratch" not in faulty and "textwrap" not in faulty


def test_code_that_imports_nothing_it_uses_gets_a_wrong_result_not_junk() -> None:
    faulty = inject_fault(NO_IMPORTS, FaultKind.MISSING_IMPORT, random.Random(3))
    assert faulty != NO_IMPORTS
    assert len(ast.parse(faulty).body) == 1, "nothing was inserted"
    assert applied_fault(NO_IMPORTS, FaultKind.MISSING_IMPORT) is FaultKind.WRONG_RESULT
    assert applied_fault(WITH_IMPORTS, FaultKind.MISSING_IMPORT) is FaultKind.MISSING_IMPORT


def test_script_missing_import_without_imports_changes_behaviour_not_junk() -> None:
    code = "export function twice(x: number): number {\n  return x * 2;\n}\n"
    faulty = inject_fault(code, FaultKind.MISSING_IMPORT, random.Random(1), Language.TYPESCRIPT)
    assert "mgeMissingHelper" not in faulty and faulty != code
    assert applied_fault(code, FaultKind.MISSING_IMPORT, Language.TYPESCRIPT) is (
        FaultKind.WRONG_RESULT
    )


@pytest.mark.parametrize("kind", list(FaultKind), ids=lambda k: k.value)
@pytest.mark.parametrize("seed", range(4), ids=lambda s: f"seed-{s}")
def test_auto_fix_never_turns_a_fault_into_code_other_than_the_reference(
    kind: FaultKind, seed: int
) -> None:
    """An auto-fix may restore a forgotten standard-library import (then the code is the
    reference again) but never keeps an injected line alive by completing it."""
    faulty = inject_fault(WITH_IMPORTS, kind, random.Random(seed))
    fixed = auto_fix(ATOM, faulty).code
    if fixed != faulty:
        assert ast.dump(ast.parse(fixed)) == ast.dump(ast.parse(WITH_IMPORTS)) or (
            kind is FaultKind.MISSING_IMPORT and "F(" in fixed and "Fraction as F" not in fixed
        )


def test_a_missing_aliased_import_fails_validation_as_an_import_error() -> None:
    rng = random.Random(0)
    faulty = ""
    while "Fraction as F" in faulty or not faulty:
        faulty = inject_fault(WITH_IMPORTS, FaultKind.MISSING_IMPORT, rng)
    validator = PythonAtomValidator(PythonSandbox(timeout_seconds=5.0))
    verdict = asyncio.run(validator.validate(ATOM, faulty, {ATOM.file_path: faulty}))
    assert not verdict.passed and verdict.category == "import", verdict.issues
