"""The three planning stages as plain async functions: discover, plan, decompose.

Each stage is one conversation shaped like an atom's retry loop (``execution/retry.py``):
ask → validate → feed the problems back → ask again, up to ``max_answers`` answers. An answer
is validated twice: against the stage's pydantic schema (sent as structured output, but the
API cannot enforce every constraint) and against the plan's rules (``design/checks.py``).
Every call goes through the same machinery as generation: the cost guard reserves the worst
case before it and settles the billed cost after it, the call gate bounds calls in flight and
slows down after a 429, and transient API errors are retried with backoff without spending
an answer. Nothing here imports Dagster; ``orchestration/build.py`` wraps each stage in an op.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import anthropic
from anthropic.types import MessageParam
from pydantic import BaseModel, ValidationError

from mge_pipeline.design.checks import decomposition_problems, outline_problems
from mge_pipeline.design.prompts import (
    CHECK_FEEDBACK_PROMPT,
    DECOMPOSITION_SYSTEM,
    DISCOVERY_SYSTEM,
    PLANNING_SYSTEM,
    decomposition_prompt,
    discovery_prompt,
    planning_prompt,
)
from mge_pipeline.domain import Language
from mge_pipeline.domain.design import Discovery, PlannedTask, PlanOutline, TaskDecomposition
from mge_pipeline.exceptions import MgeError, ProviderFatalError
from mge_pipeline.execution.budget import CostGuard
from mge_pipeline.execution.retry import RetryPolicy
from mge_pipeline.generation.anthropic_provider import translate_error
from mge_pipeline.generation.pricing import ModelPrice, estimate_tokens, worst_case_cost
from mge_pipeline.generation.rate_limit import CallGate
from mge_pipeline.generation.structured import (
    REPAIR_PROMPT,
    StructuredUsage,
    add_usage,
    answer_text,
    output_config_for,
    validation_problems,
)

T = TypeVar("T", bound=BaseModel)

CUT_OFF_PROBLEM = "- the answer was cut off at max_tokens; answer with a shorter JSON object"


class PlanningError(MgeError):
    """A stage's answers never passed their checks; ``problems`` are the last answer's."""

    def __init__(self, stage: str, problems: list[str], usage: StructuredUsage) -> None:
        self.stage, self.problems, self.usage = stage, problems, usage
        super().__init__(
            f"{stage}: no answer passed its checks in {usage.calls} answers: "
            + "; ".join(p.removeprefix("- ") for p in problems)
        )


@dataclass(frozen=True)
class StageSettings:
    """The planning calls' limits; the policy's API-retry and backoff figures are generation's."""

    model: str
    max_tokens: int = 8192
    effort: str | None = None
    max_answers: int = 4
    """Answers per stage, the first included: as many as an atom's generation attempts."""
    policy: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass
class PlanningServices:
    """What every stage of one build shares: the client, the budget, the gate, the prices."""

    client: anthropic.AsyncAnthropic
    guard: CostGuard
    price: ModelPrice
    settings: StageSettings
    gate: CallGate | None = None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rng: random.Random = field(default_factory=lambda: random.Random(0))


@dataclass(frozen=True)
class StageResult(Generic[T]):
    value: T
    usage: StructuredUsage
    rejected: tuple[tuple[str, ...], ...] = ()
    """The problems of every answer that was sent back, in order."""


async def discover(
    services: PlanningServices, request: str, language: Language | None = None
) -> StageResult[Discovery]:
    """The request as a discovery document; a language the user named must be kept."""

    def check(discovery: Discovery) -> list[str]:
        if language is not None and discovery.language is not language:
            return [f"- language: the request asks for {language.value}"]
        return []

    prompt = discovery_prompt(request, language.value if language else None)
    return await ask_checked(
        services, Discovery, stage="discovery", system=DISCOVERY_SYSTEM, prompt=prompt, check=check
    )


async def plan_outline(
    services: PlanningServices, discovery: Discovery
) -> StageResult[PlanOutline]:
    def check(outline: PlanOutline) -> list[str]:
        return [f"- {p}" for p in outline_problems(outline, discovery.language, discovery.package)]

    return await ask_checked(
        services,
        PlanOutline,
        stage="planning",
        system=PLANNING_SYSTEM,
        prompt=planning_prompt(discovery),
        check=check,
    )


async def decompose(
    services: PlanningServices, discovery: Discovery, outline: PlanOutline, task: PlannedTask
) -> StageResult[TaskDecomposition]:
    provided = {t.id: t.provides for t in outline.tasks()}

    def check(decomposition: TaskDecomposition) -> list[str]:
        found = decomposition_problems(task, decomposition, provided, discovery.language)
        return [f"- {p}" for p in found]

    return await ask_checked(
        services,
        TaskDecomposition,
        stage=f"decomposition of task '{task.id}'",
        system=DECOMPOSITION_SYSTEM,
        prompt=decomposition_prompt(discovery, outline, task),
        check=check,
    )


async def ask_checked(
    services: PlanningServices,
    schema: type[T],
    *,
    stage: str,
    system: str,
    prompt: str,
    check: Callable[[T], list[str]],
) -> StageResult[T]:
    """Answers until one validates against ``schema`` and passes ``check``; else PlanningError."""
    messages: list[MessageParam] = [{"role": "user", "content": prompt}]
    usage = StructuredUsage()
    rejected: list[tuple[str, ...]] = []
    problems: list[str] = []
    for _ in range(services.settings.max_answers):
        message = await _call(services, schema, stage, system, messages)
        usage = add_usage(usage, message.usage, services.price)
        text = answer_text(message)
        value, problems, template = _judge(schema, text, message.stop_reason, check)
        if value is not None:
            return StageResult(value, usage, tuple(rejected))
        rejected.append(tuple(problems))
        messages += [
            {"role": "assistant", "content": text or "(empty)"},
            {"role": "user", "content": template.format(problems="\n".join(problems))},
        ]
    raise PlanningError(stage, problems, usage)


def _judge(
    schema: type[T], text: str, stop_reason: str | None, check: Callable[[T], list[str]]
) -> tuple[T | None, list[str], str]:
    """The accepted value, or the problems and the feedback template that names them."""
    if stop_reason == "max_tokens":
        return None, [CUT_OFF_PROBLEM], REPAIR_PROMPT
    try:
        value = schema.model_validate_json(text)
    except ValidationError as exc:
        return None, validation_problems(exc), REPAIR_PROMPT
    problems = check(value)
    return (None if problems else value), problems, CHECK_FEEDBACK_PROMPT


async def _call(
    services: PlanningServices,
    schema: type[BaseModel],
    stage: str,
    system: str,
    messages: Sequence[MessageParam],
) -> Any:
    """One answer: reserve the worst case, call through the gate with API retries, settle."""
    settings = services.settings
    output_config = output_config_for(schema, settings.model, settings.effort)
    prompt_tokens = estimate_tokens(system + json.dumps(output_config) + json.dumps(messages))
    worst = worst_case_cost(
        services.price, prompt_tokens=prompt_tokens, max_tokens=settings.max_tokens
    )
    reservation = await services.guard.reserve(atom_id=stage, amount_usd=worst)
    billed = 0.0
    try:
        message = await _with_api_retries(services, system, messages, output_config, prompt_tokens)
        billed = add_usage(StructuredUsage(), message.usage, services.price).cost_usd
        return message
    finally:
        await services.guard.settle(reservation, actual_usd=billed)


async def _with_api_retries(
    services: PlanningServices,
    system: str,
    messages: Sequence[MessageParam],
    output_config: Any,
    prompt_tokens: int,
) -> Any:
    policy = services.settings.policy
    for retry in range(policy.max_api_retries + 1):
        slot: AbstractAsyncContextManager[None] = (
            services.gate.call_slot(prompt_tokens) if services.gate else nullcontext()
        )
        try:
            async with slot:
                message = await services.client.messages.create(
                    model=services.settings.model,
                    max_tokens=services.settings.max_tokens,
                    system=system,
                    messages=list(messages),
                    output_config=output_config,
                )
        except anthropic.APIError as exc:
            error = translate_error(exc)
            if isinstance(error, ProviderFatalError) and services.gate is not None:
                services.gate.failed_for_good(error)  # the other stages' calls stop too
            if isinstance(error, ProviderFatalError) or retry == policy.max_api_retries:
                raise error from exc
            if services.gate is not None and error.rate_limited:
                services.gate.rate_limited(error.retry_after)
            await services.sleep(policy.backoff_seconds(retry, services.rng, error.retry_after))
            continue
        if services.gate is not None:
            services.gate.succeeded()
        return message
    raise AssertionError("unreachable: the last retry raises")
