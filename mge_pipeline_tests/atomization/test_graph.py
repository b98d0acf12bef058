"""The typed dependency graph: the five types, members on headers, cycles, statistics, export."""

from __future__ import annotations

import networkx as nx
import pytest

from mge_pipeline.atomization.atomizer import AtomizedFile
from mge_pipeline.atomization.export import to_dot, to_mermaid
from mge_pipeline.atomization.graph import (
    DependencyGraph,
    DependencyType,
    SymbolNode,
    build_graph,
    graph_statistics,
)
from mge_pipeline.atomization.units import UnitKind
from mge_pipeline_tests.atomization.helpers import atomize


def graph_of(*files: AtomizedFile) -> DependencyGraph:
    nodes = [
        SymbolNode(
            key=f"{file.relative}:{unit.name}",
            file_path=file.relative,
            kind=unit.kind,
            name=unit.name,
            defines=unit.defines,
            uses=unit.uses,
            parent_scope=unit.parent_scope,
        )
        for file in files
        for unit in file.decomposition.units
    ]
    return build_graph(nodes)


def edge_types(typed: DependencyGraph) -> dict[tuple[str, str], DependencyType]:
    return {
        (s.split(":")[1], t.split(":")[1]): data["edge"].type
        for s, t, data in typed.graph.edges(data=True)
    }


@pytest.mark.parametrize(
    ("source", "edge", "expected"),
    [
        pytest.param(
            "import os\n\n\ndef f():\n    return os.sep\n",
            ("imports_1", "f"),
            DependencyType.IMPORT,
            id="import",
        ),
        pytest.param(
            "def g():\n    return 1\n\n\ndef f():\n    return g()\n",
            ("g", "f"),
            DependencyType.FUNCTION_CALL,
            id="function-call",
        ),
        pytest.param(
            "LIMIT = 3\n\n\ndef f():\n    return LIMIT\n",
            ("LIMIT", "f"),
            DependencyType.VARIABLE,
            id="variable",
        ),
        pytest.param(
            "class P:\n    pass\n\n\ndef f(p: P) -> None:\n    return None\n",
            ("P", "f"),
            DependencyType.TYPE,
            id="type",
        ),
        pytest.param(
            "BASE = 10\n\n\ndef f():\n    pass\n\n\nDOUBLE = BASE * 2\n",
            ("BASE", "DOUBLE"),
            DependencyType.DATA_FLOW,
            id="data-flow",
        ),
        pytest.param(
            "interface Shape { area(): number }\n"
            "function total(s: Shape[]): number { return 0; }\n",
            ("Shape", "total"),
            DependencyType.TYPE,
            id="typescript-type",
        ),
    ],
)
def test_each_dependency_type(source: str, edge: tuple[str, str], expected: DependencyType) -> None:
    name = "mod.ts" if "interface" in source else "mod.py"
    assert edge_types(graph_of(atomize(source, name)))[edge] is expected


def test_methods_depend_on_their_class_header() -> None:
    methods = "".join(f"    def m{i}(self):\n        return {i}\n\n" for i in range(8))
    typed = graph_of(atomize(f"class A:\n    x = 1\n\n{methods}"))
    types = edge_types(typed)
    assert all(types[("A", f"m{i}")] is DependencyType.TYPE for i in range(8))


def test_imports_between_files_link_to_the_definition() -> None:
    from mge_pipeline.atomization.plan import build_masterplan

    lib = atomize("def helper():\n    return 1\n", "pkg/lib.py")
    app = atomize(
        "from pkg.lib import helper\n\n\ndef main():\n    return helper()\n", "pkg/app.py"
    )
    plan = build_masterplan([lib, app], plan_id="p", name="p")
    edge = plan.graph.graph.edges["pkg.lib.helper", "pkg.app.main"]["edge"]
    assert edge.type is DependencyType.IMPORT
    assert plan.plan.atom_map()["pkg.app.main"].context.imports == ["from pkg.lib import helper"]


def test_mutual_recursion_is_broken_and_the_removed_edge_named() -> None:
    source = (
        "def is_even(n):\n    return True if n == 0 else is_odd(n - 1)\n\n\n"
        "def is_odd(n):\n    return False if n == 0 else is_even(n - 1)\n"
    )
    typed = graph_of(atomize(source))
    assert nx.is_directed_acyclic_graph(typed.graph)
    assert [edge.describe() for edge in typed.removed] == [
        "mod.py:is_even -> mod.py:is_odd (FUNCTION_CALL: is_odd)"
    ]


def test_cycle_breaking_cuts_run_time_edges_before_load_time_ones() -> None:
    source = (
        "def make():\n    return Thing()\n\n\n"
        "@make\ndef decorated():\n    pass\n\n\n"
        "class Thing:\n    def go(self):\n        return decorated\n"
    )
    typed = graph_of(atomize(source))
    assert [(e.source, e.target, e.load_time) for e in typed.removed] == [
        ("mod.py:Thing", "mod.py:make", False)
    ]


def test_the_removed_set_is_minimal() -> None:
    """Three functions in a ring plus a chord: one edge is enough, and only one is removed."""
    source = (
        "def a():\n    return b()\n\n\ndef b():\n    return c()\n\n\n"
        "def c():\n    return a() + b()\n"
    )
    typed = graph_of(atomize(source))
    assert len(typed.removed) == 1
    graph = typed.graph.copy()
    edge = typed.removed[0]
    graph.add_edge(edge.source, edge.target)
    assert not nx.is_directed_acyclic_graph(graph)


def test_statistics() -> None:
    source = (
        "X = 1\n\n\ndef f():\n    return X\n\n\ndef g():\n    return f()\n\n\n"
        "def lonely():\n    return 0\n"
    )
    stats = graph_statistics(graph_of(atomize(source)))
    assert (stats.atoms, stats.edges, stats.waves, stats.max_parallelism) == (4, 2, 3, 2)
    assert [node.split(":")[1] for node in stats.critical_path] == ["X", "f", "g"]
    assert [node.split(":")[1] for node in stats.isolated] == ["lonely"]
    assert stats.edges_by_type["FUNCTION_CALL"] == 1 and stats.edges_by_type["VARIABLE"] == 1
    assert ("isolated atoms", "1") in stats.as_rows()


def test_dot_and_mermaid_show_typed_and_removed_edges() -> None:
    source = (
        "def a():\n    return b()\n\n\ndef b():\n    return a()\n\n\n"
        "LIMIT = 2\n\n\ndef c():\n    return LIMIT\n"
    )
    typed = graph_of(atomize(source))
    dot = to_dot(typed, name="demo")
    assert dot.startswith('digraph "demo" {')
    assert '"mod.py:LIMIT" -> "mod.py:c" [label="VARIABLE", style=dashed];' in dot
    assert 'label="FUNCTION_CALL (removed)", color=red' in dot
    mermaid = to_mermaid(typed)
    assert mermaid.startswith("flowchart LR\n")
    assert "-->|VARIABLE|" in mermaid and "-.->|FUNCTION_CALL removed|" in mermaid


def test_a_member_never_defines_a_module_name() -> None:
    methods = "".join(f"    def helper{i}(self):\n        return {i}\n\n" for i in range(8))
    file = atomize(f"class A:\n    x = 1\n\n{methods}\ndef helper0():\n    return A()\n")
    members = [u for u in file.decomposition.units if u.kind is UnitKind.MEMBER]
    types = edge_types(graph_of(file))
    assert members and ("helper0", "helper0") not in types
