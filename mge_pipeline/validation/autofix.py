"""Deterministic repairs applied to an answer before it is validated, instead of another call.

Only repairs whose outcome is certain: stray Markdown fence lines in code that does not parse
without them; tabs in the indentation of code that mixes tabs and spaces (expanded at 8
columns, as Python's tokenizer reads them); imports of standard-library modules (or a few
unambiguous standard names) that the code uses but nothing in its module binds. Each repair
is described in one line for the attempt history. JavaScript and TypeScript get their own
certain repairs (``script_autofix``).
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field

from mge_pipeline.domain import AtomSpec, Language
from mge_pipeline.validation.checks.names import parse_or_none, undefined_names
from mge_pipeline.validation.script_autofix import script_fixes

_FENCE_LINE = re.compile(r"^\s*(```|~~~)[\w+.-]*\s*$")
# Names that mean one thing in the standard library, imported from where they live.
STANDARD_NAMES: dict[str, str] = {
    "dataclass": "from dataclasses import dataclass",
    "field": "from dataclasses import field",
    "Path": "from pathlib import Path",
    "defaultdict": "from collections import defaultdict",
    "Counter": "from collections import Counter",
    "OrderedDict": "from collections import OrderedDict",
    "deque": "from collections import deque",
    "namedtuple": "from collections import namedtuple",
    "Decimal": "from decimal import Decimal",
    "Fraction": "from fractions import Fraction",
    "Enum": "from enum import Enum",
    "reduce": "from functools import reduce",
    "lru_cache": "from functools import lru_cache",
    "Any": "from typing import Any",
    "Optional": "from typing import Optional",
    "Iterable": "from collections.abc import Iterable",
    "Iterator": "from collections.abc import Iterator",
    "Callable": "from collections.abc import Callable",
    "Sequence": "from collections.abc import Sequence",
    "Mapping": "from collections.abc import Mapping",
}


@dataclass(frozen=True)
class AutoFixResult:
    code: str
    fixes: list[str] = field(default_factory=list)


def auto_fix(atom: AtomSpec, code: str, module_source: str | None = None) -> AutoFixResult:
    """Apply every certain repair in turn; ``module_source`` is the assembled file around it."""
    if atom.language is not Language.PYTHON:
        return AutoFixResult(*script_fixes(code, atom.language, module_source))
    fixes: list[str] = []
    for repair in (_strip_fences, _expand_tabs):
        repaired, fix = repair(code)
        if fix:
            code, fixes = repaired, [*fixes, fix]
    code, added = _add_standard_imports(code, module_source)
    if added:
        fixes.append("added missing standard-library import(s): " + "; ".join(added))
    return AutoFixResult(code, fixes)


def _parses(code: str) -> bool:
    return parse_or_none(code) is not None


def _strip_fences(code: str) -> tuple[str, str | None]:
    lines = code.splitlines()
    kept = [line for line in lines if not _FENCE_LINE.match(line)]
    if len(kept) == len(lines) or _parses(code) or not _parses("\n".join(kept)):
        return code, None
    return "\n".join(kept).strip(
        "\n"
    ) + "\n", f"removed {len(lines) - len(kept)} stray Markdown fence line(s)"


def _expand_tabs(code: str) -> tuple[str, str | None]:
    lines = code.splitlines()
    indents = [line[: len(line) - len(line.lstrip())] for line in lines]
    if not (any("\t" in i for i in indents) and any(" " in i for i in indents)):
        return code, None
    fixed = [
        indent.expandtabs(8) + line[len(indent) :]
        for indent, line in zip(indents, lines, strict=True)
    ]
    candidate = "\n".join(fixed) + "\n"
    if not _parses(candidate):
        return code, None
    return (
        candidate,
        "expanded indentation tabs at 8 columns, as Python reads them (tabs and spaces mixed)",
    )


def _add_standard_imports(code: str, module_source: str | None) -> tuple[str, list[str]]:
    tree = parse_or_none(code)
    if tree is None:
        return code, []
    missing = undefined_names(tree, parse_or_none(module_source))
    statements = [_import_for(name, tree) for name in missing]
    added = [s for s in statements if s is not None]
    if not added:
        return code, []
    return "\n".join(added) + "\n" + code, added


def _import_for(name: str, tree: ast.Module) -> str | None:
    if name in STANDARD_NAMES:
        return STANDARD_NAMES[name]
    used_as_module = any(
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == name
        for node in ast.walk(tree)
    )
    if used_as_module and name in sys.stdlib_module_names and not name.startswith("_"):
        return f"import {name}"
    return None
