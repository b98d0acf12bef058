"""Pydantic models of masterplans and of what running them produces. No I/O here."""

from mge_pipeline.domain.levels import LevelIssue, LevelValidation, ValidationLevel
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
    Severity,
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
    "LevelIssue",
    "LevelValidation",
    "MasterPlan",
    "Milestone",
    "Phase",
    "Severity",
    "Task",
    "ValidationIssue",
    "ValidationLevel",
    "ValidationVerdict",
    "WaveSummary",
]
