"""Run config: the limits of one run, all visible with their defaults in the Launchpad."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import dagster as dg
from pydantic import Field

from mge_pipeline import constants as c
from mge_pipeline import settings as env
from mge_pipeline.execution import RetryPolicy
from mge_pipeline.execution.run_context import RunContext, RunSettings, Scheduling
from mge_pipeline.generation.pricing import ModelPrice


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
            attempt_timeout_seconds=config.attempt_timeout_seconds,
            max_tokens=config.max_tokens,
        ),
        validation_timeout_seconds=config.validation_timeout_seconds,
        validation_memory_mb=config.validation_memory_mb,
        wave_stop_threshold=config.wave_stop_threshold,
        output_dir=output_dir,
        prompt_caching=config.prompt_caching,
        dependency_token_budget=config.dependency_token_budget,
        requests_per_minute=config.requests_per_minute or None,
        tokens_per_minute=config.tokens_per_minute or None,
        price_override=_price_override(config),
        scheduling=Scheduling(config.scheduling),
        max_concurrent=config.max_concurrent,
    )


def _price_override(config: MasterplanRunConfig) -> ModelPrice | None:
    if not (config.input_price_per_mtok or config.output_price_per_mtok):
        return None
    return ModelPrice(config.input_price_per_mtok, config.output_price_per_mtok)


def default_run_config(**prepare: Any) -> dict[str, Any]:
    """The full run config with defaults; passing all of it means nothing is left unlimited.

    The executor gets no ``max_concurrent``: every atom step may start, and the limit of LLM
    calls in flight is ``prepare``'s ``max_concurrent``, held by the run's call gate.
    """
    return {"ops": {"prepare": {"config": MasterplanRunConfig(**prepare).model_dump()}}}
