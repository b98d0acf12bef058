"""From a masterplan to an execution plan: loading, dependency graph, waves, statistics."""

from mge_pipeline.planning.graph import build_dependency_graph, check_masterplan
from mge_pipeline.planning.loader import load_masterplan, masterplan_from_document, parse_masterplan
from mge_pipeline.planning.waves import PlanStatistics, compute_waves, plan_statistics

__all__ = [
    "PlanStatistics",
    "build_dependency_graph",
    "check_masterplan",
    "compute_waves",
    "load_masterplan",
    "masterplan_from_document",
    "parse_masterplan",
    "plan_statistics",
]
