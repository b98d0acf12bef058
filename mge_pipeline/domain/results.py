"""What execution produces: attempts, atom results, wave summaries and the execution state."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from mge_pipeline.domain.evidence import EvidenceKind


class ErrorCategory(StrEnum):
    """Why an attempt failed; the retry prompt's guidance is chosen by category."""

    SYNTAX = "syntax"
    IMPORT = "import"
    TYPE = "type"
    LOGIC = "logic"
    RUNTIME = "runtime"
    TIMEOUT = "timeout"
    DEPENDENCY = "dependency"
    CONTEXT = "context"
    NO_CODE = "no_code"
    API = "api"
    BUDGET = "budget"
    SAFETY = "safety"
    UNAVAILABLE = "unavailable"


class Severity(StrEnum):
    """Errors fail the attempt (or the level); warnings are reported and never block."""

    ERROR = "error"
    WARNING = "warning"


class AtomStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    CACHED = "cached"
    FAILED = "failed"
    BLOCKED = "blocked"
    SKIPPED = "skipped"


class ExecutionStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class ValidationIssue(_Record):
    category: ErrorCategory
    message: str
    line: int | None = None
    severity: Severity = Severity.ERROR
    check: str | None = Field(
        default=None, description="The check that found it: syntax, semantics, atomicity, …"
    )


class ValidationVerdict(_Record):
    passed: bool
    issues: list[ValidationIssue] = Field(default_factory=list)
    duration_seconds: float = 0.0
    warnings: list[ValidationIssue] = Field(
        default_factory=list, description="Findings reported only; they never fail an attempt."
    )
    evidence: tuple[EvidenceKind, ...] = Field(
        default=(), description="The behavioural checks the code passed; empty when none ran."
    )

    @property
    def category(self) -> ErrorCategory | None:
        return self.issues[0].category if self.issues else None


class AttemptRecord(_Record):
    """One generation attempt. When its answer was cross-checked (``validation/cross_check.py``),
    the independent samples' calls are part of it: their cost, tokens and API retries are
    added to the attempt's, and a warning line says what they showed. They never count as
    attempts of their own."""

    atom_id: str
    attempt_number: int = Field(ge=1)
    temperature: float | None = Field(
        default=None, description="None when the model takes no temperature (not sent)."
    )
    model: str = Field(default="", description="The model that answered (or was asked).")
    effort: str | None = Field(default=None, description="output_config.effort, if sent.")
    prompt_tokens: int = 0
    response_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    cost_without_cache_usd: float = 0.0
    duration_seconds: float = 0.0
    api_retries: int = 0
    passed: bool = False
    error_category: ErrorCategory | None = None
    errors: list[str] = Field(default_factory=list)
    code: str | None = None
    auto_fixes: list[str] = Field(
        default_factory=list,
        description="Deterministic repairs applied to the answer before it was validated.",
    )
    warnings: list[str] = Field(
        default_factory=list, description="Validation findings that did not fail the attempt."
    )


class MutationOutcome(_Record):
    """How the atom's tests fared against small mutants of its validated code."""

    tested: int = Field(default=0, ge=0, description="Mutants run against the atom's tests.")
    survivors: list[str] = Field(
        default_factory=list,
        description="Mutants the tests did not catch, each described as the change and its line.",
    )

    @property
    def killed(self) -> int:
        return self.tested - len(self.survivors)


class AtomResult(_Record):
    atom_id: str
    status: AtomStatus
    code: str | None = None
    attempts: list[AttemptRecord] = Field(default_factory=list)
    reason: str | None = None
    evidence: tuple[EvidenceKind, ...] = Field(
        default=(),
        description="Behavioural evidence the validated code passed; empty: validated by static "
        "checks and import only, never called verified.",
    )
    mutation: MutationOutcome | None = Field(
        default=None, description="Mutation testing of the atom's tests; None when not run."
    )

    @property
    def verified(self) -> bool:
        """Validated *and* seen to behave right by at least one behavioural check."""
        return self.ok and bool(self.evidence)

    @property
    def cost_usd(self) -> float:
        return sum(attempt.cost_usd for attempt in self.attempts)

    @property
    def ok(self) -> bool:
        return self.status in (AtomStatus.SUCCEEDED, AtomStatus.CACHED)


class WaveSummary(_Record):
    wave_index: int
    atoms_total: int
    succeeded: int
    cached: int
    failed: int
    blocked: int
    skipped: int
    attempts: int
    cost_usd: float
    duration_seconds: float

    @property
    def success_rate(self) -> float:
        """Share of the wave's atoms that ended validated (cached counts as validated)."""
        return (self.succeeded + self.cached) / self.atoms_total if self.atoms_total else 1.0


class ExecutionState(_Record):
    """The spec's state schema: one row per run, readable while the run goes on."""

    execution_id: str
    masterplan_id: str
    status: ExecutionStatus
    current_wave: int = 0
    total_waves: int
    atoms_completed: int = 0
    atoms_total: int
    atoms_succeeded: int = 0
    atoms_verified: int = Field(
        default=0, description="Validated atoms with behavioural evidence (verified precision)."
    )
    atoms_failed: int = 0
    total_cost_usd: float = 0.0
    total_time_seconds: float = 0.0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    provider: str | None = None
    reason: str | None = None
