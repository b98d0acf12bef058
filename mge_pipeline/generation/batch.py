"""Batch submission: the calls of a wave (and of each round of retries) as one Message Batch.

The Message Batches API costs half as much and usually answers within the hour; a plan run
overnight rarely needs the realtime API's latency. ``BatchingProvider`` is an ``LLMProvider``,
so the retry loop, the budget and validation are unchanged: ``generate`` queues the request,
and once no new request has arrived for ``gather_seconds`` (or ``max_gather_seconds`` after
the first) the queue goes out as one batch. Atoms of a wave become ready together, and so do
their retries after validation, so each round becomes one batch. One poll per batch serves
every request in it; results are matched by ``custom_id``.

Prompt caching: a round's prefixes are written to the cache when its batch is processed; with
the default 5-minute TTL they are gone by the next round if a batch takes longer than that, so
once one did, later requests ask for the 1-hour TTL (``long_batch_seconds``).

Restart survival: every submitted request is recorded (``BatchLedger``) under a fingerprint of
its exact parameters, with its batch id. A run worker that restarts asks for the same requests
again (same plan, same prompts); a request whose fingerprint has a batch that was never
collected waits for that batch instead of paying for a new one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import anthropic

from mge_pipeline.exceptions import ProviderError, ProviderFatalError
from mge_pipeline.generation.anthropic_provider import (
    AnthropicProvider,
    message_params,
    to_response,
    translate_error,
)
from mge_pipeline.generation.provider import GenerationRequest, GenerationResponse

logger = logging.getLogger(__name__)

# Result error types no resubmission can fix; the others (api_error, overloaded_error) retry.
_FATAL_ERRORS = ("invalid_request_error", "authentication_error", "permission_error")


class BatchLedger(Protocol):
    """Where submitted batch requests are remembered, so a restart finds them."""

    async def pending(self, fingerprint: str) -> tuple[str, str] | None:
        """(batch id, custom id) of a submitted, not yet collected request, if any."""
        ...

    async def submitted(self, batch_id: str, entries: Sequence[tuple[str, str]]) -> None:
        """Record (fingerprint, custom id) pairs of a batch just created."""
        ...

    async def collected(self, fingerprint: str) -> None: ...


@dataclass
class _Queued:
    fingerprint: str
    params: dict[str, Any]
    ticket: asyncio.Future[tuple[str, str]]


@dataclass
class BatchingProvider:
    inner: AnthropicProvider
    ledger: BatchLedger | None = None
    gather_seconds: float = 1.0
    max_gather_seconds: float = 10.0
    poll_seconds: float = 30.0
    long_batch_seconds: float = 300.0
    """Once a batch of the run took longer than this (the 5-minute cache TTL) to end, later
    requests mark their prompt prefix with the 1-hour TTL: writes cost 2x instead of 1.25x the
    input price, but the prefix is still cached when the next round arrives."""
    name: str = "anthropic"
    model: str = field(default="", init=False)
    _queue: list[_Queued] = field(default_factory=list, init=False)
    _last_queued: int = field(default=0, init=False)
    _flusher: asyncio.Task[None] | None = field(default=None, init=False)
    _polls: dict[str, asyncio.Task[dict[str, Any]]] = field(default_factory=dict, init=False)
    _long_batches: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.model = self.inner.model

    async def generate(self, request: GenerationRequest) -> GenerationResponse:
        model = request.model or self.model
        fingerprint = request_fingerprint(message_params(model, request))
        params = message_params(model, request, "1h" if self._long_batches else None)
        found = await self.ledger.pending(fingerprint) if self.ledger else None
        if found is not None:
            logger.info(
                "atom %s: waiting for batch %s (submitted before)", request.atom.id, found[0]
            )
        batch_id, custom_id = found or await self._submit(fingerprint, params)
        results = await self._results(batch_id)
        if self.ledger is not None:
            await self.ledger.collected(fingerprint)
        return _response(results.get(custom_id), model, batch_id)

    async def aclose(self) -> None:
        for task in [*self._polls.values(), *([self._flusher] if self._flusher else [])]:
            task.cancel()
        await self.inner.aclose()

    async def _submit(self, fingerprint: str, params: dict[str, Any]) -> tuple[str, str]:
        loop = asyncio.get_running_loop()
        for queued in self._queue:
            if queued.fingerprint == fingerprint:
                return await asyncio.shield(queued.ticket)
        ticket: asyncio.Future[tuple[str, str]] = loop.create_future()
        self._queue.append(_Queued(fingerprint, params, ticket))
        self._last_queued += 1
        if self._flusher is None:
            self._flusher = loop.create_task(self._flush_when_quiet())
        return await asyncio.shield(ticket)

    async def _flush_when_quiet(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            seen = self._last_queued
            await asyncio.sleep(self.gather_seconds)
            if seen == self._last_queued or loop.time() - started >= self.max_gather_seconds:
                break
        queued, self._queue, self._flusher = self._queue, [], None
        requests = [{"custom_id": _custom_id(q.fingerprint), "params": q.params} for q in queued]
        try:
            batch = await self.inner.client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
            if self.ledger is not None:
                await self.ledger.submitted(
                    batch.id, [(q.fingerprint, _custom_id(q.fingerprint)) for q in queued]
                )
        except anthropic.APIError as exc:
            _fail_all(queued, translate_error(exc))
            return
        except Exception as exc:
            _fail_all(queued, ProviderError(f"the batch could not be submitted: {exc}"))
            return
        logger.info("batch %s: %d requests submitted", batch.id, len(queued))
        for q in queued:
            if not q.ticket.done():
                q.ticket.set_result((batch.id, _custom_id(q.fingerprint)))

    async def _results(self, batch_id: str) -> dict[str, Any]:
        task = self._polls.get(batch_id)
        if task is None or (task.done() and task.exception() is not None):
            task = asyncio.get_running_loop().create_task(self._poll(batch_id))
            self._polls[batch_id] = task
        return await asyncio.shield(task)

    async def _poll(self, batch_id: str) -> dict[str, Any]:
        """Wait for the batch to end, then read every result once for all its requests."""
        client = self.inner.client
        try:
            while True:
                batch = await client.messages.batches.retrieve(batch_id)
                counts = batch.request_counts
                logger.info(
                    "batch %s: %s, %d processing, %d succeeded, %d errored",
                    batch_id,
                    batch.processing_status,
                    counts.processing,
                    counts.succeeded,
                    counts.errored,
                )
                if batch.processing_status == "ended":
                    took = ((batch.ended_at or batch.created_at) - batch.created_at).total_seconds()
                    self._long_batches |= took > self.long_batch_seconds
                    break
                await asyncio.sleep(self.poll_seconds)
            decoder = await client.messages.batches.results(batch_id)
            return {line.custom_id: line.result async for line in decoder}
        except anthropic.APIError as exc:
            raise translate_error(exc) from exc


def request_fingerprint(params: dict[str, Any]) -> str:
    """The same request always has the same fingerprint: how a restart finds its batch."""
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()


def _custom_id(fingerprint: str) -> str:
    return f"r_{fingerprint[:60]}"


def _fail_all(queued: list[_Queued], error: ProviderError) -> None:
    for q in queued:
        if not q.ticket.done():
            q.ticket.set_exception(error)


def _response(result: Any, model: str, batch_id: str) -> GenerationResponse:
    if result is None:
        raise ProviderError(f"batch {batch_id} has no result for this request, will resubmit")
    kind = getattr(result, "type", "")
    if kind == "succeeded":
        return to_response(result.message, model)
    if kind == "errored":
        error = result.error.error
        message = f"batch {batch_id}: {error.type}: {error.message}"
        if error.type in _FATAL_ERRORS:
            raise ProviderFatalError(f"request rejected in {message}")
        raise ProviderError(f"{message}, will resubmit")
    raise ProviderError(f"batch {batch_id}: request {kind}, will resubmit")
