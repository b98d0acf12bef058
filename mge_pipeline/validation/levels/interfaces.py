"""Between modules: which plan module imports which, and whether calls fit their callees.

Shared by the milestone level (interfaces between its tasks, cycles among its modules) and
the masterplan level (layering rules, names imported from plan modules that do not exist).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from mge_pipeline.validation.checks.names import FUNCTION_NODES
from mge_pipeline.validation.levels.context import LevelContext


@dataclass(frozen=True)
class ImportEdge:
    importer: str
    imported: str
    names: tuple[str, ...]
    atom_ids: tuple[str, ...]


def import_edges(context: LevelContext, atom_ids: Iterable[str]) -> list[ImportEdge]:
    """Imports from one plan module to another, with the atoms whose imports make them.

    An edge's atoms are those of the importing file whose own imports contain the statement,
    found through an index from statement to atoms: one pass over the file's atoms rather
    than one per import statement.
    """
    edges: list[ImportEdge] = []
    by_file = context.atoms_by_file(atom_ids)
    for importer, path in context.modules_of(by_file).items():
        in_file = by_file[path]
        having: dict[str, list[str]] = {}
        for atom_id in in_file:
            for statement in context.import_statements(atom_id):
                having.setdefault(statement, []).append(atom_id)
        for imported, names, statement in file_imports(context, path):
            if imported != importer:
                atoms = tuple(having.get(statement, ()))
                edges.append(ImportEdge(importer, imported, names, atoms or tuple(in_file)))
    return edges


def file_imports(context: LevelContext, path: str) -> list[tuple[str, tuple[str, ...], str]]:
    """(imported plan module, names, statement) for each import of the file, in order; read
    once per file and kept in the context, since milestones and the masterplan all ask."""
    if path in context.file_imports:
        return context.file_imports[path]
    modules = context.plan_modules()
    found: list[tuple[str, tuple[str, ...], str]] = []
    for node in context.trees[path].body:
        targets = _targets(node, modules)
        if targets:
            statement = ast.unparse(node)
            found.extend((imported, names, statement) for imported, names in targets)
    context.file_imports[path] = found
    return found


def _targets(node: ast.stmt, modules: dict[str, str]) -> list[tuple[str, tuple[str, ...]]]:
    if isinstance(node, ast.ImportFrom) and node.module in modules and node.level == 0:
        return [(node.module, tuple(alias.name for alias in node.names))]
    if isinstance(node, ast.Import):
        return [(alias.name, ()) for alias in node.names if alias.name in modules]
    return []


@dataclass(frozen=True)
class Arity:
    required: int
    maximum: int | None
    keywords: frozenset[str]
    any_keyword: bool

    def mismatch(self, call: ast.Call) -> str | None:
        if any(isinstance(a, ast.Starred) for a in call.args) or any(
            k.arg is None for k in call.keywords
        ):
            return None
        named = {k.arg for k in call.keywords if k.arg}
        unknown = sorted(named - self.keywords) if not self.any_keyword else []
        if unknown:
            return f"unknown keyword argument(s) {', '.join(unknown)}"
        given = len(call.args) + len(named & self.keywords)
        if len(call.args) > (self.maximum if self.maximum is not None else len(call.args)):
            return f"{len(call.args)} positional arguments, at most {self.maximum} accepted"
        if given < self.required:
            return f"{given} arguments given, {self.required} required"
        return None


def arities(context: LevelContext, atom_ids: Iterable[str]) -> dict[str, tuple[str, Arity]]:
    """Function name → (defining atom, its arity), for names exactly one atom defines."""
    found: dict[str, tuple[str, Arity]] = {}
    for name, definers in context.definers(atom_ids).items():
        node = context.code_definitions(definers[0]).get(name)
        if len(definers) == 1 and isinstance(node, FUNCTION_NODES):
            found[name] = (definers[0], _arity(node.args))
    return found


def _arity(args: ast.arguments) -> Arity:
    positional = [*args.posonlyargs, *args.args]
    required = len(positional) - len(args.defaults)
    required += sum(1 for d in args.kw_defaults if d is None)
    return Arity(
        required=required,
        maximum=None if args.vararg else len(positional),
        keywords=frozenset(a.arg for a in [*args.args, *args.kwonlyargs]),
        any_keyword=args.kwarg is not None,
    )
