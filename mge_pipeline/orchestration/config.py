"""Run config: the limits of one run, all visible with their defaults in the Launchpad."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import dagster as dg
from pydantic import Field, ValidationError

from mge_pipeline import constants as c
from mge_pipeline import settings as env
from mge_pipeline.exceptions import RunConfigError
from mge_pipeline.execution import RetryPolicy
from mge_pipeline.execution.run_context import RunContext, RunSettings, Scheduling
from mge_pipeline.generation.pricing import ModelPrice
from mge_pipeline.generation.schedule import AttemptSchedule, AttemptStep, Effort
from mge_pipeline.validation.cross_check import CrossCheckMode


class AttemptStepConfig(dg.Config):
    """One step of the attempt schedule: attempt n uses step n, the last one repeats."""

    model: str = Field(default="", description="Model of this attempt; empty: the run's model.")
    effort: Literal["", "low", "medium", "high", "xhigh", "max"] = Field(
        default="", description="output_config.effort; empty: not sent (the model's default)."
    )
    temperature: float | None = Field(
        default=None,
        description="Sent only to models that accept one; a model that does not is refused.",
    )


class ModelPriceConfig(dg.Config):
    """A price that wins over the built-in table (USD per million tokens)."""

    model: str = Field(description="Model name; dated snapshots of it get the same price.")
    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)
    cache_read_multiplier: float = Field(default=0.1, ge=0, description="Cache read / input.")


class MasterplanRunConfig(dg.Config):
    """Config of the ``prepare`` op; it travels to every atom through the RunContext."""

    budget_usd: float = Field(
        default=c.DEFAULT_BUDGET_USD,
        gt=0,
        description="Cost budget of the run in USD; never exceeded.",
    )
    max_attempts: int = Field(
        default=c.DEFAULT_MAX_ATTEMPTS, ge=1, le=10, description="Generation attempts per atom."
    )
    temperatures: list[float] = Field(
        default=list(c.DEFAULT_TEMPERATURES),
        description="Temperature per attempt; the last value repeats for further attempts.",
    )
    schedule: list[AttemptStepConfig] = Field(
        default=[],
        description=(
            "Model, effort and temperature per attempt (the last step repeats). Empty: the "
            "temperatures above for models that take one (and the simulated model); for the "
            "others claude-haiku-5-5 at low effort, then the run's model at medium, high and "
            "xhigh effort."
        ),
    )
    submission: Literal["realtime", "batch"] = Field(
        default="realtime",
        description=(
            "realtime: one Messages API call per attempt; batch: each round of calls (a wave's "
            "first attempts, then each round of retries) as one Message Batch at half price, "
            "answered within 24 h (usually within the hour). Batch mode lifts max_concurrent "
            "and the per-call timeout, since a call waits for its batch."
        ),
    )
    batch_poll_seconds: float = Field(
        default=30.0, gt=0, description="How often a pending Message Batch is polled."
    )
    batch_gather_seconds: float = Field(
        default=1.0,
        gt=0,
        description="A batch goes out once no new call has arrived for this long.",
    )
    price_overrides: list[ModelPriceConfig] = Field(
        default=[], description="Prices per model that win over the built-in table."
    )
    max_tokens: int = Field(default=c.DEFAULT_MAX_TOKENS, ge=64, description="Output cap per call.")
    attempt_timeout_seconds: float = Field(
        default=c.DEFAULT_ATTEMPT_TIMEOUT_SECONDS,
        gt=0,
        description="Wall-clock limit of one LLM call.",
    )
    max_api_retries: int = Field(
        default=3, ge=0, description="Retries of one call after transport errors, 429 and 5xx."
    )
    validation_timeout_seconds: float = Field(
        default=c.DEFAULT_VALIDATION_TIMEOUT_SECONDS,
        gt=0,
        description="Wall-clock limit of one sandboxed test run.",
    )
    validation_memory_mb: int = Field(
        default=c.DEFAULT_VALIDATION_MEMORY_MB,
        ge=64,
        description="Address-space limit of the sandbox.",
    )
    wave_stop_threshold: float = Field(
        default=c.DEFAULT_WAVE_STOP_THRESHOLD,
        ge=0,
        le=1,
        description="A wave validating a smaller share of its atoms than this stops the run.",
    )
    max_mutants: int = Field(
        default=c.DEFAULT_MAX_MUTANTS,
        ge=0,
        le=20,
        description="Mutants of each validated atom with tests run against its tests (flipped "
        "comparisons, off-by-one constants, swapped operators, removed statements); survivors "
        "are reported and lower confidence. 0 switches mutation testing off.",
    )
    cross_check: Literal["weak", "all", "off"] = Field(
        default=c.DEFAULT_CROSS_CHECK,
        description="Compare a validated function atom with an independent sample of the model "
        "on its tests' calls and their neighbours before it settles; a disagreement brings a "
        "third sample, and an answer the majority disagrees with fails its attempt. weak: atoms "
        "whose tests let a mutant survive (needs max_mutants > 0); all: every tested function "
        "atom; off: none. Each sample is a paid call, within the budget.",
    )
    repair_rounds: int = Field(
        default=c.DEFAULT_REPAIR_ROUNDS,
        ge=0,
        le=5,
        description="When the acceptance tests or the test command fail, rounds of "
        "regenerating the suspected atoms (tracebacks, then called atoms) with the failing "
        "output as feedback, within their attempt and budget limits. 0: none.",
    )
    prompt_caching: bool = Field(
        default=True,
        description="Mark the shared prompt prefix (instructions, project, file) for caching.",
    )
    dependency_token_budget: int = Field(
        default=6000, ge=0, description="Tokens of direct dependencies' code shown in a prompt."
    )
    requests_per_minute: int = Field(
        default=0, ge=0, description="Client-side request rate limit for the run; 0 = none."
    )
    tokens_per_minute: int = Field(
        default=0, ge=0, description="Client-side input-token rate limit for the run; 0 = none."
    )
    input_price_per_mtok: float = Field(
        default=0.0, ge=0, description="Override of the model's input price (USD/Mtok); 0 = table."
    )
    output_price_per_mtok: float = Field(
        default=0.0, ge=0, description="Override of the model's output price (USD/Mtok); 0 = table."
    )
    output_dir: str = Field(
        default="",
        description="Where files and reports go; empty means $MGE_OUTPUT_DIR/<masterplan id>.",
    )
    max_concurrent: int = Field(
        default=c.DEFAULT_MAX_CONCURRENT,
        ge=1,
        description=(
            "LLM calls in flight at once. Atoms waiting for their dependencies hold no slot; "
            "leave the executor's own max_concurrent unset."
        ),
    )
    scheduling: Literal["dependencies", "waves"] = Field(
        default="dependencies",
        description=(
            "dependencies: an atom's call starts once its own dependencies are settled; "
            "waves: once the whole previous wave is closed (the seed's barrier)."
        ),
    )
    use_cache: bool = Field(
        default=True,
        description=(
            "Serve atoms whose exact spec validated before (in any run) from the store; "
            "off (`mge run --fresh`): every atom is generated."
        ),
    )
    resume_execution: str = Field(
        default="",
        description=(
            "Continue this paused, cancelled or failed execution (same id, same budget, "
            "validated atoms not generated again) instead of opening a new one; `mge resume`."
        ),
    )


@dataclass(frozen=True)
class WaveStart:
    run: RunContext
    wave_index: int
    started_at: float
    """Wall-clock seconds (``time.time``): the close may run in another process."""


def run_context_from(run_config: Mapping[str, Any], run_id: str, masterplan_id: str) -> RunContext:
    """The run's context, derived from its run config alone.

    Every step can rebuild it — the atom steps carry no value from the fan-out, only their
    mapping key — and ``prepare`` uses the same function, so all agree on it.
    """
    prepare = ((run_config.get("ops") or {}).get("prepare") or {}).get("config") or {}
    config = MasterplanRunConfig(**prepare)
    output_dir = config.output_dir or str(env.output_root() / masterplan_id)
    settings = settings_from_config(config, str(Path(output_dir).resolve()))
    execution_id = config.resume_execution or run_id
    return RunContext(execution_id=execution_id, masterplan_id=masterplan_id, settings=settings)


def settings_from_config(config: MasterplanRunConfig, output_dir: str) -> RunSettings:
    return RunSettings(
        budget_usd=config.budget_usd,
        policy=RetryPolicy(
            max_attempts=config.max_attempts,
            temperatures=tuple(config.temperatures) or c.DEFAULT_TEMPERATURES,
            max_api_retries=config.max_api_retries,
            attempt_timeout_seconds=_call_timeout(config),
            max_tokens=config.max_tokens,
            schedule=schedule_from_config(config),
        ),
        validation_timeout_seconds=config.validation_timeout_seconds,
        validation_memory_mb=config.validation_memory_mb,
        wave_stop_threshold=config.wave_stop_threshold,
        max_mutants=config.max_mutants,
        repair_rounds=config.repair_rounds,
        cross_check=CrossCheckMode(config.cross_check),
        output_dir=output_dir,
        prompt_caching=config.prompt_caching,
        dependency_token_budget=config.dependency_token_budget,
        requests_per_minute=config.requests_per_minute or None,
        tokens_per_minute=config.tokens_per_minute or None,
        price_override=_price_override(config),
        price_overrides=tuple(
            (p.model, ModelPrice(p.input_per_mtok, p.output_per_mtok, p.cache_read_multiplier))
            for p in config.price_overrides
        ),
        scheduling=Scheduling(config.scheduling),
        max_concurrent=BATCH_MAX_REQUESTS
        if config.submission == "batch"
        else config.max_concurrent,
        submission=config.submission,
        batch_poll_seconds=config.batch_poll_seconds,
        batch_gather_seconds=config.batch_gather_seconds,
        use_cache=config.use_cache,
    )


# A Message Batch holds up to 100,000 requests and ends within 24 hours (else it expires).
BATCH_MAX_REQUESTS = 100_000
BATCH_EXPIRY_SECONDS = 24 * 3600.0


def _call_timeout(config: MasterplanRunConfig) -> float:
    """In batch mode a call waits for its batch: up to its expiry, plus a poll."""
    if config.submission == "batch":
        return BATCH_EXPIRY_SECONDS + 2 * config.batch_poll_seconds
    return config.attempt_timeout_seconds


def schedule_from_config(config: MasterplanRunConfig) -> AttemptSchedule | None:
    if not config.schedule:
        return None
    steps = tuple(
        AttemptStep(step.model or None, _effort(step.effort), step.temperature)
        for step in config.schedule
    )
    return AttemptSchedule(steps)


def _effort(value: str) -> Effort | None:
    return value or None  # type: ignore[return-value]


def _price_override(config: MasterplanRunConfig) -> ModelPrice | None:
    if not (config.input_price_per_mtok or config.output_price_per_mtok):
        return None
    return ModelPrice(config.input_price_per_mtok, config.output_price_per_mtok)


def default_run_config(**prepare: Any) -> dict[str, Any]:
    """The full run config with defaults; passing all of it means nothing is left unlimited.

    The executor gets no ``max_concurrent``: every atom step may start, and the limit of LLM
    calls in flight is ``prepare``'s ``max_concurrent``, held by the run's call gate.
    """
    problems = run_config_problems({"ops": {"prepare": {"config": prepare}}})
    if problems:
        raise RunConfigError(problems)
    return {"ops": {"prepare": {"config": MasterplanRunConfig(**prepare).model_dump()}}}


def run_config_problems(run_config: Mapping[str, Any]) -> list[str]:
    """One line per invalid field of ``prepare``'s config, named by its run-config path.

    Dagster's config schema knows the fields' types and defaults but not their ranges
    (``budget_usd > 0``); this checks the rest, so a run is refused when it is launched
    instead of failing in ``prepare`` (orchestration/run_coordinator.py, ``mge run``).
    """
    prepare = ((run_config.get("ops") or {}).get("prepare") or {}).get("config") or {}
    try:
        MasterplanRunConfig(**prepare)
    except ValidationError as exc:
        return [
            "ops.prepare.config."
            + ".".join(str(part) for part in error["loc"])
            + f": {error['msg']} (got {error.get('input')!r})"
            for error in exc.errors()
        ]
    return []
