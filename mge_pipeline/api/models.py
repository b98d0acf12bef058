"""Request and response bodies of the HTTP API, as pydantic models (they are the OpenAPI
document's schemas). Responses reuse the domain's models where one exists
(``ExecutionState``, ``WaveSummary``, ``AttemptRecord``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from mge_pipeline.domain import AttemptRecord, ExecutionState, WaveSummary

__all__ = [
    "AtomView",
    "AtomizeRequest",
    "AtomizeResponse",
    "BulkCreateRequest",
    "BulkCreateResponse",
    "DecisionRequest",
    "DecisionView",
    "DependencyGraphView",
    "EditRequest",
    "EntryDetail",
    "EntryView",
    "ExecutionStarted",
    "FindingView",
    "LifecycleAnswer",
    "MetricsView",
    "ProgressView",
    "SourceFile",
    "StartExecutionRequest",
    "ValidateAtomRequest",
    "ValidationView",
    "WaveView",
    "WavesView",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- execution -----------------------------------------------------------------------------


class StartExecutionRequest(_Body):
    masterplan_id: str = Field(min_length=1, description="A masterplan in the store.")
    budget_usd: float | None = Field(default=None, gt=0, description="Default: run config's.")
    output_dir: str | None = Field(default=None, description="Default: $MGE_OUTPUT_DIR/<plan>.")
    fresh: bool = Field(default=False, description="Serve nothing from the cache.")


class ExecutionStarted(BaseModel):
    execution_id: str = Field(description="The execution's id (the Dagster run id).")
    run_id: str
    masterplan_id: str
    job_name: str


class LifecycleAnswer(BaseModel):
    execution_id: str
    requested: str = Field(description="cancel, pause or resume")
    run_ids: list[str] = Field(description="The Dagster runs the request went to (or started).")
    message: str


class ProgressView(BaseModel):
    execution_id: str
    status: str
    current_wave: int
    total_waves: int
    atoms_total: int
    atoms_settled: int
    atoms_succeeded: int
    atoms_failed: int
    percent: float = Field(description="Settled atoms as a share of all atoms, 0-100.")
    by_status: dict[str, int]


class AtomView(BaseModel):
    execution_id: str
    atom_id: str
    wave_index: int
    status: str
    spec_hash: str
    code: str | None
    cost_usd: float
    reason: str | None
    attempts: list[AttemptRecord]


class WaveView(BaseModel):
    execution_id: str
    wave_index: int
    atoms: dict[str, str] = Field(description="Atom id → its status in this execution.")
    summary: WaveSummary | None = Field(description="Set once the wave has closed.")


class MetricsView(BaseModel):
    execution_id: str
    state: ExecutionState
    precision_percent: float
    attempts: int
    first_try_success_rate: float
    retry_rate: float
    cost_usd: float
    budget_usd: float
    budget_used_ratio: float
    cost_per_validated_atom_usd: float | None
    tokens: dict[str, int]
    failures_by_category: dict[str, int]


# -- review --------------------------------------------------------------------------------


class EntryView(BaseModel):
    entry_id: int
    masterplan_id: str
    execution_id: str
    atom_id: str
    atom_status: str
    status: str
    priority: int
    confidence: float
    confidence_level: str
    reasons: list[str]
    assignee: str | None
    feedback: str | None
    decided_by: str | None
    decided_at: datetime | None
    applied_execution_id: str | None
    version: int
    created_at: datetime | None


class FindingView(BaseModel):
    rule: str
    line: int
    message: str
    before: str
    after: str


class DecisionView(BaseModel):
    action: str
    reviewer: str
    from_status: str
    to_status: str
    feedback: str | None
    decided_at: datetime | None


class EntryDetail(BaseModel):
    entry: EntryView
    language: str
    signature: str | None
    description: str | None
    tests: str | None
    spec_problem: str | None = Field(description="Why the spec cannot be shown, if it cannot.")
    code: str | None
    previous_attempt: int | None
    previous_code: str | None
    diff: list[str] = Field(description="Unified diff previous attempt → code under review.")
    validation_errors: list[str]
    validation_warnings: list[str]
    findings: list[FindingView]
    attempts: list[AttemptRecord]
    decisions: list[DecisionView]


class DecisionRequest(_Body):
    feedback: str | None = Field(
        default=None, description="Required for reject and regenerate: what is wrong."
    )


class EditRequest(_Body):
    code: str = Field(min_length=1, description="The corrected code, validated like an attempt.")
    feedback: str | None = None


class BulkCreateRequest(_Body):
    execution_id: str = Field(min_length=1)
    percent: float = Field(ge=0, le=100, description="Bottom share of validated atoms, 0-100.")


class BulkCreateResponse(BaseModel):
    execution_id: str
    masterplan_id: str
    entry_ids: list[int]


# -- atomization, dependencies, validation -------------------------------------------------


class SourceFile(_Body):
    path: str = Field(min_length=1, description="Path in the plan, e.g. pkg/util.py")
    content: str


class AtomizeRequest(_Body):
    files: list[SourceFile] = Field(min_length=1)
    masterplan_id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    test_command: list[str] = Field(default_factory=list)
    store: bool = Field(default=False, description="Also store the plan (status draft).")


class AtomizeResponse(BaseModel):
    masterplan_id: str
    atoms: int
    skipped: list[str]
    removed_edges: list[str]
    statistics: dict[str, str]
    masterplan: dict[str, object]
    stored: bool


class DependencyGraphView(BaseModel):
    masterplan_id: str
    nodes: list[str]
    edges: list[dict[str, str]] = Field(description="{source, target, type} per dependency.")
    statistics: dict[str, str]


class WavesView(BaseModel):
    masterplan_id: str
    waves: list[list[str]]
    statistics: dict[str, str]


class ValidateAtomRequest(_Body):
    masterplan_id: str = Field(min_length=1)
    atom_id: str = Field(min_length=1)
    code: str = Field(min_length=1)


class ValidationView(BaseModel):
    masterplan_id: str
    atom_id: str
    passed: bool
    issues: list[dict[str, object]]
    warnings: list[dict[str, object]]
