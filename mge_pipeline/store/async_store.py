"""The store for code on an event loop: the same repository, every call on a worker thread.

One blocking database call on the async executor's loop stalls every atom in flight, so the
run's hot path (reserve, settle, results, stop reason) goes through this facade instead of
scattering ``anyio.to_thread`` calls over the packages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

import anyio

from mge_pipeline.domain import (
    AtomResult,
    AttemptRecord,
    ExecutionState,
    LevelValidation,
    WaveSummary,
)
from mge_pipeline.domain.records import AtomResultRecord, CachedAtom, ExecutionInfo, Reservation
from mge_pipeline.store.repository import MgeStore

T = TypeVar("T")


class AsyncStore:
    """Awaitable twins of the repository methods the run calls while atoms are in flight."""

    def __init__(self, store: MgeStore) -> None:
        self.sync = store

    async def _run(self, call: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(call)

    async def reserve(self, *, execution_id: str, atom_id: str, amount_usd: float) -> Reservation:
        return await self._run(
            lambda: self.sync.reserve(
                execution_id=execution_id, atom_id=atom_id, amount_usd=amount_usd
            )
        )

    async def settle(
        self,
        reservation: Reservation,
        *,
        execution_id: str,
        actual_usd: float,
        attempt: AttemptRecord | None = None,
    ) -> None:
        await self._run(
            lambda: self.sync.settle(
                reservation, execution_id=execution_id, actual_usd=actual_usd, attempt=attempt
            )
        )

    async def record_attempt(self, execution_id: str, attempt: AttemptRecord) -> None:
        await self._run(lambda: self.sync.record_attempt(execution_id, attempt))

    async def record_atom_result(
        self, execution_id: str, *, wave_index: int, spec_hash: str, result: AtomResult
    ) -> None:
        await self._run(
            lambda: self.sync.record_atom_result(
                execution_id, wave_index=wave_index, spec_hash=spec_hash, result=result
            )
        )

    async def record_atom_results(
        self, execution_id: str, *, wave_index: int, entries: list[tuple[str, AtomResult]]
    ) -> None:
        await self._run(
            lambda: self.sync.record_atom_results(
                execution_id, wave_index=wave_index, entries=entries
            )
        )

    async def validated_codes_by_hash(self, spec_hashes: Iterable[str]) -> dict[str, str]:
        hashes = list(spec_hashes)
        return await self._run(lambda: self.sync.validated_codes_by_hash(hashes))

    async def cached_atoms_by_hash(self, spec_hashes: Iterable[str]) -> dict[str, CachedAtom]:
        hashes = list(spec_hashes)
        return await self._run(lambda: self.sync.cached_atoms_by_hash(hashes))

    async def attempts(self, execution_id: str) -> list[AttemptRecord]:
        return await self._run(lambda: self.sync.attempts(execution_id))

    async def record_wave(self, execution_id: str, summary: WaveSummary) -> None:
        await self._run(lambda: self.sync.record_wave(execution_id, summary))

    async def closed_waves(self, execution_id: str) -> list[int]:
        return await self._run(lambda: self.sync.closed_waves(execution_id))

    async def set_current_wave(self, execution_id: str, wave_index: int) -> None:
        await self._run(lambda: self.sync.set_current_wave(execution_id, wave_index))

    async def atom_results(
        self, execution_id: str, atom_ids: Iterable[str] | None = None
    ) -> list[AtomResultRecord]:
        ids = None if atom_ids is None else list(atom_ids)
        return await self._run(lambda: self.sync.atom_results(execution_id, ids))

    async def validated_codes(self, execution_id: str, atom_ids: Iterable[str]) -> dict[str, str]:
        ids = list(atom_ids)
        return await self._run(lambda: self.sync.validated_codes(execution_id, ids))

    async def set_stop_reason(self, execution_id: str, reason: str) -> str:
        return await self._run(lambda: self.sync.set_stop_reason(execution_id, reason))

    async def stop_reason(self, execution_id: str) -> str | None:
        return await self._run(lambda: self.sync.stop_reason(execution_id))

    async def execution_state(self, execution_id: str) -> ExecutionState | None:
        return await self._run(lambda: self.sync.execution_state(execution_id))

    async def execution_info(self, execution_id: str) -> ExecutionInfo | None:
        return await self._run(lambda: self.sync.execution_info(execution_id))

    async def record_level_validation(self, execution_id: str, result: LevelValidation) -> None:
        await self._run(lambda: self.sync.record_level_validation(execution_id, result))

    async def heartbeat(self, execution_id: str) -> None:
        await self._run(lambda: self.sync.heartbeat(execution_id))

    async def pause_requested(self, execution_id: str) -> str | None:
        return await self._run(lambda: self.sync.pause_requested(execution_id))
