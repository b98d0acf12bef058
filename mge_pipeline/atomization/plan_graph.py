"""The typed graph of any masterplan, for ``mge graph``: the plan's own edges, each typed by
what the dependent's code does with the names the dependency defines.

The edges are the plan's (declared or inferred by planning), so the graph is the one the job
runs; a declared edge whose use the code does not show is typed VARIABLE.
"""

from __future__ import annotations

from mge_pipeline.atomization.graph import (
    DependencyGraph,
    DependencyType,
    SymbolNode,
    TypedEdge,
    find_edges,
)
from mge_pipeline.atomization.languages import parse_tree
from mge_pipeline.atomization.symbols import Scope, Use, analyse
from mge_pipeline.atomization.units import UnitKind
from mge_pipeline.domain import AtomKind, AtomSpec, MasterPlan
from mge_pipeline.planning import check_masterplan
from mge_pipeline.planning.symbols import imported_names

_UNIT_KIND = {
    AtomKind.FUNCTION: UnitKind.FUNCTION,
    AtomKind.CLASS: UnitKind.CLASS,
    AtomKind.METHOD: UnitKind.MEMBER,
    AtomKind.BLOCK: UnitKind.STATEMENTS,
}


def plan_dependency_graph(plan: MasterPlan) -> DependencyGraph:
    graph = check_masterplan(plan)
    atoms = plan.atom_map()
    nodes = [_node(atom) for atom in atoms.values()]
    by_id = {node.key: node for node in nodes}
    typed = {(edge.source, edge.target): edge for edge in find_edges(nodes)}
    edges: list[TypedEdge] = []
    for source, target in graph.edges:
        edge = typed.get((source, target)) or _untyped(by_id[source], atoms[target])
        graph.edges[source, target]["edge"] = edge
        edges.append(edge)
    return DependencyGraph(graph, tuple(edges), ())


def _untyped(source: SymbolNode, target: AtomSpec) -> TypedEdge:
    """An edge the code analysis did not find within a file: an import between files when the
    target imports a name the source defines, else a plain VARIABLE dependency."""
    imported = {name for line in target.context.imports for name in imported_names(line)}
    shared = tuple(sorted(source.defines & imported))
    kind = DependencyType.IMPORT if shared else DependencyType.VARIABLE
    return TypedEdge(source.key, target.id, kind, shared, bool(shared))


def _node(atom: AtomSpec) -> SymbolNode:
    code = atom.reference_implementation or atom.signature
    source = code.encode("utf-8")
    tree = parse_tree(source, atom.language)
    scope = Scope.CLASS if atom.kind is AtomKind.METHOD else Scope.MODULE
    table = analyse([tree.root_node], atom.language, (0, code.count("\n") + 1), scope=scope)
    imported = {name for line in atom.context.imports for name in imported_names(line)}
    uses: dict[str, frozenset[str]] = {n: frozenset(k) for n, k in table.uses.items()}
    for name in imported:
        uses.setdefault(name, frozenset({Use.IMPORT_TIME}))
    kind = _UNIT_KIND[atom.kind]
    return SymbolNode(
        key=atom.id,
        file_path=atom.file_path,
        kind=kind,
        name=atom.name,
        defines=frozenset(table.defines | {atom.name})
        if kind is not UnitKind.MEMBER
        else frozenset(),
        uses=uses,
        parent_scope=atom.context.parent_scope,
    )
