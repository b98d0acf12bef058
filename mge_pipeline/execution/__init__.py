"""Running atoms: the retry loop, the cost guard, wave decisions, assembly and reports."""

from mge_pipeline.domain.records import Reservation
from mge_pipeline.execution.assembly import assemble_files, files_for_atom
from mge_pipeline.execution.budget import CostGuard, InMemoryCostGuard
from mge_pipeline.execution.plan_bundle import PlanBundle, bundle_masterplan
from mge_pipeline.execution.retry import AtomJob, RetryPolicy, run_atom

__all__ = [
    "AtomJob",
    "CostGuard",
    "InMemoryCostGuard",
    "PlanBundle",
    "Reservation",
    "RetryPolicy",
    "assemble_files",
    "bundle_masterplan",
    "files_for_atom",
    "run_atom",
]
