"""Which names an atom uses, for inferring dependencies a plan leaves implicit."""

from __future__ import annotations

import ast
import re

from mge_pipeline.domain import AtomSpec, Language

_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def used_names(atom: AtomSpec) -> set[str]:
    """Identifiers the atom's known code and signature refer to, minus what it defines."""
    sources = [atom.signature]
    if atom.reference_implementation:
        sources.append(atom.reference_implementation)
    names: set[str] = set()
    for source in sources:
        names |= _names_in(source, atom.language)
    for statement in atom.context.imports:
        names |= imported_names(statement)
    names.discard(atom.name)
    return names


def imported_names(statement: str) -> set[str]:
    """Names bound by one import statement, e.g. 'from a.b import C as D' binds D."""
    try:
        tree = ast.parse(statement.strip())
    except SyntaxError:
        return set()
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            bound |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return bound


def _names_in(source: str, language: Language) -> set[str]:
    if language is not Language.PYTHON:
        return set(_IDENTIFIER.findall(source))
    tree = _parse_python_fragment(source)
    if tree is None:
        return set(_IDENTIFIER.findall(source))
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _parse_python_fragment(source: str) -> ast.Module | None:
    """Parse code, or a bare signature line by giving it a body."""
    for candidate in (source, source.rstrip() + "\n    ...\n"):
        try:
            return ast.parse(candidate)
        except SyntaxError:
            continue
    return None
