"""Check 1, syntax: the code parses, and tabs and spaces are not mixed in its indentation."""

from __future__ import annotations

import ast

from mge_pipeline.domain import ErrorCategory, ValidationIssue
from mge_pipeline.validation.checks.subject import error, warning

CHECK = "syntax"


def parse_code(code: str) -> tuple[ast.Module | None, list[ValidationIssue]]:
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        message = exc.msg if exc.text is None else f"{exc.msg}: {exc.text.strip()[:80]}"
        return None, [error(CHECK, ErrorCategory.SYNTAX, message, exc.lineno)]
    return tree, _mixed_indentation(code)


def _mixed_indentation(code: str) -> list[ValidationIssue]:
    indents = [line[: len(line) - len(line.lstrip())] for line in code.splitlines()]
    tabs = [i for i, indent in enumerate(indents, 1) if "\t" in indent]
    spaces = [i for i, indent in enumerate(indents, 1) if " " in indent]
    if tabs and spaces:
        message = "indentation mixes tabs and spaces; use four spaces"
        return [warning(CHECK, ErrorCategory.SYNTAX, message, tabs[0])]
    return []
