"""The context injector's completeness score and the ten atomicity criteria."""

from __future__ import annotations

import pytest

from mge_pipeline.atomization.atomicity import assess_atomicity
from mge_pipeline.atomization.context import AtomContextInfo, inject_context
from mge_pipeline.atomization.units import Unit
from mge_pipeline.domain import Language
from mge_pipeline.domain.atomicity import AtomicityCriterion as Criterion
from mge_pipeline.domain.atomicity import CriterionSeverity as Severity
from mge_pipeline_tests.atomization.helpers import by_name, units_of

GOOD = '''\
from decimal import Decimal


def scale(amount: Decimal, factor: int) -> Decimal:
    """Multiply; returns a Decimal.

    >>> scale(Decimal(2), 3)
    Decimal('6')
    """
    return amount * factor
'''


def unit_named(source: str, name: str) -> Unit:
    return by_name(units_of(source))[name]


def context_of(unit: Unit, imports: dict[str, str] | None = None) -> AtomContextInfo:
    return inject_context(
        unit,
        Language.PYTHON,
        import_lines=imports if imports is not None else {"Decimal": "from decimal import Decimal"},
        known_names={"scale"},
    )


def test_a_complete_context() -> None:
    context = context_of(unit_named(GOOD, "scale"))
    assert context.imports == ("from decimal import Decimal",)
    assert context.types == ("Decimal", "int")
    assert context.conditions == (
        "Multiply; returns a Decimal.",
        "typed signature: def scale(amount: Decimal, factor: int) -> Decimal:",
    )
    assert context.test_cases == (">>> scale(Decimal(2), 3)",)
    assert context.missing == () and context.completeness == 1.0


@pytest.mark.parametrize(
    ("source", "imports", "missing", "score"),
    [
        pytest.param(GOOD, {}, ("imports", "types"), 0.6, id="unknown-import-and-type"),
        pytest.param(
            "def f(x):\n    return x\n", None, ("conditions", "test cases"), 0.6, id="bare"
        ),
        pytest.param(
            'def f(x):\n    """Returns x.\n\n    >>> f(1)\n    1\n    """\n    return x\n',
            None,
            (),
            1.0,
            id="documented",
        ),
    ],
)
def test_completeness_is_twenty_percent_per_component(
    source: str, imports: dict[str, str] | None, missing: tuple[str, ...], score: float
) -> None:
    name = "scale" if source is GOOD else "f"
    context = context_of(unit_named(source, name), imports)
    assert context.missing == missing
    assert context.completeness == score


def _violated(source: str, name: str, **kwargs: object) -> set[Criterion]:
    unit = unit_named(source, name)
    report = assess_atomicity(unit, context_of(unit), **kwargs)  # type: ignore[arg-type]
    return {violation.criterion for violation in report.violations}


def test_a_good_atom_passes_all_ten() -> None:
    unit = unit_named(GOOD, "scale")
    report = assess_atomicity(unit, context_of(unit))
    assert report.score == 1.0 and report.violations == ()
    assert len(report.passed) == 10


_LONG = "def f(a: int) -> int:\n" + "".join(f"    a += {i}\n" for i in range(16)) + "    return a\n"
_BRANCHY = (
    "def f(a: int) -> int:\n    if a:\n        return 1\n    if a > 2:\n        return 2\n"
    "    return 3\n"
)
_CONSTANTS = "A = 1\nB = 2\n"
_STATEMENTS = "print(1)\nprint(2)\n"
_SIBLINGS = "def f(self) -> int:\n    return self.other()\n"
_NOT_TESTABLE = "def f(x: int) -> None:\n    x.append(1)\n"
_RANDOM = "import random\n\n\ndef f() -> float:\n    return random.random()\n"
_GLOBAL = "def f() -> int:\n    global COUNT\n    COUNT = 1\n    return COUNT\n"
_UNTYPED = "def f(x):\n    return x\n"
_OK = "def f(x: int) -> int:\n    return x\n"


@pytest.mark.parametrize(
    ("criterion", "failing", "name", "kwargs"),
    [
        pytest.param(Criterion.SIZE, _LONG, "f", {}, id="size"),
        pytest.param(Criterion.COMPLEXITY, _BRANCHY, "f", {}, id="complexity"),
        pytest.param(Criterion.SINGLE_RESPONSIBILITY, _CONSTANTS, "A", {}, id="single"),
        pytest.param(Criterion.CLEAR_BOUNDARIES, _STATEMENTS, "statements_1", {}, id="boundary"),
        pytest.param(
            Criterion.INDEPENDENCE, _SIBLINGS, "f", {"siblings": frozenset({"other"})}, id="sib"
        ),
        pytest.param(Criterion.INDEPENDENCE, _OK, "f", {"dependencies": 4}, id="many-deps"),
        pytest.param(Criterion.CONTEXT, _UNTYPED, "f", {}, id="context"),
        pytest.param(Criterion.TESTABLE, _NOT_TESTABLE, "f", {}, id="testable"),
        pytest.param(Criterion.DETERMINISTIC, _RANDOM, "f", {}, id="deterministic"),
        pytest.param(Criterion.NO_SIDE_EFFECTS, _GLOBAL, "f", {}, id="side-effects"),
        pytest.param(Criterion.CLEAR_IO, _UNTYPED, "f", {}, id="inputs-outputs"),
    ],
)
def test_each_criterion_fails_and_passes(
    criterion: Criterion, failing: str, name: str, kwargs: dict[str, object]
) -> None:
    assert criterion in _violated(failing, name, **kwargs)
    assert criterion not in _violated(GOOD, "scale")


def test_score_is_ten_percent_per_criterion_and_violations_have_severities() -> None:
    unit = unit_named(_LONG, "f")
    report = assess_atomicity(unit, context_of(unit))
    assert report.score == round(1.0 - 0.1 * len(report.violations), 2)
    severity = {v.criterion: v.severity for v in report.violations}
    assert severity[Criterion.SIZE] is Severity.HIGH
    assert str(report.violations[0]).startswith("loc <= 15 (high): 18 lines of code")
