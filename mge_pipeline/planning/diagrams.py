"""The dependency graph as a Mermaid diagram, one subgraph per wave, for Dagit and docs."""

from __future__ import annotations

import re

import networkx as nx


def mermaid(
    graph: nx.DiGraph, waves: list[list[str]], *, status: dict[str, str] | None = None
) -> str:
    """``flowchart LR`` with waves as subgraphs; atoms coloured by status when one is given."""
    ids = {node: f"a{index}" for index, node in enumerate(graph.nodes)}
    lines = ["flowchart LR"]
    for index, wave in enumerate(waves):
        lines.append(f"  subgraph wave_{index}[wave {index}]")
        lines += [f'    {ids[atom]}["{_label(atom)}"]' for atom in wave]
        lines.append("  end")
    lines += [f"  {ids[a]} --> {ids[b]}" for a, b in graph.edges]
    if status:
        lines += [
            "  classDef succeeded fill:#d4f7d4;",
            "  classDef cached fill:#e0ecff;",
            "  classDef failed fill:#ffd6d6;",
            "  classDef blocked fill:#eeeeee;",
            "  classDef skipped fill:#fff3c4;",
        ]
        lines += [f"  class {ids[atom]} {state};" for atom, state in status.items() if atom in ids]
    return "\n".join(lines)


def _label(atom_id: str) -> str:
    return re.sub(r'["\[\]]', "_", atom_id)
