"""The atom dependency graph: checks that reject a plan early, and the inferred edges.

Edges point from a dependency to its dependent (``dep → atom``), so topological
generations are the waves in execution order.
"""

from __future__ import annotations

import ast
from collections import Counter, defaultdict

import networkx as nx

from mge_pipeline.domain import AtomKind, AtomSpec, MasterPlan
from mge_pipeline.exceptions import MasterPlanError
from mge_pipeline.planning.symbols import used_names


def check_masterplan(plan: MasterPlan) -> nx.DiGraph:
    """Return the dependency graph, or raise MasterPlanError naming every offending atom."""
    problems = _duplicate_id_problems(plan)
    if problems:
        raise MasterPlanError(problems)
    atoms = plan.atom_map()
    problems = [
        f"atom '{atom.id}' field 'depends_on': unknown atom '{dep}'"
        for atom in atoms.values()
        for dep in atom.depends_on or []
        if dep not in atoms
    ]
    problems += [
        f"atom '{atom.id}' field 'depends_on': an atom cannot depend on itself"
        for atom in atoms.values()
        if atom.id in (atom.depends_on or [])
    ]
    targets = {atom.file_path: atom.id for atom in reversed(list(atoms.values()))}
    problems += [
        f"project_files '{path}': it is also the target file of atom '{targets[path]}'"
        for path in plan.project_files
        if path in targets
    ]
    problems += _task_test_problems(plan)
    if problems:
        raise MasterPlanError(problems)
    graph = build_dependency_graph(plan)
    problems = ["dependency cycle: " + " -> ".join([*cycle, cycle[0]]) for cycle in _cycles(graph)]
    if problems:
        raise MasterPlanError(problems)
    return graph


def _task_test_problems(plan: MasterPlan) -> list[str]:
    """A task's tests run under pytest at the task level: text that does not parse would only
    fail there, after every atom was paid for, so it is refused with the plan."""
    problems = []
    for phase in plan.phases:
        for milestone in phase.milestones:
            for task in milestone.tasks:
                try:
                    ast.parse(task.tests)
                except (SyntaxError, ValueError) as error:
                    line = getattr(error, "lineno", None)
                    why = getattr(error, "msg", None) or str(error)
                    where = f"line {line}: " if line else ""
                    problems.append(
                        f"task '{task.id}' field 'tests': not valid Python: {where}{why}"
                    )
    return problems


def build_dependency_graph(plan: MasterPlan) -> nx.DiGraph:
    """Nodes carry the plan order (``order``) so ties are broken the way authors wrote them."""
    atoms = list(plan.atoms())
    definers = _definers_by_name(atoms)
    graph = nx.DiGraph()
    for order, atom in enumerate(atoms):
        graph.add_node(atom.id, order=order)
    for atom in atoms:
        for dep in resolve_dependencies(atom, definers):
            graph.add_edge(dep, atom.id)
    return graph


def resolve_dependencies(atom: AtomSpec, definers: dict[str, list[AtomSpec]]) -> list[str]:
    """Declared dependencies, or inferred ones; methods always depend on their class."""
    if atom.depends_on is not None:
        deps = list(atom.depends_on)
    else:
        deps = sorted({dep for name in used_names(atom) if (dep := _pick(atom, definers, name))})
    parent = _class_atom(atom, definers)
    if parent and parent not in deps:
        deps.append(parent)
    return deps


def _pick(atom: AtomSpec, definers: dict[str, list[AtomSpec]], name: str) -> str | None:
    candidates = [other for other in definers.get(name, []) if other.id != atom.id]
    same_file = [other for other in candidates if other.file_path == atom.file_path]
    chosen = same_file or candidates
    return chosen[0].id if len(chosen) == 1 else None


def _class_atom(atom: AtomSpec, definers: dict[str, list[AtomSpec]]) -> str | None:
    if atom.kind is not AtomKind.METHOD or not atom.context.parent_scope:
        return None
    owners = [
        other
        for other in definers.get(atom.context.parent_scope, [])
        if other.kind is AtomKind.CLASS and other.file_path == atom.file_path
    ]
    return owners[0].id if owners else None


def _definers_by_name(atoms: list[AtomSpec]) -> dict[str, list[AtomSpec]]:
    definers: dict[str, list[AtomSpec]] = defaultdict(list)
    for atom in atoms:
        if atom.kind is not AtomKind.METHOD:
            definers[atom.name].append(atom)
    return definers


def _duplicate_id_problems(plan: MasterPlan) -> list[str]:
    counts = Counter(atom.id for atom in plan.atoms())
    return [
        f"atom '{atom_id}' field 'id': duplicate id, used {count} times"
        for atom_id, count in sorted(counts.items())
        if count > 1
    ]


def _cycles(graph: nx.DiGraph) -> list[list[str]]:
    """One representative cycle per strongly connected component, so each knot is named once."""
    cycles = []
    for component in nx.strongly_connected_components(graph):
        if len(component) < 2:
            continue
        cycle = nx.find_cycle(graph.subgraph(component))
        cycles.append([edge[0] for edge in cycle])
    return sorted(cycles)
