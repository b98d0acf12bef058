"""JSON answers validated against a pydantic model: the SDK's schema support plus repair.

The schema goes to the API as ``output_config.format`` (``anthropic.transform_schema`` makes it
acceptable to the API), so the model decodes within it. The API cannot enforce everything a
pydantic model says (numeric bounds, lengths, patterns and custom validators are moved into
descriptions or dropped), so the answer is validated here, and an invalid one goes back to the
model with one line per problem for a corrected answer, up to ``max_repairs`` times. Every call
is counted, failed ones too, so the cost shown is the cost billed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anthropic
from anthropic.types import MessageParam, OutputConfigParam
from pydantic import BaseModel, ValidationError

from mge_pipeline.exceptions import MgeError
from mge_pipeline.generation.anthropic_provider import translate_error
from mge_pipeline.generation.pricing import ModelPrice, call_cost, price_for
from mge_pipeline.generation.schedule import accepts_effort

T = TypeVar("T", bound=BaseModel)

REPAIR_PROMPT = (
    "Your JSON answer does not validate:\n{problems}\n"
    "Answer again with the whole corrected JSON object and nothing else."
)


@dataclass(frozen=True)
class StructuredUsage:
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True)
class StructuredAnswer(Generic[T]):
    value: T
    usage: StructuredUsage


class StructuredOutputError(MgeError):
    """No answer validated after the repairs; ``problems`` are the last answer's, one a line."""

    def __init__(self, problems: list[str], usage: StructuredUsage) -> None:
        self.problems = problems
        self.usage = usage
        super().__init__(f"no valid JSON after {usage.calls} answers: " + "; ".join(problems))


async def ask_structured(
    client: anthropic.AsyncAnthropic,
    schema: type[T],
    *,
    model: str,
    prompt: str,
    system: str = "",
    max_tokens: int = 4096,
    effort: str | None = None,
    max_repairs: int = 2,
    price: ModelPrice | None = None,
) -> StructuredAnswer[T]:
    """Ask for one JSON object of ``schema``; repair an invalid answer with its problems."""
    messages: list[MessageParam] = [{"role": "user", "content": prompt}]
    output_config = output_config_for(schema, model, effort)
    usage = StructuredUsage()
    price = price or price_for(model)
    problems: list[str] = []
    for _ in range(max_repairs + 1):
        try:
            message = await client.messages.create(
                model=model,
                max_tokens=max_tokens,
                system=system or anthropic.omit,
                messages=messages,
                output_config=output_config,
            )
        except anthropic.APIError as exc:
            raise translate_error(exc) from exc
        usage = add_usage(usage, message.usage, price)
        text = answer_text(message)
        try:
            return StructuredAnswer(schema.model_validate_json(text), usage)
        except ValidationError as exc:
            problems = validation_problems(exc)
        messages += [
            {"role": "assistant", "content": text or "(empty)"},
            {"role": "user", "content": REPAIR_PROMPT.format(problems="\n".join(problems))},
        ]
    raise StructuredOutputError(problems, usage)


def output_config_for(
    schema: type[BaseModel], model: str, effort: str | None = None
) -> OutputConfigParam:
    """The schema as the API takes it, and the effort when the model has one."""
    output_config: OutputConfigParam = {
        "format": {"type": "json_schema", "schema": anthropic.transform_schema(schema)}
    }
    if effort is not None and accepts_effort(model):
        output_config["effort"] = effort  # type: ignore[typeddict-item]
    return output_config


def answer_text(message: Any) -> str:
    """The text blocks of an answer, joined (thinking and other blocks left out)."""
    return "".join(b.text for b in message.content if isinstance(b, anthropic.types.TextBlock))


def validation_problems(exc: ValidationError) -> list[str]:
    """One line per problem, naming the field: ``items.2.count: Input should be >= 0``."""
    lines = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "(the whole answer)"
        lines.append(f"- {where}: {error['msg']}")
    return lines


def add_usage(usage: StructuredUsage, billed: Any, price: ModelPrice) -> StructuredUsage:
    """``usage`` plus one call as the API billed it, at ``price``."""
    cache_read = getattr(billed, "cache_read_input_tokens", 0) or 0
    cache_write = getattr(billed, "cache_creation_input_tokens", 0) or 0
    cost = call_cost(
        price,
        input_tokens=billed.input_tokens,
        output_tokens=billed.output_tokens,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
    )
    return StructuredUsage(
        calls=usage.calls + 1,
        input_tokens=usage.input_tokens + billed.input_tokens,
        output_tokens=usage.output_tokens + billed.output_tokens,
        cache_read_tokens=usage.cache_read_tokens + cache_read,
        cache_write_tokens=usage.cache_write_tokens + cache_write,
        cost_usd=usage.cost_usd + cost,
    )
