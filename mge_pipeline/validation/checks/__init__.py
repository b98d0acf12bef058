"""The five static checks of an atom's Python code, run before its tests.

Each check is a function of a :class:`CheckSubject` returning structured issues; errors fail
the attempt, warnings are reported only. ``PYTHON_CHECKS`` is the order they run in; syntax
comes first because the others need a syntax tree.
"""

from __future__ import annotations

from collections.abc import Callable

from mge_pipeline.domain import AtomSpec, Severity, ValidationIssue
from mge_pipeline.validation.checks.atomicity import check_atomicity
from mge_pipeline.validation.checks.names import parse_or_none
from mge_pipeline.validation.checks.runtime_safety import check_runtime_safety
from mge_pipeline.validation.checks.semantics import check_semantics
from mge_pipeline.validation.checks.subject import CheckSubject
from mge_pipeline.validation.checks.syntax import parse_code
from mge_pipeline.validation.checks.type_safety import check_type_safety

Check = Callable[[CheckSubject], list[ValidationIssue]]

PYTHON_CHECKS: dict[str, Check] = {
    "semantics": check_semantics,
    "atomicity": check_atomicity,
    "type_safety": check_type_safety,
    "runtime_safety": check_runtime_safety,
}


def run_python_checks(
    atom: AtomSpec,
    code: str,
    module_source: str | None = None,
    checks: dict[str, Check] | None = None,
    sibling_names: frozenset[str] = frozenset(),
) -> list[ValidationIssue]:
    """All findings, errors first; ``module_source`` is the assembled file around the code."""
    tree, issues = parse_code(code)
    if tree is None:
        return issues
    subject = CheckSubject(atom, code, tree, parse_or_none(module_source), sibling_names)
    for check in (PYTHON_CHECKS if checks is None else checks).values():
        issues = issues + check(subject)
    return sorted(issues, key=lambda issue: issue.severity is not Severity.ERROR)


__all__ = ["PYTHON_CHECKS", "CheckSubject", "run_python_checks"]
