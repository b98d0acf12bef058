"""The five static checks of the atomic validator: each finding, its severity and category.

Every case runs the full check set and looks for the finding of one check, so removing that
check from ``PYTHON_CHECKS`` (or the syntax step) makes its cases fail.
"""

from __future__ import annotations

import pytest

from mge_pipeline.domain import AtomKind, ErrorCategory, Severity
from mge_pipeline.validation.checks import PYTHON_CHECKS, run_python_checks
from mge_pipeline_tests.factories import make_atom

GOOD = 'def add(a: int, b: int) -> int:\n    """Sum."""\n    return a + b\n'


def _find(code: str, check: str, fragment: str, **atom_fields: object):  # type: ignore[no-untyped-def]
    issues = run_python_checks(make_atom(**atom_fields), code)
    return [i for i in issues if i.check == check and fragment in i.message]


def test_good_code_has_no_findings() -> None:
    assert run_python_checks(make_atom(), GOOD) == []


@pytest.mark.parametrize(
    ("code", "check", "fragment", "severity", "category", "atom_fields"),
    [
        pytest.param(
            "def add(a, b)\n    return a\n",
            "syntax",
            "expected ':'",
            Severity.ERROR,
            ErrorCategory.SYNTAX,
            {},
            id="syntax-error",
        ),
        pytest.param(
            "def add(a: int, b: int) -> int:\n\treturn a + b\n\n\ndef _h() -> int:\n    return 1\n",
            "syntax",
            "mixes tabs",
            Severity.WARNING,
            ErrorCategory.SYNTAX,
            {},
            id="mixed-indentation",
        ),
        pytest.param(
            "def plus(a: int, b: int) -> int:\n    return a + b\n",
            "semantics",
            "does not define `add`",
            Severity.ERROR,
            ErrorCategory.CONTEXT,
            {},
            id="missing-definition",
        ),
        pytest.param(
            "def add(a: int, c: int) -> int:\n    return a + c\n",
            "semantics",
            "parameters are (a, c), the spec says (a, b)",
            Severity.ERROR,
            ErrorCategory.CONTEXT,
            {},
            id="wrong-signature",
        ),
        pytest.param(
            "async def add(a: int, b: int) -> int:\n    return a + b\n",
            "semantics",
            "is not async",
            Severity.ERROR,
            ErrorCategory.CONTEXT,
            {},
            id="async-mismatch",
        ),
        pytest.param(
            "def add(a: int, b: int) -> int:\n    return math.floor(a) + b\n",
            "semantics",
            "name 'math' is not defined",
            Severity.ERROR,
            ErrorCategory.IMPORT,
            {},
            id="undefined-name",
        ),
        pytest.param(
            "def add(a: int, b: int) -> int:\n    return a + 1\n",
            "semantics",
            "argument `b` is never used",
            Severity.WARNING,
            ErrorCategory.LOGIC,
            {},
            id="unused-argument",
        ),
        pytest.param(
            "def add(a: int, list: int) -> int:\n    return a + list\n",
            "semantics",
            "shadows a builtin",
            Severity.WARNING,
            ErrorCategory.LOGIC,
            {"signature": "def add(a: int, list: int) -> int:"},
            id="shadowed-argument",
        ),
        pytest.param(
            GOOD + "\ndef helper() -> int:\n    return 1\n",
            "semantics",
            "defines more than the spec's",
            Severity.WARNING,
            ErrorCategory.CONTEXT,
            {},
            id="extra-definition",
        ),
        pytest.param(
            "class Add(Exception):\n    pass\n",
            "semantics",
            "class bases are (Exception)",
            Severity.ERROR,
            ErrorCategory.CONTEXT,
            {"id": "Add", "kind": AtomKind.CLASS, "signature": "class Add(ValueError):"},
            id="class-bases",
        ),
        pytest.param(
            "def add(a: int, b: int) -> int:\n" + "    a += 1\n" * 70 + "    return a + b\n",
            "atomicity",
            "lines of code where an atom",
            Severity.ERROR,
            ErrorCategory.CONTEXT,
            {},
            id="oversized",
        ),
        pytest.param(
            "def add(a: int, b: int) -> int:\n" + "    a += 1\n" * 16 + "    return a + b\n",
            "atomicity",
            "size: 18 lines",
            Severity.WARNING,
            ErrorCategory.CONTEXT,
            {},
            id="size",
        ),
        pytest.param(
            "def add(a: int, b: int) -> int:\n    if a:\n        if b:\n            return 1\n"
            "    return 0\n",
            "atomicity",
            "cyclomatic complexity 3",
            Severity.WARNING,
            ErrorCategory.CONTEXT,
            {},
            id="complexity",
        ),
        pytest.param(
            "import random\ndef add(a: int, b: int) -> int:\n    return a + b + random.random()\n",
            "atomicity",
            "not deterministic",
            Severity.WARNING,
            ErrorCategory.CONTEXT,
            {},
            id="nondeterministic",
        ),
        pytest.param(
            "def add(a: int, b: int) -> int:\n    print(a)\n    return a + b\n",
            "atomicity",
            "prints",
            Severity.WARNING,
            ErrorCategory.CONTEXT,
            {},
            id="side-effect",
        ),
        pytest.param(
            GOOD,
            "atomicity",
            "the spec has no tests",
            Severity.WARNING,
            ErrorCategory.CONTEXT,
            {"tests": ""},
            id="untestable",
        ),
        pytest.param(
            "def add(a: str, b: int) -> int:\n    return int(a) + b\n",
            "type_safety",
            "`a` is annotated str, the spec says int",
            Severity.ERROR,
            ErrorCategory.TYPE,
            {},
            id="type-mismatch",
        ),
        pytest.param(
            "def add(a, b: int) -> int:\n    return a + b\n",
            "type_safety",
            "`a` has no type hint (the spec says int)",
            Severity.WARNING,
            ErrorCategory.TYPE,
            {},
            id="missing-hint",
        ),
        pytest.param(
            "def add(a: int, b: int) -> int:\n    return eval('a + b')\n",
            "runtime_safety",
            "`eval` evaluates a string",
            Severity.ERROR,
            ErrorCategory.SAFETY,
            {},
            id="eval",
        ),
        pytest.param(
            "import os\ndef add(a: int, b: int) -> int:\n    os.system('ls')\n    return a + b\n",
            "runtime_safety",
            "`os.system` runs a shell",
            Severity.ERROR,
            ErrorCategory.SAFETY,
            {},
            id="os-system",
        ),
        pytest.param(
            "import subprocess\ndef add(a: int, b: int) -> int:\n"
            "    subprocess.run('ls', shell=True)\n    return a + b\n",
            "runtime_safety",
            "shell=True",
            Severity.ERROR,
            ErrorCategory.SAFETY,
            {},
            id="shell",
        ),
        pytest.param(
            "import shutil\ndef add(a: int, b: int) -> int:\n    shutil.rmtree('/x')\n"
            "    return a + b\n",
            "runtime_safety",
            "deletes a directory tree",
            Severity.ERROR,
            ErrorCategory.SAFETY,
            {},
            id="deletion",
        ),
        pytest.param(
            "import socket\ndef add(a: int, b: int) -> int:\n    return a + b\n",
            "runtime_safety",
            "network access",
            Severity.ERROR,
            ErrorCategory.SAFETY,
            {},
            id="network",
        ),
        pytest.param(
            "def add(a: int, b: int) -> int:\n    try:\n        return a + b\n    except:\n"
            "        return 0\n",
            "runtime_safety",
            "bare `except:`",
            Severity.WARNING,
            ErrorCategory.SAFETY,
            {},
            id="bare-except",
        ),
        pytest.param(
            "def add(a: int, b: int) -> int:\n    return add(a, b)\n",
            "runtime_safety",
            "calls itself unconditionally",
            Severity.ERROR,
            ErrorCategory.SAFETY,
            {},
            id="unbounded-recursion",
        ),
    ],
)
def test_each_check_reports_its_finding(
    code: str,
    check: str,
    fragment: str,
    severity: Severity,
    category: ErrorCategory,
    atom_fields: dict[str, object],
) -> None:
    found = _find(code, check, fragment, **atom_fields)
    assert found, run_python_checks(make_atom(**atom_fields), code)
    assert found[0].severity is severity
    assert found[0].category is category


def test_a_capability_the_spec_asks_for_is_only_a_warning() -> None:
    code = "import os\ndef add(a: int, b: int) -> int:\n    os.remove('x')\n    return a + b\n"
    found = _find(code, "runtime_safety", "os.remove", description="add, then delete the file")
    assert [i.severity for i in found] == [Severity.WARNING]


def test_equivalent_annotations_are_not_a_mismatch() -> None:
    atom = make_atom(signature="def add(a: Optional[int], b: List[int]) -> int:")
    code = "def add(a: int | None, b: list[int]) -> int:\n    return (a or 0) + sum(b)\n"
    assert not [i for i in run_python_checks(atom, code) if i.check == "type_safety"]


def test_names_from_the_surrounding_module_are_defined() -> None:
    code = "def add(a: int, b: int) -> int:\n    return OFFSET + a + b\n"
    alone = run_python_checks(make_atom(), code)
    in_module = run_python_checks(make_atom(), code, "OFFSET = 1\n\n\n" + code)
    assert [i.message for i in alone if i.check == "semantics"] == [
        "name 'OFFSET' is not defined (import it?)"
    ]
    assert not [i for i in in_module if i.check == "semantics"]


def test_checks_are_registered_in_order() -> None:
    assert list(PYTHON_CHECKS) == ["semantics", "atomicity", "type_safety", "runtime_safety"]


def test_a_name_from_a_sibling_atom_not_assembled_yet_only_warns() -> None:
    """Mutual recursion cut by atomization: is_even calls is_odd, generated after it."""
    atom = make_atom(id="is_even", signature="def is_even(n: int) -> bool:")
    code = "def is_even(n: int) -> bool:\n    return True if n == 0 else is_odd(n - 1)\n"
    typo = run_python_checks(atom, code)
    assert [i.severity for i in typo if "is_odd" in i.message] == [Severity.ERROR]
    sibling = run_python_checks(atom, code, sibling_names=frozenset({"is_odd"}))
    flagged = [i for i in sibling if "is_odd" in i.message]
    assert [i.severity for i in flagged] == [Severity.WARNING]
    assert flagged[0].category is ErrorCategory.DEPENDENCY
