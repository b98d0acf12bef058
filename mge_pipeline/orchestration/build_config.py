"""Run config of the build jobs and the values that flow between their ops.

``BuildConfig`` is the ``discover`` op's config (every limit visible in the Launchpad); it
becomes ``BuildSettings``, which travels with the discovery document, the outline, each
task's decomposition and finally the assembled plan, so no op reads the run config again.
"""

from dataclasses import dataclass
from typing import Any, Literal

import dagster as dg
from pydantic import Field

from mge_pipeline import constants as c
from mge_pipeline.design import StageSettings
from mge_pipeline.domain import Language, MasterPlan
from mge_pipeline.domain.design import Discovery, PlanOutline, TaskDecomposition
from mge_pipeline.execution.retry import RetryPolicy
from mge_pipeline.orchestration.config import MasterplanRunConfig

PLAN_JOB = "plan_from_request_job"
BUILD_JOB = "build_from_request_job"


class BuildConfig(dg.Config):
    """Config of ``discover``; it travels to every later op with the discovery document."""

    request: str = Field(description="What to build, in a person's words.")
    plan_path: str = Field(description="Where the masterplan (YAML) is written.")
    language: Literal["", "python", "typescript", "javascript"] = Field(
        default="", description="The implementation language; empty: the model chooses."
    )
    budget_usd: float = Field(
        default=c.DEFAULT_BUDGET_USD,
        gt=0,
        description="Budget of the whole build: planning first, generation gets what is left.",
    )
    max_answers: int = Field(
        default=c.DEFAULT_MAX_ATTEMPTS, ge=1, le=10, description="Answers per planning stage."
    )
    max_tokens: int = Field(default=8192, ge=256, description="Output cap of a planning call.")
    effort: Literal["", "low", "medium", "high", "xhigh", "max"] = Field(
        default="", description="output_config.effort of planning calls; empty: not sent."
    )
    max_concurrent: int = Field(
        default=c.DEFAULT_MAX_CONCURRENT, ge=1, description="Planning calls in flight."
    )


@dataclass(frozen=True)
class BuildSettings:
    request: str
    plan_path: str
    language: Language | None
    budget_usd: float
    stage: StageSettings
    max_concurrent: int


@dataclass(frozen=True)
class Discovered:
    settings: BuildSettings
    discovery: Discovery


@dataclass(frozen=True)
class Outlined:
    settings: BuildSettings
    discovery: Discovery
    outline: PlanOutline


@dataclass(frozen=True)
class Decomposed:
    task_id: str
    decomposition: TaskDecomposition


@dataclass(frozen=True)
class BuiltPlan:
    plan: MasterPlan
    plan_path: str
    planning_cost_usd: float
    budget_usd: float


def build_settings(config: BuildConfig) -> BuildSettings:
    return BuildSettings(
        request=config.request,
        plan_path=config.plan_path,
        language=Language(config.language) if config.language else None,
        budget_usd=config.budget_usd,
        stage=StageSettings(
            model="",
            max_tokens=config.max_tokens,
            effort=config.effort or None,
            max_answers=config.max_answers,
            policy=RetryPolicy(),
        ),
        max_concurrent=config.max_concurrent,
    )


def build_run_config(
    build: dict[str, Any], generation: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run config of a build job: ``discover``'s, and ``generate``'s when it generates."""
    ops: dict[str, Any] = {"discover": {"config": BuildConfig(**build).model_dump()}}
    if generation is not None:
        ops["generate"] = {"config": MasterplanRunConfig(**generation).model_dump()}
    return {"ops": ops}
