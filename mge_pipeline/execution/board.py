"""The settlement board: what each atom step waits on instead of a wave barrier.

Each atom step of a run awaits its own dependencies' outcomes here (``scheduling:
dependencies``) or the previous wave's close (``scheduling: waves``), so an LLM call starts as
soon as what it needs is settled. In the run worker everything is one event loop, so the board
is a dict of settled atoms and ``asyncio.Event``s: settling wakes the waiters at once. When
steps run in other processes (multiprocess or Celery executors) the board learns what they
settled from the store, which one poller per board reads every ``poll_seconds`` while anybody
waits — so waiting costs one query per interval, not one per waiting atom.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mge_pipeline.domain import AtomStatus
from mge_pipeline.store import AsyncStore

DEFAULT_POLL_SECONDS = 2.0
_VALIDATED = (AtomStatus.SUCCEEDED, AtomStatus.CACHED)


@dataclass(frozen=True)
class Settled:
    """An atom's outcome as its dependents need it: whether it validated, and its code."""

    status: AtomStatus
    code: str | None

    @property
    def validated(self) -> bool:
        return self.status in _VALIDATED and self.code is not None


class SettlementBoard:
    def __init__(
        self, store: AsyncStore, execution_id: str, *, poll_seconds: float = DEFAULT_POLL_SECONDS
    ) -> None:
        self._store = store
        self._execution_id = execution_id
        self._poll_seconds = poll_seconds
        self._settled: dict[str, Settled] = {}
        self._atom_events: dict[str, asyncio.Event] = {}
        self._closed_waves: set[int] = set()
        self._wave_events: dict[int, asyncio.Event] = {}
        self._waiting: set[str] = set()
        self._waiting_waves: set[int] = set()
        self._poller: asyncio.Task[None] | None = None
        self._steps_expected: dict[int, int] = {}
        self._steps_started: dict[int, int] = {}
        self._wave_started_events: dict[int, asyncio.Event] = {}
        self.stop_reason: str | None = None
        self.on_stop: Callable[[str], None] | None = None
        """Told the stop reason once, e.g. to close the run's call gate."""

    def settle(self, atom_id: str, status: AtomStatus, code: str | None) -> None:
        self._settled[atom_id] = Settled(status, code)
        event = self._atom_events.pop(atom_id, None)
        if event is not None:
            event.set()

    def close_wave(self, wave_index: int) -> None:
        self._closed_waves.add(wave_index)
        event = self._wave_events.pop(wave_index, None)
        if event is not None:
            event.set()

    def expect_steps(self, wave_index: int, count: int) -> None:
        """The wave's fan-out knows how many atom steps it yielded."""
        self._steps_expected[wave_index] = count
        self._check_started(wave_index)

    def step_started(self, wave_index: int) -> None:
        self._steps_started[wave_index] = self._steps_started.get(wave_index, 0) + 1
        self._check_started(wave_index)

    async def wave_steps_started(self, wave_index: int, *, timeout_seconds: float) -> None:
        """Until every atom step of the wave has started (in this process), or the timeout.

        Only for staggering start-up work: the timeout covers steps that run in other
        processes, which this board never sees start.
        """
        event = self._wave_started_events.setdefault(wave_index, asyncio.Event())
        self._check_started(wave_index)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_seconds)

    def _check_started(self, wave_index: int) -> None:
        expected = self._steps_expected.get(wave_index)
        if expected is not None and self._steps_started.get(wave_index, 0) >= expected:
            self._wave_started_events.setdefault(wave_index, asyncio.Event()).set()

    def stop(self, reason: str) -> str:
        """The first reason wins and is the one returned."""
        if self.stop_reason is None:
            self.stop_reason = reason
            if self.on_stop is not None:
                self.on_stop(reason)
        return self.stop_reason

    def known(self, atom_ids: Iterable[str]) -> dict[str, Settled]:
        return {a: self._settled[a] for a in atom_ids if a in self._settled}

    async def outcomes(self, atom_ids: Iterable[str]) -> dict[str, Settled]:
        """Wait until every atom in ``atom_ids`` is settled; return their outcomes."""
        ids = list(atom_ids)
        for atom_id in ids:
            while atom_id not in self._settled:
                event = self._atom_events.setdefault(atom_id, asyncio.Event())
                self._waiting.add(atom_id)
                self._ensure_poller()
                await event.wait()
            self._waiting.discard(atom_id)
        return {atom_id: self._settled[atom_id] for atom_id in ids}

    async def wave_closed(self, wave_index: int) -> None:
        while wave_index not in self._closed_waves:
            event = self._wave_events.setdefault(wave_index, asyncio.Event())
            self._waiting_waves.add(wave_index)
            self._ensure_poller()
            await event.wait()
        self._waiting_waves.discard(wave_index)

    async def load(self, atom_ids: Iterable[str]) -> dict[str, Settled]:
        """Outcomes already settled, from memory or else the store (no waiting)."""
        ids = list(atom_ids)
        missing = [a for a in ids if a not in self._settled]
        if missing:
            for record in await self._store.atom_results(self._execution_id, missing):
                self.settle(record.atom_id, record.status, record.code)
        return self.known(ids)

    def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None

    def _ensure_poller(self) -> None:
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll())

    async def _poll(self) -> None:
        """Settle from the store what other processes settled, while anybody waits here."""
        while self._waiting or self._waiting_waves:
            await asyncio.sleep(self._poll_seconds)
            pending = [a for a in self._waiting if a not in self._settled]
            with contextlib.suppress(Exception):  # a store hiccup only delays the next look
                # The stop reason first, so that an atom woken below already sees it.
                reason = await self._store.stop_reason(self._execution_id)
                if reason:
                    self.stop(reason)
                if pending:
                    await self.load(pending)
                if self._waiting_waves:
                    closed = await self._store.closed_waves(self._execution_id)
                    for wave_index in closed:
                        self.close_wave(wave_index)
