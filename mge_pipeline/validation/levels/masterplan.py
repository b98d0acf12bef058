"""Masterplan level: architecture, dependency sanity, contracts, performance and security.

Layering rules come from the plan's ``layers`` (module prefixes, lowest first). Performance
smells and security patterns are read from every atom's code; secrets are string constants
shaped like keys or assigned to names that say they hold one.
"""

from __future__ import annotations

import ast
import re

from mge_pipeline.domain import ErrorCategory, LevelIssue, Severity
from mge_pipeline.validation.checks.names import calls_to, dotted_name
from mge_pipeline.validation.levels.context import LevelContext, issue
from mge_pipeline.validation.levels.interfaces import import_edges

_SECRET_VALUE = re.compile(
    r"sk-ant-[\w-]{10,}|sk-[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|ghp_[A-Za-z0-9]{30,}"
    r"|-----BEGIN (?:RSA |EC |OPENSSH )?PRIVATE KEY-----"
)
_SECRET_NAME = re.compile(r"(password|passwd|secret|api_?key|token|credential)", re.IGNORECASE)
_SQL = re.compile(r"\b(select|insert|update|delete)\b.*\b(from|into|set|where)\b", re.IGNORECASE)


def masterplan_issues(context: LevelContext) -> list[LevelIssue]:
    ids = [a for a in context.atoms if a in context.codes]
    found = _layers(context, ids) + _imported_names(context, ids) + _dependencies(context, ids)
    for atom_id in ids:
        tree = context.code_tree(atom_id)
        if tree is not None:
            found += _performance(atom_id, tree) + _security(atom_id, tree)
    return found


def _layer(layers: list[str], module: str) -> int | None:
    matches = [i for i, p in enumerate(layers) if module == p or module.startswith(p + ".")]
    return max(matches) if matches else None


def _layers(context: LevelContext, ids: list[str]) -> list[LevelIssue]:
    layers = context.plan.layers
    found: list[LevelIssue] = []
    for edge in import_edges(context, ids) if layers else []:
        low, high = _layer(layers, edge.importer), _layer(layers, edge.imported)
        if low is not None and high is not None and high > low:
            message = (
                f"layering: {edge.importer} (layer {layers[low]}) imports "
                f"{edge.imported} (layer {layers[high]}, higher)"
            )
            found.append(
                issue(
                    Severity.ERROR, ErrorCategory.DEPENDENCY, "architecture", message, edge.atom_ids
                )
            )
    return found


def _imported_names(context: LevelContext, ids: list[str]) -> list[LevelIssue]:
    """Contracts between files: a name imported from a plan module must exist there."""
    modules = context.plan_modules()
    found: list[LevelIssue] = []
    for edge in import_edges(context, ids):
        defined = context.file_definitions(modules[edge.imported])
        for name in edge.names:
            if name != "*" and name not in defined:
                message = (
                    f"{edge.importer} imports `{name}` from {edge.imported}, "
                    "which does not define it"
                )
                found.append(
                    issue(Severity.ERROR, ErrorCategory.IMPORT, "contracts", message, edge.atom_ids)
                )
    return found


def _dependencies(context: LevelContext, ids: list[str]) -> list[LevelIssue]:
    """Declared dependencies whose names the atom never reads: the graph is wider than the code."""
    definers = context.definers(ids)
    defined_by: dict[str, set[str]] = {}
    for name, atoms in definers.items():
        for atom_id in atoms:
            defined_by.setdefault(atom_id, set()).add(name)
    found: list[LevelIssue] = []
    for atom_id in ids:
        atom, tree = context.atoms[atom_id], context.code_tree(atom_id)
        read = _read_names(tree) if tree else set()
        for dep in atom.depends_on or []:
            names = defined_by.get(dep, set())
            if names and not names & read and atom.context.parent_scope not in names:
                unused = ", ".join(sorted(names))
                message = f"`{atom_id}` declares a dependency on `{dep}` but never uses {unused}"
                found.append(
                    issue(
                        Severity.WARNING,
                        ErrorCategory.DEPENDENCY,
                        "dependency_graph",
                        message,
                        [atom_id],
                    )
                )
    return found


def _read_names(tree: ast.Module) -> set[str]:
    """Names read, plus strings that name them (``__all__`` lists its names as strings)."""
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return names | {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def _performance(atom_id: str, tree: ast.Module) -> list[LevelIssue]:
    found: list[LevelIssue] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            sources = [ast.unparse(g.iter) for g in node.generators]
            repeated = sorted({s for s in sources if sources.count(s) > 1})
            if repeated:
                message = f"`{atom_id}`: nested loops over `{repeated[0]}` (quadratic in its size)"
                found.append(
                    issue(Severity.WARNING, ErrorCategory.LOGIC, "performance", message, [atom_id])
                )
    for outer in ast.walk(tree):
        if not isinstance(outer, ast.For | ast.comprehension):
            continue
        source = ast.unparse(outer.iter)
        body = outer.body if isinstance(outer, ast.For) else []
        for inner in (n for stmt in body for n in ast.walk(stmt)):
            if isinstance(inner, ast.For | ast.comprehension) and ast.unparse(inner.iter) == source:
                message = f"`{atom_id}`: nested loops over `{source}` (quadratic in its size)"
                found.append(
                    issue(Severity.WARNING, ErrorCategory.LOGIC, "performance", message, [atom_id])
                )
            elif (
                isinstance(inner, ast.Call)
                and isinstance(inner.func, ast.Attribute)
                and inner.func.attr in ("index", "remove", "count")
                and dotted_name(inner.func.value) == source
            ):
                message = (
                    f"`{atom_id}`: `{source}.{inner.func.attr}` inside a loop over it (quadratic)"
                )
                found.append(
                    issue(Severity.WARNING, ErrorCategory.LOGIC, "performance", message, [atom_id])
                )
    return found


def _security(atom_id: str, tree: ast.Module) -> list[LevelIssue]:
    found: list[LevelIssue] = []
    for callee, call in calls_to(tree):
        problem = _injection(callee, call)
        if problem:
            found.append(
                issue(
                    Severity.ERROR,
                    ErrorCategory.SAFETY,
                    "security",
                    f"`{atom_id}`: {problem}",
                    [atom_id],
                )
            )
    for node in ast.walk(tree):
        secret = _secret(node)
        if secret:
            found.append(
                issue(
                    Severity.ERROR,
                    ErrorCategory.SAFETY,
                    "security",
                    f"`{atom_id}`: {secret}",
                    [atom_id],
                )
            )
    return found


def _injection(callee: str, call: ast.Call) -> str | None:
    if callee.endswith((".execute", ".executemany", ".executescript")) and call.args:
        query = call.args[0]
        built = isinstance(query, ast.JoinedStr) or (
            isinstance(query, ast.BinOp) and isinstance(query.op, ast.Add | ast.Mod)
        )
        built = built or (
            isinstance(query, ast.Call)
            and isinstance(query.func, ast.Attribute)
            and query.func.attr == "format"
        )
        if built and _SQL.search(ast.unparse(query)):
            return "SQL built from strings is injection-prone; pass parameters separately"
    if callee in ("pickle.loads", "pickle.load", "marshal.loads"):
        return f"`{callee}` on data it did not create can execute code"
    if (
        callee == "yaml.load"
        and not any(k.arg == "Loader" for k in call.keywords)
        and len(call.args) < 2
    ):
        return "`yaml.load` without a safe Loader"
    return None


def _secret(node: ast.AST) -> str | None:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and _SECRET_VALUE.search(node.value)
    ):
        return "a string constant looks like a secret key"
    if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Constant):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        value = node.value.value
        for target in targets:
            if (
                isinstance(target, ast.Name)
                and _SECRET_NAME.search(target.id)
                and isinstance(value, str)
                and len(value) >= 8
            ):
                return f"`{target.id}` holds a hard-coded secret"
    return None
