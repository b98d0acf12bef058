"""Task level: the task's atoms fit together in their files.

Consistency (one language, naming conventions per kind), integration (every name the files
read resolves, no two atoms define one name, no two imports bind one name differently),
public contracts (each atom's symbol is in its assembled file) and the task's own test
command, run in the sandbox against the assembled files.
"""

from __future__ import annotations

import ast
import re

from mge_pipeline.domain import AtomKind, ErrorCategory, LevelIssue, Severity, Task
from mge_pipeline.validation.checks.names import top_level_definitions, undefined_names
from mge_pipeline.validation.levels.context import LevelContext, issue

_SNAKE = re.compile(r"^_{0,2}[a-z][a-z0-9_]*_{0,2}$")
_PASCAL = re.compile(r"^_?[A-Z][A-Za-z0-9]*$")
_CONSTANT = re.compile(r"^_?[A-Z][A-Z0-9_]*$")


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
        expected = _convention(atom.kind, atom.name)
        if expected:
            message = f"`{atom.name}` does not follow the {expected} convention for a {atom.kind}"
            found.append(
                issue(Severity.WARNING, ErrorCategory.CONTEXT, "naming", message, [atom.id])
            )
    return found


def _convention(kind: AtomKind, name: str) -> str | None:
    if kind is AtomKind.CLASS:
        return None if _PASCAL.match(name) else "PascalCase"
    if kind in (AtomKind.FUNCTION, AtomKind.METHOD):
        return None if _SNAKE.match(name) else "snake_case"
    return None if _CONSTANT.match(name) or _SNAKE.match(name) else "UPPER_CASE"


def _integration(context: LevelContext, ids: list[str]) -> list[LevelIssue]:
    found: list[LevelIssue] = []
    for path in sorted({context.atoms[a].file_path for a in ids}):
        tree = context.trees.get(path)
        in_file = context.atoms_in_file(path, ids)
        if tree is None:
            if path.endswith(".py"):
                message = f"{path} does not parse once assembled"
                found.append(
                    issue(Severity.ERROR, ErrorCategory.SYNTAX, "integration", message, in_file)
                )
            continue
        for name in undefined_names(tree, None):
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
    for path in sorted({context.atoms[a].file_path for a in ids}):
        tree = context.trees.get(path)
        if tree is None:
            continue
        bindings: dict[str, set[str]] = {}
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                for alias in node.names:
                    bound = (alias.asname or alias.name).split(".")[0]
                    bindings.setdefault(bound, set()).add(ast.unparse(node))
        for name, statements in bindings.items():
            if len(statements) > 1:
                message = (
                    f"{path}: `{name}` is imported differently: {' / '.join(sorted(statements))}"
                )
                readers = context.readers(context.atoms_in_file(path, ids), name)
                found.append(
                    issue(Severity.ERROR, ErrorCategory.IMPORT, "imports", message, readers)
                )
    return found


def _contracts(context: LevelContext, ids: list[str]) -> list[LevelIssue]:
    found: list[LevelIssue] = []
    for atom_id in ids:
        atom = context.atoms[atom_id]
        tree = context.trees.get(atom.file_path)
        if tree is None or atom.kind is AtomKind.METHOD:
            continue
        if atom.name not in top_level_definitions(tree):
            message = f"{atom.file_path} does not define `{atom.name}` once assembled"
            found.append(
                issue(Severity.ERROR, ErrorCategory.CONTEXT, "contracts", message, [atom_id])
            )
    return found
