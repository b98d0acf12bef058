"""What flows along the spine of a compiled job: the run's settings and its stop reason."""

from __future__ import annotations

from dataclasses import dataclass

from mge_pipeline.execution.retry import RetryPolicy


@dataclass(frozen=True)
class RunSettings:
    """The run config as plain data, picklable between ops."""

    budget_usd: float
    policy: RetryPolicy
    validation_timeout_seconds: float
    validation_memory_mb: int
    wave_stop_threshold: float
    output_dir: str


@dataclass(frozen=True)
class RunContext:
    """What flows along the spine of the job: prepare → wave closes → finalize."""

    execution_id: str
    masterplan_id: str
    settings: RunSettings
    stop_reason: str | None = None
