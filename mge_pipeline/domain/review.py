"""What the review queue hands back: entries and the decisions recorded on them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ReviewStatus(StrEnum):
    PENDING = "pending"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    EDITED = "edited"
    REGENERATING = "regenerating"


class ReviewAction(StrEnum):
    ASSIGN = "assign"
    APPROVE = "approve"
    REJECT = "reject"
    EDIT = "edit"
    REGENERATE = "regenerate"


OPEN = (ReviewStatus.PENDING, ReviewStatus.IN_REVIEW)
# Decisions the pipeline still has to carry out: a run serves the edit or regenerates the atom.
NEEDS_RUN = (ReviewStatus.EDITED, ReviewStatus.REGENERATING)


@dataclass(frozen=True)
class ReviewEntry:
    entry_id: int
    masterplan_id: str
    execution_id: str
    atom_id: str
    spec_hash: str
    atom_status: str
    status: str
    priority: int
    confidence: float
    confidence_level: str
    reasons: list[str]
    assignee: str | None
    feedback: str | None
    code: str | None
    decided_by: str | None
    decided_at: datetime | None
    applied_execution_id: str | None
    version: int
    created_at: datetime | None
    updated_at: datetime | None


@dataclass(frozen=True)
class ReviewDecision:
    entry_id: int
    action: str
    reviewer: str
    from_status: str
    to_status: str
    feedback: str | None
    decided_at: datetime | None


@dataclass(frozen=True)
class NewReviewEntry:
    """An atom the queue should hold after a run, with its score."""

    atom_id: str
    spec_hash: str
    atom_status: str
    priority: int
    confidence: float
    confidence_level: str
    reasons: list[str]


@dataclass(frozen=True)
class ReviewStatistics:
    masterplan_id: str
    total: int
    by_status: dict[str, int]
    by_level: dict[str, int]
    mean_confidence: float | None
