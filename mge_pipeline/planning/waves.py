"""Waves: the dependency levels of the graph, each one a fan-out in the compiled job."""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx


def compute_waves(graph: nx.DiGraph) -> list[list[str]]:
    """Topological generations, each sorted in plan order for stable job graphs and reports."""
    order = nx.get_node_attributes(graph, "order")
    return [
        sorted(generation, key=lambda atom_id: order.get(atom_id, 0))
        for generation in nx.topological_generations(graph)
    ]


@dataclass(frozen=True)
class PlanStatistics:
    atoms: int
    edges: int
    waves: int
    max_wave_width: int
    critical_path_length: int
    theoretical_parallelism: float

    def as_rows(self) -> list[tuple[str, str]]:
        return [
            ("atoms", str(self.atoms)),
            ("dependencies", str(self.edges)),
            ("waves", str(self.waves)),
            ("max wave width", str(self.max_wave_width)),
            ("critical path (atoms)", str(self.critical_path_length)),
            ("theoretical parallelism", f"{self.theoretical_parallelism:.2f}"),
        ]


def plan_statistics(graph: nx.DiGraph) -> PlanStatistics:
    """Critical path counts atoms on the longest chain; parallelism = atoms / critical path."""
    waves = compute_waves(graph)
    critical = len(nx.dag_longest_path(graph)) if graph.number_of_nodes() else 0
    atoms = graph.number_of_nodes()
    return PlanStatistics(
        atoms=atoms,
        edges=graph.number_of_edges(),
        waves=len(waves),
        max_wave_width=max((len(wave) for wave in waves), default=0),
        critical_path_length=critical,
        theoretical_parallelism=atoms / critical if critical else 0.0,
    )
