"""Pydantic models of masterplans and of what running them produces. No I/O here."""

from mge_pipeline.domain.masterplan import (
    AtomContext,
    AtomKind,
    AtomSpec,
    Language,
    MasterPlan,
    Milestone,
    Phase,
    Task,
)
from mge_pipeline.domain.results import (
    AtomResult,
    AtomStatus,
    AttemptRecord,
    ErrorCategory,
    ExecutionState,
    ExecutionStatus,
    ValidationIssue,
    ValidationVerdict,
    WaveSummary,
)

__all__ = [
    "AtomContext",
    "AtomKind",
    "AtomResult",
    "AtomSpec",
    "AtomStatus",
    "AttemptRecord",
    "ErrorCategory",
    "ExecutionState",
    "ExecutionStatus",
    "Language",
    "MasterPlan",
    "Milestone",
    "Phase",
    "Task",
    "ValidationIssue",
    "ValidationVerdict",
    "WaveSummary",
]
