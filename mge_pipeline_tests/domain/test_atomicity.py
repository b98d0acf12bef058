"""The atomicity rule in ``domain/atomicity.py`` and its two measurers: the tree-sitter side
(atomizer, existing code) and the ``ast`` side (validator, the model's code) must reach the same
verdicts and score on the same Python function."""

from __future__ import annotations

import ast
import textwrap

import pytest

from mge_pipeline.atomization.atomicity import measure_unit
from mge_pipeline.atomization.context import inject_context
from mge_pipeline.domain import Language
from mge_pipeline.domain.atomicity import (
    MAX_LOC,
    AtomicityCriterion,
    AtomMeasures,
    CriterionSeverity,
    judge_atomicity,
)
from mge_pipeline.validation.checks.atomicity import measure_code
from mge_pipeline.validation.checks.subject import CheckSubject
from mge_pipeline_tests.atomization.helpers import by_name, units_of
from mge_pipeline_tests.factories import make_atom

_DOC = '    """Returns a number.\n\n    >>> f(1)\n    2\n    """\n'


def _function(body: str, *, head: str = "def f(x: int) -> int:", imports: str = "") -> str:
    return imports + head + "\n" + _DOC + textwrap.indent(textwrap.dedent(body), "    ")


def make_measures(**overrides: object) -> AtomMeasures:
    fields: dict[str, object] = {
        "loc": 3,
        "complexity": 1,
        "names": frozenset({"f"}),
        "uses": frozenset(),
        "is_function": True,
    }
    fields.update(overrides)
    return AtomMeasures(**fields)  # type: ignore[arg-type]


def test_a_clean_unit_scores_one() -> None:
    report = judge_atomicity(make_measures())
    assert report.score == 1.0 and report.violations == ()
    assert report.passed == tuple(AtomicityCriterion)


def test_each_failed_criterion_costs_ten_percent_and_carries_its_severity() -> None:
    report = judge_atomicity(make_measures(loc=MAX_LOC + 1, complexity=3, annotated=False))
    assert report.score == 0.7
    assert [(v.criterion, v.severity) for v in report.violations] == [
        (AtomicityCriterion.SIZE, CriterionSeverity.HIGH),
        (AtomicityCriterion.COMPLEXITY, CriterionSeverity.MEDIUM),
        (AtomicityCriterion.CLEAR_IO, CriterionSeverity.LOW),
    ]


def test_names_the_spec_asks_for_are_not_held_against_the_unit() -> None:
    uses = frozenset({"random", "print"})
    assert len(judge_atomicity(make_measures(uses=uses)).violations) == 2
    assert judge_atomicity(make_measures(uses=uses, requested=uses)).violations == ()


def test_the_criteria_name_their_thresholds() -> None:
    assert AtomicityCriterion.SIZE.value == "loc <= 15"
    assert AtomicityCriterion.COMPLEXITY.value == "complexity < 3"
    assert AtomicityCriterion.CONTEXT.value == "context completeness >= 95%"


def _tree_sitter_side(code: str) -> AtomMeasures:
    unit = by_name(units_of(code))["f"]
    import_lines = {
        line.split()[1]: line for line in code.splitlines() if line.startswith("import ")
    }
    context = inject_context(unit, Language.PYTHON, import_lines=import_lines, known_names={"f"})
    return measure_unit(unit, context)


def _ast_side(code: str) -> AtomMeasures:
    signature = next(line for line in code.splitlines() if line.startswith("def "))
    atom = make_atom(id="f", signature=signature, description="f: computes a number.")
    return measure_code(CheckSubject(atom, code, ast.parse(code)))


_SIDE_EFFECTS = {AtomicityCriterion.NO_SIDE_EFFECTS}
_CASES = [
    pytest.param(_function("return x + 1\n"), set(), id="small-pure"),
    pytest.param(
        _function("".join(f"x += {i}\n" for i in range(MAX_LOC)) + "return x\n"),
        {AtomicityCriterion.SIZE},
        id="long",
    ),
    pytest.param(
        _function(
            """\
            assert x is not None
            with memoryview(b"") as view:
                if x > 0 and x < 10:
                    return sum(i for i in range(x) if i % 2) + len(view)
            return -1 if x < 0 else 0
            """
        ),
        {AtomicityCriterion.COMPLEXITY},
        id="complex",
    ),
    pytest.param(_function("print(x)\nreturn x\n"), _SIDE_EFFECTS, id="side-effect-print"),
    pytest.param(
        _function(
            "with open(path) as handle:\n    return len(handle.read())\n",
            head="def f(path: str) -> int:",
        ),
        _SIDE_EFFECTS,
        id="side-effect-open",
    ),
    pytest.param(
        _function("global COUNT\nCOUNT = x\nreturn COUNT\n"), _SIDE_EFFECTS, id="global-write"
    ),
    pytest.param(
        _function("return random.randint(0, x)\n", imports="import random\n\n\n"),
        {AtomicityCriterion.DETERMINISTIC},
        id="nondeterministic-random",
    ),
    pytest.param(
        _function("return int(time.time()) + x\n", imports="import time\n\n\n"),
        {AtomicityCriterion.DETERMINISTIC},
        id="nondeterministic-time",
    ),
    pytest.param(
        _function("print(random.random())\nreturn x\n", imports="import random\n\n\n"),
        {AtomicityCriterion.DETERMINISTIC, AtomicityCriterion.NO_SIDE_EFFECTS},
        id="nondeterministic-and-printing",
    ),
]


@pytest.mark.parametrize(("code", "failing"), _CASES)
def test_both_parsers_reach_the_same_verdicts_and_score(
    code: str, failing: set[AtomicityCriterion]
) -> None:
    by_tree_sitter, by_ast = _tree_sitter_side(code), _ast_side(code)
    assert (by_tree_sitter.loc, by_tree_sitter.complexity) == (by_ast.loc, by_ast.complexity)
    reports = [judge_atomicity(by_tree_sitter), judge_atomicity(by_ast)]
    verdicts = [{v.criterion for v in report.violations} for report in reports]
    assert verdicts == [failing, failing]
    assert reports[0].score == reports[1].score == round(1.0 - 0.1 * len(failing), 2)
