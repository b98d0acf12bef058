"""Milestone level: its tasks work together.

Interfaces and contracts (calls from one task's atoms to another task's functions fit their
signatures), API naming consistency, integration (every module of the milestone imports in
the sandbox) and circular imports among its modules.
"""

from __future__ import annotations

import networkx as nx

from mge_pipeline.domain import ErrorCategory, LevelIssue, Milestone, Severity
from mge_pipeline.validation.checks.names import calls_to
from mge_pipeline.validation.levels.context import LevelContext, issue
from mge_pipeline.validation.levels.interfaces import arities, import_edges


def milestone_atoms(milestone: Milestone) -> list[str]:
    return [atom.id for task in milestone.tasks for atom in task.atoms]


def milestone_issues(context: LevelContext, milestone: Milestone) -> list[LevelIssue]:
    ids = [a for a in milestone_atoms(milestone) if a in context.codes]
    return _interfaces(context, milestone, ids) + _naming(context, ids) + _cycles(context, ids)


def _interfaces(context: LevelContext, milestone: Milestone, ids: list[str]) -> list[LevelIssue]:
    task_of = {atom.id: task.id for task in milestone.tasks for atom in task.atoms}
    callees = arities(context, ids)
    found: list[LevelIssue] = []
    for caller in ids:
        tree = context.code_tree(caller)
        for name, call in calls_to(tree) if tree else []:
            target = callees.get(name)
            if target is None or task_of.get(target[0]) == task_of[caller]:
                continue
            problem = target[1].mismatch(call)
            if problem:
                message = f"`{caller}` calls `{name}` (task {task_of[target[0]]}) with {problem}"
                found.append(
                    issue(Severity.ERROR, ErrorCategory.TYPE, "interfaces", message, [caller])
                )
    return found


def _naming(context: LevelContext, ids: list[str]) -> list[LevelIssue]:
    functions = [a for a in ids if context.atoms[a].kind.value in ("function", "method")]
    camel = [a for a in functions if any(c.isupper() for c in context.atoms[a].name)]
    if camel and len(camel) < len(functions):
        names = ", ".join(context.atoms[a].name for a in camel)
        message = f"API naming is inconsistent: camelCase ({names}) beside snake_case"
        return [issue(Severity.WARNING, ErrorCategory.CONTEXT, "api_naming", message, camel)]
    return []


def _cycles(context: LevelContext, ids: list[str]) -> list[LevelIssue]:
    graph = nx.DiGraph()
    atoms_of_edge: dict[tuple[str, str], tuple[str, ...]] = {}
    for edge in import_edges(context, ids):
        graph.add_edge(edge.importer, edge.imported)
        atoms_of_edge[(edge.importer, edge.imported)] = edge.atom_ids
    found: list[LevelIssue] = []
    for found_cycle in nx.simple_cycles(graph):
        start = found_cycle.index(min(found_cycle))
        cycle = found_cycle[start:] + found_cycle[:start]
        pairs = list(zip(cycle, [*cycle[1:], cycle[0]], strict=True))
        implicated = [a for pair in pairs for a in atoms_of_edge.get(pair, ())]
        message = "circular import: " + " → ".join([*cycle, cycle[0]])
        found.append(
            issue(
                Severity.ERROR,
                ErrorCategory.DEPENDENCY,
                "circular_dependencies",
                message,
                implicated,
            )
        )
    return found
