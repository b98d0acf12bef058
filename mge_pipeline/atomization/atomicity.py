"""How atomic a unit is: the ten criteria of the spec, 10 % of the score each.

A failed criterion is a violation with a severity: ``high`` when the unit is too big or too
under-specified for a model to write it alone, ``medium`` when it is hard to test (branching,
randomness, time, I/O, global writes), ``low`` for matters of shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from mge_pipeline.atomization.context import AtomContextInfo
from mge_pipeline.atomization.units import MAX_UNIT_LOC, Unit, UnitKind

MAX_COMPLEXITY = 2
MIN_COMPLETENESS = 0.95
MAX_SIBLING_DEPENDENCIES = 3
CRITERION_WEIGHT = 0.1

_NONDETERMINISTIC = {
    "random",
    "time",
    "datetime",
    "uuid",
    "secrets",
    "urandom",
    "open",
    "print",
    "input",
    "socket",
    "subprocess",
    "requests",
    "urllib",
    "fetch",
    "console",
    "fs",
    "process",
    "Date",
    "XMLHttpRequest",
}
_MATH_RANDOM = re.compile(r"\bMath\.random\b")
_PY_TYPED = re.compile(r"->|\w\s*:\s*\w")


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Criterion(StrEnum):
    SIZE = "loc <= 15"
    COMPLEXITY = "complexity < 3"
    SINGLE_RESPONSIBILITY = "single responsibility"
    CLEAR_BOUNDARIES = "clear boundaries"
    INDEPENDENCE = "independent of siblings"
    CONTEXT = "context completeness >= 95%"
    TESTABLE = "testable"
    DETERMINISTIC = "deterministic"
    NO_SIDE_EFFECTS = "no side effects"
    CLEAR_IO = "clear inputs and outputs"


_SEVERITY = {
    Criterion.SIZE: Severity.HIGH,
    Criterion.CONTEXT: Severity.HIGH,
    Criterion.COMPLEXITY: Severity.MEDIUM,
    Criterion.DETERMINISTIC: Severity.MEDIUM,
    Criterion.NO_SIDE_EFFECTS: Severity.MEDIUM,
    Criterion.TESTABLE: Severity.MEDIUM,
}


@dataclass(frozen=True)
class Violation:
    criterion: Criterion
    severity: Severity
    detail: str

    def __str__(self) -> str:
        return f"{self.criterion.value} ({self.severity.value}): {self.detail}"


@dataclass(frozen=True)
class AtomicityReport:
    score: float
    violations: tuple[Violation, ...]

    @property
    def passed(self) -> tuple[Criterion, ...]:
        failed = {v.criterion for v in self.violations}
        return tuple(c for c in Criterion if c not in failed)


def assess_atomicity(
    unit: Unit,
    context: AtomContextInfo,
    *,
    siblings: frozenset[str] = frozenset(),
    dependencies: int = 0,
) -> AtomicityReport:
    """``siblings``: names of the other members of the unit's class; ``dependencies``: how
    many atoms of the same file it depends on."""
    checks = {
        Criterion.SIZE: _size(unit),
        Criterion.COMPLEXITY: _complexity(unit),
        Criterion.SINGLE_RESPONSIBILITY: _single(unit),
        Criterion.CLEAR_BOUNDARIES: _boundaries(unit),
        Criterion.INDEPENDENCE: _independence(unit, siblings, dependencies),
        Criterion.CONTEXT: _context(context),
        Criterion.TESTABLE: _testable(unit, context),
        Criterion.DETERMINISTIC: _deterministic(unit),
        Criterion.NO_SIDE_EFFECTS: _side_effects(unit),
        Criterion.CLEAR_IO: _io(unit),
    }
    violations = tuple(
        Violation(criterion, _SEVERITY.get(criterion, Severity.LOW), detail)
        for criterion, detail in checks.items()
        if detail is not None
    )
    score = round(CRITERION_WEIGHT * (len(checks) - len(violations)), 2)
    return AtomicityReport(score, violations)


def _size(unit: Unit) -> str | None:
    if unit.loc <= MAX_UNIT_LOC:
        return None
    return f"{unit.loc} lines of code" + (f"; {unit.whole_reason}" if unit.whole_reason else "")


def _complexity(unit: Unit) -> str | None:
    if unit.complexity <= MAX_COMPLEXITY:
        return None
    return f"cyclomatic complexity {unit.complexity}"


def _single(unit: Unit) -> str | None:
    if unit.kind is UnitKind.IMPORTS or len(unit.defines) <= 1:
        return None
    return f"defines {len(unit.defines)} names: {', '.join(sorted(unit.defines)[:5])}"


def _boundaries(unit: Unit) -> str | None:
    if unit.kind is UnitKind.STATEMENTS and not unit.defines:
        return "a run of statements that defines nothing"
    return None


def _independence(unit: Unit, siblings: frozenset[str], dependencies: int) -> str | None:
    used = sorted(
        name
        for name in siblings
        if name != unit.name and re.search(rf"\b(self|this|cls)\.{re.escape(name)}\b", unit.code)
    )
    if used:
        return f"uses sibling members {', '.join(used[:5])}"
    if dependencies > MAX_SIBLING_DEPENDENCIES:
        return f"depends on {dependencies} other atoms of its file"
    return None


def _context(context: AtomContextInfo) -> str | None:
    if context.completeness >= MIN_COMPLETENESS:
        return None
    return f"completeness {context.completeness:.0%}, missing {', '.join(context.missing)}"


def _testable(unit: Unit, context: AtomContextInfo) -> str | None:
    if context.test_cases or unit.kind not in {UnitKind.FUNCTION, UnitKind.MEMBER}:
        return None
    if re.search(r"\breturn\b", unit.code):
        return None
    return "no test cases and no return value to check"


def _deterministic(unit: Unit) -> str | None:
    found = sorted(_NONDETERMINISTIC & set(unit.uses))
    if _MATH_RANDOM.search(unit.code):
        found.append("Math.random")
    if not found:
        return None
    return f"uses {', '.join(found)} (randomness, time or I/O)"


def _side_effects(unit: Unit) -> str | None:
    if not unit.global_writes:
        return None
    return f"writes globals {', '.join(sorted(unit.global_writes))}"


def _io(unit: Unit) -> str | None:
    if unit.kind not in {UnitKind.FUNCTION, UnitKind.MEMBER}:
        return None
    head = unit.code.split(")", 1)[0] + ")" + unit.code.split(")", 1)[-1][:40]
    if _PY_TYPED.search(head):
        return None
    return "parameters and result are not annotated"
