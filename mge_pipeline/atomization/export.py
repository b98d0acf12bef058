"""The dependency graph as Graphviz DOT and as Mermaid, edges labelled with their type."""

from __future__ import annotations

import re

from mge_pipeline.atomization.graph import DependencyGraph, TypedEdge

_STYLE = {
    "IMPORT": "dotted",
    "FUNCTION_CALL": "solid",
    "VARIABLE": "dashed",
    "TYPE": "bold",
    "DATA_FLOW": "solid",
}


def to_dot(typed: DependencyGraph, *, name: str = "atoms") -> str:
    lines = [f"digraph {_quote(name)} {{", "  rankdir=LR;", "  node [shape=box];"]
    lines += [f"  {_quote(node)};" for node in typed.graph.nodes]
    for source, target, data in typed.graph.edges(data=True):
        label = _label(data.get("edge"))
        style = _STYLE.get(label, "solid")
        lines.append(
            f"  {_quote(source)} -> {_quote(target)} [label={_quote(label)}, style={style}];"
        )
    for edge in typed.removed:
        lines.append(
            f"  {_quote(edge.source)} -> {_quote(edge.target)} "
            f"[label={_quote(edge.type.value + ' (removed)')}, color=red, style=dashed];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(typed: DependencyGraph) -> str:
    ids = {node: f"n{index}" for index, node in enumerate(typed.graph.nodes)}
    lines = ["flowchart LR"]
    lines += [f'  {ids[node]}["{_mermaid_text(node)}"]' for node in typed.graph.nodes]
    for source, target, data in typed.graph.edges(data=True):
        lines.append(f"  {ids[source]} -->|{_label(data.get('edge'))}| {ids[target]}")
    for edge in typed.removed:
        lines.append(f"  {ids[edge.source]} -.->|{edge.type.value} removed| {ids[edge.target]}")
    return "\n".join(lines) + "\n"


def _label(edge: object) -> str:
    return edge.type.value if isinstance(edge, TypedEdge) else "DEPENDS"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mermaid_text(text: str) -> str:
    return re.sub(r'["<>{}|]', "_", text)
