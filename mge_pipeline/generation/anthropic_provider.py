"""The Anthropic provider over the official SDK's AsyncAnthropic client.

Temperature: SDK 1.x dropped ``temperature`` from ``messages.create`` and the newest model
families (Opus 4.7+, the 5-series) reject it with a 400, so it travels in ``extra_body`` and
only to models that still accept it; for the others the attempt schedule varies the model and
the effort (``output_config.effort``, sent only to models that have it) instead.

Retry layering: the SDK's own retries are turned off (``max_retries=0``) and every transient
error is raised as ``ProviderError`` carrying ``retry-after``, so the retry orchestrator is the
one place that backs off. Stacking both layers would multiply waits and hide 429s from the run.
"""

from __future__ import annotations

from typing import Any

import anthropic
from anthropic.types import TextBlockParam

from mge_pipeline.exceptions import ProviderError, ProviderFatalError
from mge_pipeline.generation.prompts import PromptBlock
from mge_pipeline.generation.provider import GenerationRequest, GenerationResponse
from mge_pipeline.generation.retries import parse_retry_after, should_retry
from mge_pipeline.generation.schedule import accepts_effort, accepts_temperature

__all__ = ["AnthropicProvider", "accepts_temperature", "translate_error"]

_SPEND_LIMIT_MARKERS = ("spend limit", "credit balance", "billing")


class AnthropicProvider:
    name = "anthropic"

    def __init__(
        self,
        *,
        api_key: str | None,
        model: str,
        base_url: str | None = None,
        timeout_seconds: float = 120.0,
    ) -> None:
        self.model = model
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout_seconds
        )

    async def generate(self, request: GenerationRequest) -> GenerationResponse:
        model = request.model or self.model
        try:
            message = await self._client.messages.create(
                model=model,
                max_tokens=request.max_tokens,
                system=[_system_block(block) for block in request.system_blocks],
                messages=[{"role": "user", "content": request.prompt}],
                **request_options(model, request),
            )
        except anthropic.APIError as exc:
            raise translate_error(exc) from exc
        except ValueError as exc:  # a 200 whose body is not JSON escapes the SDK as-is
            raise ProviderError(f"malformed response body, will retry: {exc}") from exc
        return to_response(message, model)

    @property
    def client(self) -> anthropic.AsyncAnthropic:
        return self._client

    async def aclose(self) -> None:
        await self._client.close()


def _system_block(block: PromptBlock, cache_ttl: str | None = None) -> TextBlockParam:
    if block.cache and cache_ttl == "1h":
        control: Any = {"type": "ephemeral", "ttl": "1h"}
        return {"type": "text", "text": block.text, "cache_control": control}
    if block.cache:
        return {"type": "text", "text": block.text, "cache_control": {"type": "ephemeral"}}
    return {"type": "text", "text": block.text}


def message_params(
    model: str, request: GenerationRequest, cache_ttl: str | None = None
) -> dict[str, Any]:
    """The request as one Message Batch entry's ``params``: the same fields a call sends."""
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": request.max_tokens,
        "system": [_system_block(block, cache_ttl) for block in request.system_blocks],
        "messages": [{"role": "user", "content": request.prompt}],
    }
    options = request_options(model, request)
    params.update(options.get("extra_body", {}))
    if "output_config" in options:
        params["output_config"] = options["output_config"]
    return params


def request_options(model: str, request: GenerationRequest) -> dict[str, Any]:
    """Temperature and effort, each only to a model that accepts it (else the API says 400)."""
    options: dict[str, Any] = {}
    if request.temperature is not None and accepts_temperature(model):
        options["extra_body"] = {"temperature": request.temperature}
    if request.effort is not None and accepts_effort(model):
        options["output_config"] = {"effort": request.effort}
    return options


def translate_error(exc: anthropic.APIError) -> ProviderError:
    """Map SDK errors onto retryable vs fatal with ``should_retry``; the message says why."""
    if isinstance(exc, anthropic.APITimeoutError | anthropic.APIConnectionError):
        return ProviderError(f"transport error, will retry: {exc}")
    if not isinstance(exc, anthropic.APIStatusError):
        return ProviderError(f"API error, will retry: {exc}")
    if exc.status_code == 429 and any(m in str(exc).lower() for m in _SPEND_LIMIT_MARKERS):
        return ProviderFatalError(f"the account's spend limit is reached: {exc}")
    decision = should_retry(exc.status_code, exc.response.headers)
    if not decision.retry:
        return ProviderFatalError(f"{decision.why}, not retried: {exc}")
    return ProviderError(
        f"{decision.why}, will retry: {exc}",
        retry_after=_retry_after(exc),
        rate_limited=exc.status_code == 429,
    )


def _retry_after(exc: anthropic.APIStatusError) -> float | None:
    """Read like the SDK: ``retry-after-ms``, then ``retry-after`` in seconds or as a date."""
    return parse_retry_after(exc.response.headers)


def to_response(message: Any, model: str) -> GenerationResponse:
    text = "".join(block.text for block in message.content if getattr(block, "type", "") == "text")
    usage = message.usage
    creation = getattr(usage, "cache_creation", None)
    long_writes = getattr(creation, "ephemeral_1h_input_tokens", 0) or 0
    return GenerationResponse(
        text=text,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        model=getattr(message, "model", model) or model,
        stop_reason=message.stop_reason or "end_turn",
        cache_read_tokens=getattr(usage, "cache_read_input_tokens", 0) or 0,
        cache_write_tokens=(getattr(usage, "cache_creation_input_tokens", 0) or 0) - long_writes,
        cache_write_1h_tokens=long_writes,
    )
