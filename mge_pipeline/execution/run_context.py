"""What flows along the spine of a compiled job: the run's settings and its stop reason."""

from __future__ import annotations

from dataclasses import dataclass

from mge_pipeline.execution.retry import RetryPolicy
from mge_pipeline.generation.pricing import ModelPrice


@dataclass(frozen=True)
class RunSettings:
    """The run config as plain data, picklable between ops."""

    budget_usd: float
    policy: RetryPolicy
    validation_timeout_seconds: float
    validation_memory_mb: int
    wave_stop_threshold: float
    output_dir: str
    prompt_caching: bool = True
    dependency_token_budget: int = 6000
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    price_override: ModelPrice | None = None


@dataclass(frozen=True)
class RunContext:
    """What flows along the spine of the job: prepare → wave closes → finalize."""

    execution_id: str
    masterplan_id: str
    settings: RunSettings
    stop_reason: str | None = None
