"""How atomic a unit cut by the decomposer is, measured from its tree-sitter analysis.

The rule itself — the ten criteria, thresholds, severities and score — is
``mge_pipeline.domain.atomicity``; this module only reads a :class:`Unit` (its lines of code,
complexity, bindings, uses and global writes, which the decomposer took from tree-sitter) and
its injected context into :class:`AtomMeasures`. It works for Python, TypeScript and
JavaScript alike, which is why annotations and sibling uses are read from the unit's text.
"""

from __future__ import annotations

import re

from mge_pipeline.atomization.context import AtomContextInfo
from mge_pipeline.atomization.units import Unit, UnitKind
from mge_pipeline.domain.atomicity import (
    AtomicityReport,
    AtomMeasures,
    judge_atomicity,
)

_MATH_RANDOM = re.compile(r"\bMath\.random\b")
_TYPED = re.compile(r"->|\w\s*:\s*\w")
_FUNCTIONS = {UnitKind.FUNCTION, UnitKind.MEMBER}


def assess_atomicity(
    unit: Unit,
    context: AtomContextInfo,
    *,
    siblings: frozenset[str] = frozenset(),
    dependencies: int = 0,
) -> AtomicityReport:
    """``siblings``: names of the other members of the unit's class; ``dependencies``: how
    many atoms of the same file it depends on."""
    return judge_atomicity(measure_unit(unit, context, siblings, dependencies))


def measure_unit(
    unit: Unit,
    context: AtomContextInfo,
    siblings: frozenset[str] = frozenset(),
    dependencies: int = 0,
) -> AtomMeasures:
    uses = set(unit.uses)
    if _MATH_RANDOM.search(unit.code):
        uses.add("Math.random")
    imports = unit.kind is UnitKind.IMPORTS
    return AtomMeasures(
        loc=unit.loc,
        complexity=unit.complexity,
        names=frozenset() if imports else unit.defines,
        uses=frozenset(uses),
        imports_only=imports,
        is_function=unit.kind in _FUNCTIONS,
        annotated=_annotated(unit),
        has_tests=bool(context.test_cases),
        global_writes=unit.global_writes,
        sibling_uses=_sibling_uses(unit, siblings),
        dependencies=dependencies,
        completeness=context.completeness,
        missing_context=context.missing,
        size_note=unit.whole_reason,
    )


def _annotated(unit: Unit) -> bool:
    """Whether the signature (up to the parameters' closing parenthesis and a little after,
    where a result annotation sits) carries a Python or TypeScript annotation."""
    head, _, rest = unit.code.partition(")")
    return bool(_TYPED.search(head + ")" + rest[:40]))


def _sibling_uses(unit: Unit, siblings: frozenset[str]) -> frozenset[str]:
    return frozenset(
        name
        for name in siblings
        if name != unit.name and re.search(rf"\b(self|this|cls)\.{re.escape(name)}\b", unit.code)
    )


__all__ = ["AtomicityReport", "assess_atomicity", "measure_unit"]
