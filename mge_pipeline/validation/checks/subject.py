"""What every static check looks at: the atom, its code, and the module it will live in."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from mge_pipeline.domain import AtomSpec, ErrorCategory, Severity, ValidationIssue


@dataclass(frozen=True)
class CheckSubject:
    atom: AtomSpec
    code: str
    tree: ast.Module
    module_tree: ast.Module | None = None
    """The assembled file around the candidate (dependencies + context imports), if it parses."""
    sibling_names: frozenset[str] = frozenset()
    """Names other atoms of the same file define: a reference to one that is not assembled yet
    (a dependency cut to break a cycle) resolves once the file is whole."""


def error(
    check: str, category: ErrorCategory, message: str, line: int | None = None
) -> ValidationIssue:
    return ValidationIssue(
        category=category, message=message, line=line, severity=Severity.ERROR, check=check
    )


def warning(
    check: str, category: ErrorCategory, message: str, line: int | None = None
) -> ValidationIssue:
    return ValidationIssue(
        category=category, message=message, line=line, severity=Severity.WARNING, check=check
    )


def mentions(atom: AtomSpec, *words: str) -> bool:
    """Whether the spec asks for a capability, so a check flagging it only warns."""
    text = " ".join(
        [atom.description, atom.signature, atom.context.notes or "", *atom.context.imports]
    ).lower()
    return any(word in text for word in words)
