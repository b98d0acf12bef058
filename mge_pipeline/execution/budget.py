"""The cost guard: reserve the worst case before a call, settle the real cost after.

Reserving first is what makes "never over budget" hold with 100 calls in flight: the sum of
what is spent plus what is reserved never exceeds the budget, whatever finishes first.

The worst case is made realistic rather than hoarded: a call's output is capped at a calibrated
estimate for its atom (``output_token_cap``, sent as the call's ``max_tokens``, so the cap is
the provider's promise too), doubled after an answer was cut off, never above the run's
``max_tokens``. A refused reservation waits for the calls in flight to settle
(``PatientCostGuard``); the run stops only when, even with nothing in flight, the budget left
cannot cover the next call.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol

from mge_pipeline.domain import AtomSpec, AttemptRecord
from mge_pipeline.domain.records import Reservation
from mge_pipeline.exceptions import BudgetExceededError


class CostGuard(Protocol):
    async def reserve(self, *, atom_id: str, amount_usd: float) -> Reservation: ...

    async def settle(
        self, reservation: Reservation, *, actual_usd: float, attempt: AttemptRecord | None = None
    ) -> None:
        """Release the reservation, book the real cost, and record ``attempt`` with it."""


class InMemoryCostGuard:
    """For one process and for tests; the store's ledger is the cross-process version."""

    def __init__(self, budget_usd: float) -> None:
        self.budget_usd = budget_usd
        self.spent_usd = 0.0
        self.reserved_usd = 0.0
        self._counter = 0
        self._lock = asyncio.Lock()
        self.attempts: list[AttemptRecord] = []

    async def reserve(self, *, atom_id: str, amount_usd: float) -> Reservation:
        async with self._lock:
            if self.spent_usd + self.reserved_usd + amount_usd > self.budget_usd:
                raise BudgetExceededError.refused(
                    budget_usd=self.budget_usd,
                    spent_usd=self.spent_usd,
                    reserved_usd=self.reserved_usd,
                    needed_usd=amount_usd,
                )
            self.reserved_usd += amount_usd
            self._counter += 1
            return Reservation(f"{atom_id}:{self._counter}", amount_usd)

    async def settle(
        self, reservation: Reservation, *, actual_usd: float, attempt: AttemptRecord | None = None
    ) -> None:
        async with self._lock:
            self.reserved_usd -= reservation.amount_usd
            self.spent_usd += actual_usd
            if attempt is not None:
                self.attempts.append(attempt)


# Output tokens reserved per line of an atom's estimated size, plus a fixed allowance for the
# fence and a sentence around the code. About three times what a ten-line atom's answer takes
# (100–200 tokens), so a cut-off is rare; one costs an attempt, after which the cap doubles.
OUTPUT_TOKENS_PER_LINE = 30
OUTPUT_TOKENS_BASE = 200
# How long a refused reservation waits for a settlement before asking again; settlements in
# this process wake it at once, this bounds the wait for those of other processes.
RESERVE_RETRY_SECONDS = 0.5


# A higher effort spends more output tokens on thinking before the answer: room for it, so
# that escalating an attempt's effort does not end in a cut-off (an estimate, not measured).
_EFFORT_ROOM = {"low": 1, "medium": 2, "high": 4, "xhigh": 8, "max": 8}


def output_token_cap(
    atom: AtomSpec, *, max_tokens: int, cut_offs: int = 0, effort: str | None = None
) -> int:
    """The output tokens an attempt may produce, and so reserves: ``max_tokens`` at most."""
    estimate = OUTPUT_TOKENS_BASE + OUTPUT_TOKENS_PER_LINE * atom.estimated_loc
    room = _EFFORT_ROOM.get(effort or "low", 1)
    return max(1, min(max_tokens, estimate * room * (1 << cut_offs)))


class PatientCostGuard:
    """A cost guard whose refused reservations wait while calls in flight may free enough.

    Without it one refusal stopped the run while other calls still held reservations that
    would mostly be given back; the budget then ended far below what was spent.
    """

    def __init__(
        self,
        inner: CostGuard,
        *,
        check_open: Callable[[], None] | None = None,
        retry_seconds: float = RESERVE_RETRY_SECONDS,
    ) -> None:
        self.inner = inner
        self.check_open = check_open
        self.retry_seconds = retry_seconds
        self._settled = asyncio.Event()

    async def reserve(self, *, atom_id: str, amount_usd: float) -> Reservation:
        while True:
            settled = self._settled  # a settlement after this point wakes the wait below
            try:
                return await self.inner.reserve(atom_id=atom_id, amount_usd=amount_usd)
            except BudgetExceededError as exc:
                if not exc.may_fit_later:
                    raise
            if self.check_open is not None:
                self.check_open()  # a stopped run does not wait for budget
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(settled.wait(), self.retry_seconds)

    async def settle(
        self, reservation: Reservation, *, actual_usd: float, attempt: AttemptRecord | None = None
    ) -> None:
        try:
            await self.inner.settle(reservation, actual_usd=actual_usd, attempt=attempt)
        finally:
            settled, self._settled = self._settled, asyncio.Event()
            settled.set()
