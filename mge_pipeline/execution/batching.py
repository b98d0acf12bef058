"""Batch submission wired to the run: the store remembers pending batches for a restart."""

from __future__ import annotations

from collections.abc import Sequence

import anyio

from mge_pipeline.exceptions import RunConfigError
from mge_pipeline.generation import AnthropicProvider, LLMProvider
from mge_pipeline.generation.batch import BatchingProvider
from mge_pipeline.store import MgeStore


class StoreBatchLedger:
    """``BatchLedger`` over the store, each call on a worker thread (the loop never blocks)."""

    def __init__(self, store: MgeStore) -> None:
        self.store = store

    async def pending(self, fingerprint: str) -> tuple[str, str] | None:
        return await anyio.to_thread.run_sync(self.store.pending_batch_request, fingerprint)

    async def submitted(self, batch_id: str, entries: Sequence[tuple[str, str]]) -> None:
        await anyio.to_thread.run_sync(self.store.record_batch_requests, batch_id, entries)

    async def collected(self, fingerprint: str) -> None:
        await anyio.to_thread.run_sync(self.store.mark_batch_request_collected, fingerprint)


def batch_provider(
    provider: LLMProvider, store: MgeStore, *, poll_seconds: float, gather_seconds: float
) -> BatchingProvider:
    """The run's provider in batch mode; only the Anthropic API has Message Batches."""
    if isinstance(provider, BatchingProvider):
        return provider
    if not isinstance(provider, AnthropicProvider):
        raise RunConfigError(
            [f"submission: batch needs the anthropic provider, not {provider.name}"]
        )
    return BatchingProvider(
        provider,
        StoreBatchLedger(store),
        gather_seconds=gather_seconds,
        max_gather_seconds=max(10.0, gather_seconds * 10),
        poll_seconds=poll_seconds,
    )
