"""Task level: the task's atoms fit together in their files.

Consistency (one language, naming conventions per kind and language), integration (every
name the files read resolves, no two atoms define one name, no two imports bind one name
differently),
public contracts (each atom's symbol is in its assembled file) and the task's own test
command, run in the sandbox against the assembled files.
"""

from __future__ import annotations

import ast
import re

from mge_pipeline.domain import AtomKind, ErrorCategory, Language, LevelIssue, Severity, Task
from mge_pipeline.validation.levels.context import LevelContext, issue

_SNAKE = re.compile(r"^_{0,2}[a-z][a-z0-9_]*_{0,2}$")
_PASCAL = re.compile(r"^_?[A-Z][A-Za-z0-9]*$")
_CONSTANT = re.compile(r"^_?[A-Z][A-Z0-9_]*$")
_CAMEL = re.compile(r"^[_$]{0,2}[a-z][A-Za-z0-9$]*$")


def task_issues(context: LevelContext, task: Task) -> list[LevelIssue]:
    ids = [a.id for a in task.atoms if a.id in context.codes]
    return (
        _consistency(context, task)
        + _integration(context, ids)
        + _conflicting_imports(context, ids)
        + _contracts(context, ids)
    )


def _consistency(context: LevelContext, task: Task) -> list[LevelIssue]:
    found: list[LevelIssue] = []
    languages = {a.language for a in task.atoms}
    if len(languages) > 1:
        message = f"the task mixes languages: {', '.join(sorted(languages))}"
        found.append(issue(Severity.WARNING, ErrorCategory.CONTEXT, "consistency", message))
    for atom in task.atoms:
        expected = _convention(atom.kind, atom.name, atom.language)
        if expected:
            message = f"`{atom.name}` does not follow the {expected} convention for a {atom.kind}"
            found.append(
                issue(Severity.WARNING, ErrorCategory.CONTEXT, "naming", message, [atom.id])
            )
    return found


def _convention(kind: AtomKind, name: str, language: Language = Language.PYTHON) -> str | None:
    if language is not Language.PYTHON:
        return _script_convention(kind, name)
    if kind is AtomKind.CLASS:
        return None if _PASCAL.match(name) else "PascalCase"
    if kind in (AtomKind.FUNCTION, AtomKind.METHOD):
        return None if _SNAKE.match(name) else "snake_case"
    return None if _CONSTANT.match(name) or _SNAKE.match(name) else "UPPER_CASE"


def _script_convention(kind: AtomKind, name: str) -> str | None:
    """JS/TS: camelCase functions and methods, PascalCase classes; a block (constants, enums,
    types, ``module.exports``) follows no single convention."""
    if kind is AtomKind.CLASS:
        return None if _PASCAL.match(name) else "PascalCase"
    if kind in (AtomKind.FUNCTION, AtomKind.METHOD) and "." not in name:
        return None if _CAMEL.match(name) or _PASCAL.match(name) else "camelCase"
    return None


def _integration(context: LevelContext, ids: list[str]) -> list[LevelIssue]:
    found: list[LevelIssue] = []
    by_file = context.atoms_by_file(ids)
    for path in sorted(by_file):
        tree = context.trees.get(path)
        in_file = by_file[path]
        if tree is None:
            if path.endswith(".py"):
                message = f"{path} does not parse once assembled"
                found.append(
                    issue(Severity.ERROR, ErrorCategory.SYNTAX, "integration", message, in_file)
                )
            continue
        for name in context.file_undefined_names(path):
            message = f"{path}: `{name}` is read but nothing defines or imports it"
            readers = context.readers(in_file, name)
            found.append(
                issue(Severity.ERROR, ErrorCategory.IMPORT, "integration", message, readers)
            )
        for name, definers in context.definers(in_file).items():
            if len(definers) > 1:
                message = f"{path}: `{name}` is defined by {len(definers)} atoms"
                found.append(
                    issue(Severity.ERROR, ErrorCategory.CONTEXT, "integration", message, definers)
                )
    return found


def _conflicting_imports(context: LevelContext, ids: list[str]) -> list[LevelIssue]:
    """Identical imports are merged by assembly; two imports binding one name are a conflict."""
    found: list[LevelIssue] = []
    by_file = context.atoms_by_file(ids)
    for path in sorted(by_file):
        tree = context.trees.get(path)
        if tree is None:
            continue
        for name, statements in _import_bindings(tree).items():
            if len(statements) > 1:
                message = (
                    f"{path}: `{name}` is imported differently: {' / '.join(sorted(statements))}"
                )
                readers = context.readers(by_file[path], name)
                found.append(
                    issue(Severity.ERROR, ErrorCategory.IMPORT, "imports", message, readers)
                )
    return found


def _import_bindings(tree: ast.Module) -> dict[str, set[str]]:
    """Name → the import statements of the file that bind it."""
    bindings: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                bound = (alias.asname or alias.name).split(".")[0]
                bindings.setdefault(bound, set()).add(ast.unparse(node))
    return bindings


def _contracts(context: LevelContext, ids: list[str]) -> list[LevelIssue]:
    found: list[LevelIssue] = []
    for atom_id in ids:
        atom = context.atoms[atom_id]
        if atom.file_path not in context.trees or atom.kind is AtomKind.METHOD:
            continue
        if atom.name not in context.file_definitions(atom.file_path):
            message = f"{atom.file_path} does not define `{atom.name}` once assembled"
            found.append(
                issue(Severity.ERROR, ErrorCategory.CONTEXT, "contracts", message, [atom_id])
            )
    return found
