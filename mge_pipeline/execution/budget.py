"""The cost guard: reserve the worst case before a call, settle the real cost after.

Reserving first is what makes "never over budget" hold with 100 calls in flight: the sum of
what is spent plus what is reserved never exceeds the budget, whatever finishes first.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from mge_pipeline.domain import AttemptRecord
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
                raise BudgetExceededError.for_budget(self.budget_usd, self.spent_usd)
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
