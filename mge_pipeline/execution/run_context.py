"""What flows along the spine of a compiled job: the run's settings and its stop reason."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mge_pipeline.execution.retry import RetryPolicy
from mge_pipeline.generation.pricing import ModelPrice, PriceBook
from mge_pipeline.validation.cross_check import CrossCheckMode


class Scheduling(StrEnum):
    """When an atom's LLM call may start."""

    DEPENDENCIES = "dependencies"
    """As soon as its own dependencies are settled: no barrier between waves (the default)."""
    WAVES = "waves"
    """Once the whole previous wave is closed: the seed's barrier, kept to compare against."""


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
    """The run's own model's price, from the run config's input/output price fields."""
    price_overrides: tuple[tuple[str, ModelPrice], ...] = ()
    """Prices per model from the run config; they win over the table."""
    scheduling: Scheduling = Scheduling.DEPENDENCIES
    max_concurrent: int = 100
    """LLM calls in flight; held by the call gate, so atoms waiting on dependencies hold none."""
    use_cache: bool = True
    """Serve atoms whose exact spec validated before from the store; off: generate everything."""
    max_mutants: int = 4
    """Mutants of each validated atom with tests run against its tests; 0: none."""
    repair_rounds: int = 1
    """Rounds of regenerating atoms suspected by failing plan tests (``execution/repair.py``)."""
    cross_check: CrossCheckMode = CrossCheckMode.WEAK
    """Which validated atoms are compared with an independent sample before they settle
    (``validation/cross_check.py``); ``weak`` needs mutation (``max_mutants`` > 0)."""

    submission: str = "realtime"
    """``batch``: calls go out as Message Batches (``generation/batch.py``), at half price."""
    batch_poll_seconds: float = 30.0
    batch_gather_seconds: float = 1.0

    @property
    def batch(self) -> bool:
        return self.submission == "batch"

    def prices(self, model: str) -> PriceBook:
        """The run's price book; ``price_override`` is the price of the run's own model."""
        own = ((model, self.price_override),) if self.price_override else ()
        return PriceBook(overrides=(*self.price_overrides, *own), batch=self.batch)


@dataclass(frozen=True)
class RunContext:
    """What prepare hands every other step: which execution, with which settings.

    The run's stop reason is not carried here: it is shared state (the store, and the settlement
    board in the run worker), since with no wave barrier nothing flows from one wave to the next.
    """

    execution_id: str
    masterplan_id: str
    settings: RunSettings
