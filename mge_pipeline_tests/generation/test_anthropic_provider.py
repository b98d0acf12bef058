"""The Anthropic provider through the real SDK against the local Messages API server."""

from __future__ import annotations

import asyncio

import pytest

from mge_pipeline.exceptions import ProviderError, ProviderFatalError
from mge_pipeline.generation import (
    AnthropicProvider,
    GenerationRequest,
    GenerationResponse,
    price_for,
)
from mge_pipeline.generation.prompts import PromptBlock
from mge_pipeline.testing import Answer, Fault, FaultKind, MessagesApiServer
from mge_pipeline_tests.factories import make_atom


def _generate(server: MessagesApiServer, model: str = "claude-sonnet-4-6") -> GenerationResponse:
    async def go() -> GenerationResponse:
        provider = AnthropicProvider(api_key="sk-test", model=model, base_url=server.url)
        blocks = (PromptBlock("SYSTEM " * 600, cache=True), PromptBlock("FILE"))
        request = GenerationRequest(
            atom=make_atom(id="add"),
            system_blocks=blocks,
            prompt="PROMPT",
            temperature=0.5,
            max_tokens=512,
            attempt_number=2,
        )
        try:
            return await provider.generate(request)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def test_answer_usage_and_request_shape(messages_api: MessagesApiServer) -> None:
    messages_api.enqueue(Answer("```python\ndef add(a, b):\n    return a + b\n```"))
    response = _generate(messages_api)
    assert "def add" in response.text
    assert response.cache_write_tokens > 1024 and response.cache_read_tokens == 0
    again = _generate(messages_api)
    assert again.cache_read_tokens == response.cache_write_tokens, "the prefix is read back"
    assert (
        again.input_tokens + again.cache_read_tokens
        == response.input_tokens + response.cache_write_tokens
    )
    request = messages_api.requests[0]
    credentials = request.headers.get("x-api-key") or request.headers.get("authorization", "")
    assert credentials.endswith("sk-test") and "anthropic-version" in request.headers
    assert request.body["temperature"] == 0.5 and request.body["max_tokens"] == 512
    assert request.body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert request.body["system"][1] == {"type": "text", "text": "FILE"}
    assert request.body["messages"] == [{"role": "user", "content": "PROMPT"}]


def test_no_temperature_for_models_that_reject_it(messages_api: MessagesApiServer) -> None:
    _generate(messages_api, model="claude-opus-4-7")
    assert "temperature" not in messages_api.requests[0].body


def test_truncated_answer_reports_max_tokens(messages_api: MessagesApiServer) -> None:
    messages_api.enqueue(Fault(FaultKind.TRUNCATED))
    assert _generate(messages_api).stop_reason == "max_tokens"


@pytest.mark.parametrize(
    ("fault", "fatal", "retry_after"),
    [
        pytest.param(Fault(FaultKind.RATE_LIMIT, retry_after=7), False, 7.0, id="rate-limited"),
        pytest.param(Fault(FaultKind.OVERLOADED), False, None, id="overloaded"),
        pytest.param(Fault(FaultKind.SERVER_ERROR), False, None, id="server-error"),
        pytest.param(Fault(FaultKind.DROP_CONNECTION), False, None, id="dropped"),
        pytest.param(Fault(FaultKind.MALFORMED_JSON), False, None, id="malformed-json"),
        pytest.param(Fault(FaultKind.AUTHENTICATION), True, None, id="bad-key"),
        pytest.param(Fault(FaultKind.BAD_REQUEST), True, None, id="bad-request"),
        pytest.param(Fault(FaultKind.SPEND_LIMIT), True, None, id="spend-limit"),
    ],
)
def test_errors_are_retryable_or_fatal(
    messages_api: MessagesApiServer, fault: Fault, fatal: bool, retry_after: float | None
) -> None:
    messages_api.enqueue(fault)
    with pytest.raises(ProviderError) as caught:
        _generate(messages_api)
    assert isinstance(caught.value, ProviderFatalError) is fatal
    assert caught.value.retry_after == retry_after
    assert len(messages_api.requests) == 1, "the SDK's own retries are off: one layer retries"


@pytest.mark.parametrize(
    ("fault", "fatal", "retry_after", "why"),
    [
        pytest.param(Fault(FaultKind.REQUEST_TIMEOUT), False, None, "request timeout (408)"),
        pytest.param(Fault(FaultKind.CONFLICT), False, None, "lock conflict (409)"),
        pytest.param(
            Fault(FaultKind.RATE_LIMIT, retry_after=9, retry_after_ms=2500),
            False,
            2.5,
            "rate limited (429)",
            id="retry-after-ms-wins",
        ),
        pytest.param(
            Fault(FaultKind.BAD_REQUEST, should_retry=True),
            False,
            None,
            "x-should-retry: true",
            id="server-says-retry",
        ),
        pytest.param(
            Fault(FaultKind.SERVER_ERROR, should_retry=False),
            True,
            None,
            "x-should-retry: false",
            id="server-says-no",
        ),
    ],
)
def test_the_sdks_retry_rules(
    messages_api: MessagesApiServer,
    fault: Fault,
    fatal: bool,
    retry_after: float | None,
    why: str,
) -> None:
    messages_api.enqueue(fault)
    with pytest.raises(ProviderError) as caught:
        _generate(messages_api)
    assert isinstance(caught.value, ProviderFatalError) is fatal
    assert caught.value.retry_after == retry_after
    assert why in str(caught.value)


def _ask(
    server: MessagesApiServer, model: str, *, temperature: float | None, effort: str | None
) -> GenerationResponse:
    async def go() -> GenerationResponse:
        provider = AnthropicProvider(
            api_key="sk-test", model="claude-sonnet-4-6", base_url=server.url
        )
        request = GenerationRequest(
            atom=make_atom(id="add"),
            system_blocks=(PromptBlock("SYSTEM"),),
            prompt="PROMPT",
            temperature=temperature,
            max_tokens=256,
            attempt_number=1,
            model=model,
            effort=effort,
        )
        try:
            return await provider.generate(request)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def test_effort_and_model_per_request(messages_api: MessagesApiServer) -> None:
    response = _ask(messages_api, "claude-haiku-5-5", temperature=0.7, effort="low")
    body = messages_api.requests[0].body
    assert body["model"] == response.model == "claude-haiku-5-5"
    assert body["output_config"] == {"effort": "low"}
    assert "temperature" not in body, "Haiku 5.5 takes no temperature: not sent"
    _ask(messages_api, "claude-haiku-4-5", temperature=0.5, effort="high")
    older = messages_api.requests[1].body
    assert older["temperature"] == 0.5 and "output_config" not in older, "4.5 has no effort"


def test_the_server_refuses_what_the_api_refuses(messages_api: MessagesApiServer) -> None:
    import anthropic

    client = anthropic.Anthropic(api_key="sk-test", base_url=messages_api.url, max_retries=0)
    with pytest.raises(anthropic.BadRequestError, match=r"`temperature` is deprecated"):
        client.messages.create(
            model="claude-sonnet-5-5",
            max_tokens=16,
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"temperature": 0.5},
        )
    with pytest.raises(anthropic.BadRequestError, match="does not support effort"):
        client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=16,
            messages=[{"role": "user", "content": "hi"}],
            output_config={"effort": "low"},
        )
    client.close()
    assert messages_api.usage.requests == 0, "a refused request is not billed"


def test_the_server_bills_each_model_at_its_price(messages_api: MessagesApiServer) -> None:
    _ask(messages_api, "claude-haiku-5-5", temperature=None, effort="low")
    _ask(messages_api, "claude-sonnet-5-5", temperature=None, effort="high")
    by_model = messages_api.usage_by_model
    assert set(by_model) == {"claude-haiku-5-5", "claude-sonnet-5-5"}
    expected = by_model["claude-haiku-5-5"].cost(price_for("claude-haiku-5-5")) + by_model[
        "claude-sonnet-5-5"
    ].cost(price_for("claude-sonnet-5-5"))
    assert messages_api.billed_usd() == pytest.approx(expected)
    assert expected > 0


def test_the_prompt_cache_is_per_model(messages_api: MessagesApiServer) -> None:
    """Like the API: a prefix Haiku wrote is written again, not read, by Sonnet."""
    first = _generate(messages_api, model="claude-sonnet-4-6")
    other = _generate(messages_api, model="claude-haiku-4-5")
    again = _generate(messages_api, model="claude-sonnet-4-6")
    assert first.cache_write_tokens == other.cache_write_tokens > 0
    assert other.cache_read_tokens == 0
    assert again.cache_read_tokens == first.cache_write_tokens
