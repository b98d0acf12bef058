"""Hierarchical validation: what the task, milestone and masterplan levels found.

Atoms are checked one by one while they are generated; these records say whether the atoms
fit together once a level is done, and name the atoms a finding implicates so that they can
be regenerated.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from mge_pipeline.domain.results import ErrorCategory, Severity


class ValidationLevel(StrEnum):
    TASK = "task"
    MILESTONE = "milestone"
    MASTERPLAN = "masterplan"


class LevelIssue(BaseModel):
    model_config = ConfigDict(frozen=True)

    severity: Severity
    category: ErrorCategory
    check: str = Field(description="The level check that found it, e.g. 'integration'.")
    message: str
    atom_ids: list[str] = Field(default_factory=list, description="The atoms it implicates.")


class LevelValidation(BaseModel):
    """One level's verdict: passed when it found no error; the score also counts warnings."""

    model_config = ConfigDict(frozen=True)

    level: ValidationLevel
    scope_id: str = Field(description="The task, milestone or masterplan id.")
    score: float = Field(ge=0.0, le=1.0)
    passed: bool
    issues: list[LevelIssue] = Field(default_factory=list)
    duration_seconds: float = 0.0

    @property
    def implicated_atoms(self) -> list[str]:
        """Atoms named by the level's errors, in first-seen order."""
        seen: dict[str, None] = {}
        for issue in self.issues:
            if issue.severity is Severity.ERROR:
                seen.update(dict.fromkeys(issue.atom_ids))
        return list(seen)
