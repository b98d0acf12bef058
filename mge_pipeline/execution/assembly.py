"""Turning atoms' code into files: imports merged by syntax at the top, atoms in dependency order.

The same function builds the partial files a sandbox needs to test one atom and the final
output, so what is validated is laid out exactly like what is shipped.
"""

from __future__ import annotations

import ast
import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping

import networkx as nx

from mge_pipeline.domain import AtomKind, AtomSpec, Language
from mge_pipeline.execution.imports import (
    merge_python_imports,
    merge_script_imports,
    script_import_nodes,
)


def split_imports(code: str, language: Language) -> tuple[list[str], str]:
    """Top-level import statements (to hoist) and the rest of the code."""
    hoisted, body = _split_imports(code, language)
    return list(hoisted), body


@functools.lru_cache(maxsize=16384)
def _split_imports(code: str, language: Language) -> tuple[tuple[str, ...], str]:
    """Cached: every check of an atom re-assembles its dependencies' unchanged code."""
    if language is not Language.PYTHON:
        return _split_script_imports(code, language)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return (), code
    lines = code.splitlines()
    hoisted: list[str] = []
    drop: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            end = node.end_lineno or node.lineno
            hoisted.append(ast.unparse(node))
            drop.update(range(node.lineno - 1, end))
    body = "\n".join(line for index, line in enumerate(lines) if index not in drop)
    return tuple(hoisted), body.strip("\n")


def _split_script_imports(code: str, language: Language) -> tuple[tuple[str, ...], str]:
    lines = code.splitlines()
    ranges = script_import_nodes(code, language)
    hoisted = tuple("\n".join(lines[start : end + 1]) for start, end in ranges)
    drop = {index for start, end in ranges for index in range(start, end + 1)}
    body = "\n".join(line for index, line in enumerate(lines) if index not in drop)
    return hoisted, body.strip("\n")


def dependency_order(graph: nx.DiGraph, atom_ids: Iterable[str]) -> list[str]:
    """Topological order of the given atoms, ties broken by plan order.

    Runs once per attempt on the per-atom path, so it reads the order of the atoms it sorts
    rather than collecting it for the whole graph.
    """
    nodes = graph.nodes
    sub = graph.subgraph(set(atom_ids))
    return list(
        nx.lexicographical_topological_sort(sub, key=lambda node: nodes[node].get("order", 0))
    )


def assemble_files(
    atoms: Mapping[str, AtomSpec],
    codes: Mapping[str, str],
    graph: nx.DiGraph,
    project_files: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Files for the atoms that have code (methods inside their class's block), beside the
    plan's own project files (a ``tsconfig.json`` decides how every check compiles)."""
    ordered = dependency_order(graph, [atom_id for atom_id in codes if atom_id in atoms])
    by_file: dict[str, list[str]] = defaultdict(list)
    for atom_id in ordered:
        by_file[atoms[atom_id].file_path].append(atom_id)
    rendered = {
        path: _render_file([atoms[i] for i in ids], codes) for path, ids in sorted(by_file.items())
    }
    return {**dict(project_files or {}), **rendered}


def _render_file(atoms: list[AtomSpec], codes: Mapping[str, str]) -> str:
    imports: list[str] = []
    blocks: list[str] = []
    class_blocks: dict[str, int] = {}
    for atom in atoms:
        imports.extend(atom.context.imports)
        hoisted, body = split_imports(codes[atom.id], atom.language)
        imports.extend(hoisted)
        scope = atom.context.parent_scope
        if atom.kind is AtomKind.METHOD and scope and scope in class_blocks:
            index = class_blocks[scope]
            blocks[index] = blocks[index].rstrip() + "\n\n" + _indent(body)
            continue
        if atom.kind is AtomKind.CLASS:
            class_blocks[atom.name] = len(blocks)
        blocks.append(body)
    header = _merge_imports(imports, atoms[0].language)
    docstring, blocks[0] = _leading_docstring(blocks[0], atoms[0].language)
    parts = [docstring] if docstring else []
    parts += [header] if header else []
    parts.extend(block for block in blocks if block.strip())
    return "\n\n\n".join(part.strip("\n") for part in parts) + "\n"


@functools.lru_cache(maxsize=4096)
def _leading_docstring(block: str, language: Language) -> tuple[str, str]:
    """A module docstring opening the first block stays first, above the hoisted imports."""
    if language is not Language.PYTHON:
        return "", block
    try:
        tree = ast.parse(block)
    except SyntaxError:
        return "", block
    first = tree.body[0] if tree.body else None
    if ast.get_docstring(tree, clean=False) is None or first is None:
        return "", block
    lines = block.splitlines()
    end = first.end_lineno or first.lineno
    return "\n".join(lines[:end]), "\n".join(lines[end:])


def _merge_imports(statements: list[str], language: Language) -> str:
    """One statement per module and name, ``from __future__`` first, else first-seen order."""
    if language is Language.PYTHON:
        return merge_python_imports(statements)
    return merge_script_imports(statements, language)


def _indent(code: str) -> str:
    return "\n".join(("    " + line) if line.strip() else "" for line in code.splitlines())


def files_for_atom(
    atom_id: str,
    candidate: str,
    atoms: Mapping[str, AtomSpec],
    dependency_codes: Mapping[str, str],
    graph: nx.DiGraph,
    project_files: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The files a sandbox needs to test one candidate: its transitive dependencies, itself and
    the plan's project files."""
    needed = nx.ancestors(graph, atom_id)
    codes = {dep: dependency_codes[dep] for dep in needed if dep in dependency_codes}
    codes[atom_id] = candidate
    return assemble_files(atoms, codes, graph, project_files)
