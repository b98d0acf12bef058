"""Pydantic models of masterplans and of what running them produces, and the atomicity rule.
No I/O here."""

from mge_pipeline.domain.atomicity import (
    AtomicityCriterion,
    AtomicityReport,
    AtomicityViolation,
    AtomMeasures,
    CriterionSeverity,
    judge_atomicity,
)
from mge_pipeline.domain.evidence import EvidenceKind
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
    MutationOutcome,
    Severity,
    ValidationIssue,
    ValidationVerdict,
    WaveSummary,
)

__all__ = [
    "AtomContext",
    "AtomKind",
    "AtomMeasures",
    "AtomResult",
    "AtomSpec",
    "AtomStatus",
    "AtomicityCriterion",
    "AtomicityReport",
    "AtomicityViolation",
    "AttemptRecord",
    "CriterionSeverity",
    "ErrorCategory",
    "EvidenceKind",
    "ExecutionState",
    "ExecutionStatus",
    "Language",
    "LevelIssue",
    "LevelValidation",
    "MasterPlan",
    "Milestone",
    "MutationOutcome",
    "Phase",
    "Severity",
    "Task",
    "ValidationIssue",
    "ValidationLevel",
    "ValidationVerdict",
    "WaveSummary",
    "judge_atomicity",
]
