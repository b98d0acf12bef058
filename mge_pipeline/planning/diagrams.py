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


MAX_LISTED = 6


def dependency_table(
    graph: nx.DiGraph, waves: list[list[str]], *, status: dict[str, str] | None = None
) -> str:
    """The graph as a Markdown table Dagit renders: one row per atom, wave by wave.

    Dagit shows Mermaid source as raw text; a table reads at any size. Long dependency lists
    are cut to ``MAX_LISTED`` ids and a count, so an 800-atom run stays scannable.
    """
    lines = [
        "| wave | atom | status | depends on | needed by |",
        "|---|---|---|---|---|",
    ]
    for index, wave in enumerate(waves):
        for atom in wave:
            state = (status or {}).get(atom, "-")
            shown = f"**{state}**" if state in ("failed", "blocked", "skipped") else state
            lines.append(
                f"| {index} | {_cell(atom)} | {shown} | "
                f"{_listed(sorted(graph.predecessors(atom)))} | "
                f"{_listed(sorted(graph.successors(atom)))} |"
            )
    return "\n".join(lines)


def _listed(atoms: list[str]) -> str:
    if not atoms:
        return "-"
    more = f" +{len(atoms) - MAX_LISTED} more" if len(atoms) > MAX_LISTED else ""
    return ", ".join(_cell(a) for a in atoms[:MAX_LISTED]) + more


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
