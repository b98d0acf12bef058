"""Between modules: which plan module imports which, and whether calls fit their callees.

Shared by the milestone level (interfaces between its tasks, cycles among its modules) and
the masterplan level (layering rules, names imported from plan modules that do not exist).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from mge_pipeline.validation.checks.names import FUNCTION_NODES, top_level_definitions
from mge_pipeline.validation.levels.context import LevelContext


@dataclass(frozen=True)
class ImportEdge:
    importer: str
    imported: str
    names: tuple[str, ...]
    atom_ids: tuple[str, ...]


def import_edges(context: LevelContext, atom_ids: Iterable[str]) -> list[ImportEdge]:
    """Imports from one plan module to another, with the atoms whose imports make them."""
    ids = list(atom_ids)
    modules = context.module_files(context.atoms)
    edges: list[ImportEdge] = []
    for importer, path in context.module_files(ids).items():
        in_file = context.atoms_in_file(path, ids)
        for node in context.trees[path].body:
            for imported, names in _targets(node, modules):
                if imported != importer:
                    statement = ast.unparse(node)
                    atoms = tuple(a for a in in_file if statement in _imports_of(context, a))
                    edges.append(ImportEdge(importer, imported, names, atoms or tuple(in_file)))
    return edges


def _targets(node: ast.stmt, modules: dict[str, str]) -> list[tuple[str, tuple[str, ...]]]:
    if isinstance(node, ast.ImportFrom) and node.module in modules and node.level == 0:
        return [(node.module, tuple(alias.name for alias in node.names))]
    if isinstance(node, ast.Import):
        return [(alias.name, ()) for alias in node.names if alias.name in modules]
    return []


def _imports_of(context: LevelContext, atom_id: str) -> set[str]:
    statements = set(context.atoms[atom_id].context.imports)
    tree = context.code_tree(atom_id)
    if tree is not None:
        statements |= {
            ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)
        }
    return {s.strip() for s in statements}


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
        tree = context.code_tree(definers[0])
        node = top_level_definitions(tree).get(name) if tree else None
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
