"""Batch submission through the real SDK against the local server's Message Batches API."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import anthropic
import pytest

from mge_pipeline.exceptions import ProviderError, ProviderFatalError
from mge_pipeline.generation import AnthropicProvider, GenerationRequest, GenerationResponse
from mge_pipeline.generation.batch import BatchingProvider
from mge_pipeline.generation.pricing import PriceBook, call_cost
from mge_pipeline.generation.prompts import PromptBlock
from mge_pipeline.testing import Fault, FaultKind, MessagesApiServer
from mge_pipeline_tests.factories import make_atom


class MemoryLedger:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, str]] = {}
        self.done: set[str] = set()

    async def pending(self, fingerprint: str) -> tuple[str, str] | None:
        return None if fingerprint in self.done else self.rows.get(fingerprint)

    async def submitted(self, batch_id: str, entries: Sequence[tuple[str, str]]) -> None:
        self.rows |= {fingerprint: (batch_id, custom) for fingerprint, custom in entries}

    async def collected(self, fingerprint: str) -> None:
        self.done.add(fingerprint)


def _request(name: str, model: str = "claude-haiku-5-5") -> GenerationRequest:
    return GenerationRequest(
        atom=make_atom(id=name),
        system_blocks=(PromptBlock("SYSTEM"),),
        prompt=f"Write `{name}`",
        temperature=None,
        max_tokens=256,
        attempt_number=1,
        model=model,
        effort="low",
    )


def _provider(server: MessagesApiServer, ledger: MemoryLedger | None = None) -> BatchingProvider:
    inner = AnthropicProvider(api_key="sk-test", model="claude-sonnet-5-5", base_url=server.url)
    return BatchingProvider(
        inner, ledger, gather_seconds=0.05, max_gather_seconds=1.0, poll_seconds=0.05
    )


def _generate_all(
    provider: BatchingProvider, names: Sequence[str]
) -> list[GenerationResponse | BaseException]:
    async def go() -> list[GenerationResponse | BaseException]:
        try:
            return await asyncio.gather(
                *(provider.generate(_request(n)) for n in names), return_exceptions=True
            )
        finally:
            await provider.aclose()

    return asyncio.run(go())


def test_concurrent_calls_go_out_as_one_batch_at_half_price(
    messages_api: MessagesApiServer,
) -> None:
    messages_api.set_batch_delay(0.2)
    responses = _generate_all(_provider(messages_api), ["a", "b", "c"])
    assert all(isinstance(r, GenerationResponse) for r in responses)
    (batch,) = messages_api.batches
    assert len(batch.custom_ids) == 3 and batch.status == "ended"
    assert messages_api.usage_by_model == {}, "nothing billed at the realtime price"
    usage = messages_api.batch_usage_by_model["claude-haiku-5-5"]
    batch_price = PriceBook(batch=True).price("claude-haiku-5-5")
    ours = sum(
        call_cost(batch_price, input_tokens=r.input_tokens, output_tokens=r.output_tokens)
        for r in responses
        if isinstance(r, GenerationResponse)
    )
    assert (
        ours == pytest.approx(usage.cost(batch_price)) == pytest.approx(messages_api.billed_usd())
    )
    assert {r.batch_id for r in messages_api.requests} == {batch.id}
    assert {r.effort for r in messages_api.requests} == {"low"}


def test_errored_results_are_retryable_or_fatal(messages_api: MessagesApiServer) -> None:
    messages_api.enqueue(Fault(FaultKind.OVERLOADED))
    first = _generate_all(_provider(messages_api), ["a"])[0]
    assert isinstance(first, ProviderError) and not isinstance(first, ProviderFatalError)
    assert "overloaded_error" in str(first) and "will resubmit" in str(first)
    messages_api.enqueue(Fault(FaultKind.BAD_REQUEST))
    second = _generate_all(_provider(messages_api), ["a"])[0]
    assert isinstance(second, ProviderFatalError)


def test_a_refused_parameter_is_an_errored_result(messages_api: MessagesApiServer) -> None:
    provider = _provider(messages_api)

    async def go() -> GenerationResponse:
        try:
            request = _request("a", model="claude-haiku-4-5")  # no effort on Haiku 4.5
            return await provider.generate(
                GenerationRequest(**{**request.__dict__, "temperature": 0.5})
            )
        finally:
            await provider.aclose()

    response = asyncio.run(go())
    assert "output_config" not in messages_api.requests[0].body, "effort not sent to 4.5"
    assert messages_api.requests[0].body["temperature"] == 0.5
    assert response.model == "claude-haiku-4-5"


def test_a_pending_batch_is_found_again_instead_of_resubmitted(
    messages_api: MessagesApiServer,
) -> None:
    """A second provider (a restarted worker) with the same ledger waits for the first batch."""
    ledger = MemoryLedger()
    messages_api.hold_batches()
    first = _provider(messages_api, ledger)

    async def submit_then_die() -> None:
        tasks = [asyncio.create_task(first.generate(_request(n))) for n in ("a", "b")]
        # The ledger, not the server, says when the batch is known to the worker: the server
        # holds the batch before the client has its answer and records it (a loaded machine).
        for _ in range(1500):
            if len(ledger.rows) == 2:
                break
            await asyncio.sleep(0.02)
        for task in tasks:
            task.cancel()
        await first.aclose()

    asyncio.run(submit_then_die())
    assert len(messages_api.batches) == 1 and len(ledger.rows) == 2
    messages_api.hold_batches(False)
    responses = _generate_all(_provider(messages_api, ledger), ["a", "b"])
    assert all(isinstance(r, GenerationResponse) for r in responses)
    assert len(messages_api.batches) == 1, "no second batch: the first one was collected"
    assert messages_api.batch_usage_by_model["claude-haiku-5-5"].requests == 2


def test_the_sdk_can_cancel_a_batch(messages_api: MessagesApiServer) -> None:
    messages_api.hold_batches()
    client = anthropic.Anthropic(api_key="sk-test", base_url=messages_api.url, max_retries=0)
    params = {"model": "claude-haiku-5-5", "max_tokens": 8, "messages": []}
    batch = client.messages.batches.create(requests=[{"custom_id": "x", "params": params}])  # type: ignore[list-item,typeddict-item]
    assert batch.processing_status == "in_progress" and batch.request_counts.processing == 1
    canceled = client.messages.batches.cancel(batch.id)
    assert canceled.processing_status == "ended" and canceled.request_counts.canceled == 1
    (line,) = list(client.messages.batches.results(batch.id))
    assert line.custom_id == "x" and line.result.type == "canceled"
    client.close()
    assert messages_api.billed_usd() == 0.0


def test_once_a_batch_outlasts_the_short_cache_the_next_rounds_use_the_1h_ttl(
    messages_api: MessagesApiServer,
) -> None:
    """The first round's batch takes longer than ``long_batch_seconds``: the second round asks
    for the 1-hour TTL, is billed 2x for the write, and our cost equals the server's bill."""
    messages_api.set_batch_delay(0.4)
    inner = AnthropicProvider(
        api_key="sk-test", model="claude-sonnet-5-5", base_url=messages_api.url
    )
    provider = BatchingProvider(
        inner, None, gather_seconds=0.05, poll_seconds=0.05, long_batch_seconds=0.2
    )

    def request(name: str) -> GenerationRequest:
        system = (PromptBlock(f"PROJECT {name} " * 1500, cache=True),)  # cold for each
        return GenerationRequest(**{**_request(name).__dict__, "system_blocks": system})

    async def go() -> tuple[GenerationResponse, GenerationResponse]:
        try:
            first = await provider.generate(request("a"))
            second = await provider.generate(request("b"))
            return first, second
        finally:
            await provider.aclose()

    first, second = asyncio.run(go())
    controls = [r.body["system"][0]["cache_control"] for r in messages_api.requests]
    assert controls == [{"type": "ephemeral"}, {"type": "ephemeral", "ttl": "1h"}]
    assert first.cache_write_tokens > 0 and first.cache_write_1h_tokens == 0
    assert second.cache_write_1h_tokens > 0 and second.cache_write_tokens == 0
    price = PriceBook(batch=True).price("claude-haiku-5-5")
    ours = sum(
        call_cost(
            price,
            input_tokens=r.input_tokens,
            output_tokens=r.output_tokens,
            cache_write_tokens=r.cache_write_tokens,
            cache_write_1h_tokens=r.cache_write_1h_tokens,
            cache_read_tokens=r.cache_read_tokens,
        )
        for r in (first, second)
    )
    assert ours == pytest.approx(messages_api.billed_usd())
