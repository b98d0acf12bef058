"""What the store hands back: frozen records and enums, never raw rows.

Rows as ``dict[str, Any]`` broke silently whenever a column changed; these records make a
renamed column a type error at the one place that builds them (``store/repository.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from mge_pipeline.domain.evidence import EvidenceKind
from mge_pipeline.domain.results import AtomStatus, ExecutionStatus, MutationOutcome


class MasterplanStatus(StrEnum):
    """Where a stored masterplan stands; ``ready`` is what the sensor launches."""

    DRAFT = "draft"
    READY = "ready"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PAUSED = "paused"


@dataclass(frozen=True)
class Reservation:
    """Budget held for one call in flight; settled with the call's real cost."""

    reservation_id: str
    amount_usd: float


@dataclass(frozen=True)
class MasterplanRecord:
    masterplan_id: str
    revision: str
    name: str
    status: MasterplanStatus
    source: str | None
    updated_at: datetime | None


@dataclass(frozen=True)
class AtomResultRecord:
    """The settled outcome of one atom in one execution."""

    atom_id: str
    wave_index: int
    spec_hash: str
    status: AtomStatus
    code: str | None
    attempt_count: int
    cost_usd: float
    reason: str | None
    evidence: tuple[EvidenceKind, ...] = ()
    mutation: MutationOutcome | None = None

    @property
    def validated(self) -> bool:
        return self.status in (AtomStatus.SUCCEEDED, AtomStatus.CACHED)

    @property
    def verified(self) -> bool:
        """Validated with behavioural evidence; an atom checked only statically is not."""
        return self.validated and bool(self.evidence)


@dataclass(frozen=True)
class CachedAtom:
    """Validated code stored for a spec hash, with the evidence it passed when validated."""

    code: str
    evidence: tuple[EvidenceKind, ...] = ()
    mutation: MutationOutcome | None = None


@dataclass(frozen=True)
class ExecutionInfo:
    """One execution's row: identity, budget columns and where its output goes."""

    execution_id: str
    masterplan_id: str
    revision: str
    status: ExecutionStatus
    budget_usd: float
    spent_usd: float
    reserved_usd: float
    provider: str | None
    model: str | None
    output_dir: str
    stop_reason: str | None
    reason: str | None
