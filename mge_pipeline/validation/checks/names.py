"""Name analysis shared by the checks and the auto-fixes: what code binds, uses and defines.

Scopes are deliberately coarse: a name counts as bound if it is bound anywhere in the code.
That misses some undefined names but never reports a defined one as missing, which is the
right trade for a check whose findings fail an attempt.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass

from mge_pipeline.domain import AtomKind, AtomSpec

BUILTIN_NAMES = frozenset(dir(builtins)) | {"__file__", "__name__", "__doc__", "__spec__"}
FUNCTION_NODES = ast.FunctionDef | ast.AsyncFunctionDef


def bound_names(tree: ast.AST) -> set[str]:
    """Every name bound anywhere: assignments, parameters, imports, defs, handlers, patterns."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, FUNCTION_NODES | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            names.update(node.names)
        elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    return names


def star_imports(tree: ast.AST) -> bool:
    return any(
        isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names)
        for node in ast.walk(tree)
    )


def undefined_names(code_tree: ast.AST, module_tree: ast.AST | None) -> dict[str, int]:
    """Names the code reads that nothing binds (the module around it included) → first line."""
    if star_imports(code_tree) or (module_tree is not None and star_imports(module_tree)):
        return {}
    known = bound_names(code_tree) | BUILTIN_NAMES
    if module_tree is not None:
        known |= bound_names(module_tree)
    missing: dict[str, int] = {}
    for node in ast.walk(code_tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in known:
            missing.setdefault(node.id, node.lineno)
    return missing


def top_level_definitions(tree: ast.Module) -> dict[str, ast.stmt]:
    """Functions, classes and assigned names at the top of the code, in order."""
    found: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, FUNCTION_NODES | ast.ClassDef):
            found[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found[node.target.id] = node
    return found


@dataclass(frozen=True)
class SpecSignature:
    """The spec's signature parsed into the node it declares (None when it does not parse)."""

    node: ast.stmt | None

    @property
    def function(self) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        return self.node if isinstance(self.node, FUNCTION_NODES) else None

    @property
    def klass(self) -> ast.ClassDef | None:
        return self.node if isinstance(self.node, ast.ClassDef) else None


def parse_signature(atom: AtomSpec) -> SpecSignature:
    text = atom.signature.strip()
    header = text if text.endswith(":") else text + ":"
    candidates = [text]
    if atom.kind in (AtomKind.FUNCTION, AtomKind.METHOD, AtomKind.CLASS) or text.startswith(
        ("def ", "async def ", "class ", "@")
    ):
        candidates.insert(0, header + "\n    ...")
    for candidate in candidates:
        try:
            body = ast.parse(candidate).body
        except SyntaxError:
            continue
        if body:
            return SpecSignature(body[-1])
    return SpecSignature(None)


def parse_or_none(source: str | None) -> ast.Module | None:
    if source is None:
        return None
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def calls_to(tree: ast.AST) -> list[tuple[str, ast.Call]]:
    """(dotted callee, call) for every call whose callee is a name or attribute chain."""
    found: list[tuple[str, ast.Call]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            dotted = dotted_name(node.func)
            if dotted:
                found.append((dotted, node))
    return found


def dotted_name(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None
