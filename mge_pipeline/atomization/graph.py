"""The typed dependency graph of atomized code, with cycles broken and reported.

Each node says which names it defines and how it uses others; an edge ``dep → user`` exists
when a name the user uses is defined by the dep (the nearest definition in the same file, or,
through an import, the definition in another file of the plan). Its type is the strongest way
the name is used: IMPORT (the dep is an import), FUNCTION_CALL, TYPE (annotations, base
classes), DATA_FLOW (the user's value is computed from the dep while the module loads),
VARIABLE (read when the user runs). Members also depend on their class header (TYPE).

Real code is full of mutual recursion, so cycles are broken rather than rejected: a feedback
arc set from the Eades–Lin–Smyth ordering heuristic, with load-time edges ten times as costly
to cut as run-time ones, then made minimal by restoring every removed edge that closes no
cycle. The atom on the cut side is generated from the other's signature only.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import networkx as nx

from mge_pipeline.atomization.symbols import Use
from mge_pipeline.atomization.units import UnitKind

LOAD_TIME_WEIGHT = 10


class DependencyType(StrEnum):
    IMPORT = "IMPORT"
    FUNCTION_CALL = "FUNCTION_CALL"
    VARIABLE = "VARIABLE"
    TYPE = "TYPE"
    DATA_FLOW = "DATA_FLOW"


@dataclass(frozen=True)
class SymbolNode:
    """What the graph needs to know about an atom; ``imported`` maps a bound name to the
    (file path, original name) it comes from, when that file is part of the plan."""

    key: str
    file_path: str
    kind: UnitKind
    name: str
    defines: frozenset[str]
    uses: Mapping[str, frozenset[str]]
    parent_scope: str | None = None
    imported: Mapping[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class TypedEdge:
    source: str
    target: str
    type: DependencyType
    names: tuple[str, ...]
    load_time: bool

    def describe(self) -> str:
        return f"{self.target} -> {self.source} ({self.type.value}: {', '.join(self.names)})"


@dataclass(frozen=True)
class DependencyGraph:
    graph: nx.DiGraph
    edges: tuple[TypedEdge, ...]
    removed: tuple[TypedEdge, ...]

    def dependencies_of(self, key: str) -> list[str]:
        return list(self.graph.predecessors(key))


def build_graph(nodes: Sequence[SymbolNode]) -> DependencyGraph:
    """Typed edges between ``nodes`` (in plan order), cycles broken."""
    graph = nx.DiGraph()
    for order, node in enumerate(nodes):
        graph.add_node(node.key, order=order)
    edges = find_edges(nodes)
    for edge in edges:
        graph.add_edge(edge.source, edge.target, edge=edge)
    removed = break_cycles(graph)
    return DependencyGraph(graph, tuple(edges), tuple(removed))


def find_edges(nodes: Sequence[SymbolNode]) -> list[TypedEdge]:
    position = {node.key: index for index, node in enumerate(nodes)}
    definers: dict[tuple[str, str], list[SymbolNode]] = defaultdict(list)
    headers: dict[tuple[str, str], list[SymbolNode]] = defaultdict(list)
    for node in nodes:
        if node.kind is UnitKind.MEMBER:
            continue
        for name in node.defines:
            definers[(node.file_path, name)].append(node)
        if node.kind in {UnitKind.CLASS_HEADER, UnitKind.CLASS}:
            headers[(node.file_path, node.name)].append(node)
    found: dict[tuple[str, str], list[tuple[str, DependencyType, bool]]] = defaultdict(list)
    for user in nodes:
        for name, kinds in user.uses.items():
            for dep, dep_type in _deps_for(user, name, kinds, definers, position):
                found[(dep.key, user.key)].append((name, dep_type, Use.IMPORT_TIME in kinds))
        if user.kind is UnitKind.MEMBER and user.parent_scope:
            header = _nearest(headers.get((user.file_path, user.parent_scope), []), user, position)
            if header is not None:
                found[(header.key, user.key)].append((user.parent_scope, DependencyType.TYPE, True))
    return [_merge(source, target, uses) for (source, target), uses in found.items()]


def _deps_for(
    user: SymbolNode,
    name: str,
    kinds: frozenset[str],
    definers: Mapping[tuple[str, str], list[SymbolNode]],
    position: Mapping[str, int],
) -> Iterable[tuple[SymbolNode, DependencyType]]:
    dep = _nearest(definers.get((user.file_path, name), []), user, position)
    if dep is None or dep.key == user.key:
        return []
    found = [(dep, _classify(dep, kinds))]
    origin = dep.imported.get(name)
    if dep.kind is UnitKind.IMPORTS and origin is not None:
        remote = _nearest(definers.get(origin, []), user, position)
        if remote is not None and remote.key != user.key:
            found.append((remote, DependencyType.IMPORT))
    return found


def _nearest(
    candidates: list[SymbolNode], user: SymbolNode, position: Mapping[str, int]
) -> SymbolNode | None:
    """The last definition before the user, else the first after it (a forward reference)."""
    if not candidates:
        return None
    mine = position[user.key]
    before = [c for c in candidates if position[c.key] < mine]
    return before[-1] if before else candidates[0]


def _classify(dep: SymbolNode, kinds: frozenset[str]) -> DependencyType:
    if dep.kind is UnitKind.IMPORTS:
        return DependencyType.IMPORT
    if Use.CALL in kinds:
        return DependencyType.FUNCTION_CALL
    if Use.TYPE in kinds:
        return DependencyType.TYPE
    if Use.IMPORT_TIME in kinds:
        return DependencyType.DATA_FLOW
    return DependencyType.VARIABLE


_ORDER = [
    DependencyType.IMPORT,
    DependencyType.FUNCTION_CALL,
    DependencyType.TYPE,
    DependencyType.DATA_FLOW,
    DependencyType.VARIABLE,
]


def merge_edges(edges: Sequence[TypedEdge]) -> TypedEdge:
    """Several edges between the same two atoms as one, typed by the strongest."""
    types = {edge.type for edge in edges}
    primary = next(dep_type for dep_type in _ORDER if dep_type in types)
    names = tuple(sorted({name for edge in edges for name in edge.names}))
    first = edges[0]
    return TypedEdge(first.source, first.target, primary, names, any(e.load_time for e in edges))


def _merge(source: str, target: str, uses: list[tuple[str, DependencyType, bool]]) -> TypedEdge:
    types = {dep_type for _, dep_type, _ in uses}
    primary = next(dep_type for dep_type in _ORDER if dep_type in types)
    names = tuple(sorted({name for name, _, _ in uses}))
    return TypedEdge(source, target, primary, names, any(load for _, _, load in uses))


def _weight(graph: nx.DiGraph, source: str, target: str) -> int:
    edge: TypedEdge | None = graph.edges[source, target].get("edge")
    return LOAD_TIME_WEIGHT if edge is not None and edge.load_time else 1


def break_cycles(graph: nx.DiGraph) -> list[TypedEdge]:
    """Remove a minimal feedback arc set from ``graph`` in place; return the removed edges."""
    order = nx.get_node_attributes(graph, "order")
    cut: list[tuple[str, str, dict[str, object]]] = []
    for component in nx.strongly_connected_components(graph):
        if len(component) < 2:
            continue
        ranking = _eades_lin_smyth(graph.subgraph(component), order)
        rank = {node: index for index, node in enumerate(ranking)}
        for source, target in list(graph.subgraph(component).edges):
            if rank[source] > rank[target]:
                cut.append((source, target, dict(graph.edges[source, target])))
    graph.remove_edges_from([(source, target) for source, target, _ in cut])
    removed: list[TypedEdge] = []
    for source, target, data in sorted(cut, key=lambda c: (-_cost(c[2]), order[c[1]])):
        if nx.has_path(graph, target, source):
            edge = data.get("edge")
            removed.append(
                edge
                if isinstance(edge, TypedEdge)
                else TypedEdge(source, target, DependencyType.VARIABLE, (), False)
            )
        else:
            graph.add_edge(source, target, **data)
    return sorted(removed, key=lambda e: (order[e.target], order[e.source]))


def _cost(data: Mapping[str, object]) -> int:
    edge = data.get("edge")
    return LOAD_TIME_WEIGHT if isinstance(edge, TypedEdge) and edge.load_time else 1


def _eades_lin_smyth(graph: nx.DiGraph, order: Mapping[str, int]) -> list[str]:
    """An ordering with few (weighted) backward edges: sinks last, sources first, otherwise
    the node with the largest out-minus-in weight; ties go to plan order."""
    remaining = nx.DiGraph(graph)
    front: list[str] = []
    back: list[str] = []
    while remaining.number_of_nodes():
        changed = True
        while changed:
            changed = False
            sinks = sorted(
                (n for n in remaining if remaining.out_degree(n) == 0),
                key=lambda n: order.get(n, 0),
            )
            for sink in reversed(sinks):
                back.insert(0, sink)
                remaining.remove_node(sink)
                changed = True
            sources = sorted(
                (n for n in remaining if remaining.in_degree(n) == 0), key=lambda n: order.get(n, 0)
            )
            for source in sources:
                front.append(source)
                remaining.remove_node(source)
                changed = True
        if not remaining.number_of_nodes():
            break
        best = max(
            remaining,
            key=lambda n: (
                sum(_weight(remaining, n, t) for t in remaining.successors(n))
                - sum(_weight(remaining, s, n) for s in remaining.predecessors(n)),
                -order.get(n, 0),
            ),
        )
        front.append(best)
        remaining.remove_node(best)
    return front + back


@dataclass(frozen=True)
class GraphStatistics:
    atoms: int
    edges: int
    edges_by_type: dict[str, int]
    removed_edges: int
    waves: int
    critical_path: tuple[str, ...]
    max_parallelism: int
    isolated: tuple[str, ...]

    def as_rows(self) -> list[tuple[str, str]]:
        rows = [("atoms", str(self.atoms)), ("edges", str(self.edges))]
        rows += [(f"  {name}", str(count)) for name, count in self.edges_by_type.items()]
        rows += [
            ("edges removed to break cycles", str(self.removed_edges)),
            ("waves", str(self.waves)),
            ("critical path (atoms)", str(len(self.critical_path))),
            ("max parallelism (widest wave)", str(self.max_parallelism)),
            ("isolated atoms", str(len(self.isolated))),
        ]
        return rows


def graph_statistics(typed: DependencyGraph) -> GraphStatistics:
    graph = typed.graph
    types = Counter(
        data["edge"].type.value for _, _, data in graph.edges(data=True) if "edge" in data
    )
    waves = list(nx.topological_generations(graph)) if graph.number_of_nodes() else []
    return GraphStatistics(
        atoms=graph.number_of_nodes(),
        edges=graph.number_of_edges(),
        edges_by_type={t.value: types.get(t.value, 0) for t in DependencyType},
        removed_edges=len(typed.removed),
        waves=len(waves),
        critical_path=tuple(nx.dag_longest_path(graph)) if graph.number_of_nodes() else (),
        max_parallelism=max((len(wave) for wave in waves), default=0),
        isolated=tuple(node for node in graph if graph.degree(node) == 0),
    )
