"""The sandbox's processes, shared by the checks that gate a run and the checks that only grade.

An atom's validation is on the run's critical path: its dependents wait for it. Mutation runs
(``validation/mutation.py``) only grade an atom that is already settled. Under one plain
semaphore the two queue together, and at 800 atoms the mutants of early waves held the sandbox
while later waves' validations waited (the orchestration benchmark's wall time doubled). Here a
waiting foreground check always starts before a waiting background one, and background checks
never hold the last process, so a validation that arrives waits at most for one check to end.
"""

from __future__ import annotations

import asyncio
from collections import deque


class CheckSlots:
    """``size`` processes; foreground checks first, background checks on at most size − 1."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1 (got {size})")
        self.size = size
        self.background_cap = max(1, size - 1)
        self._free = size
        self._background_running = 0
        self._waiting: dict[bool, deque[asyncio.Future[None]]] = {False: deque(), True: deque()}

    @property
    def in_use(self) -> int:
        return self.size - self._free

    @property
    def background_running(self) -> int:
        return self._background_running

    def _can_start(self, background: bool) -> bool:
        if self._free == 0:
            return False
        return not background or self._background_running < self.background_cap

    def _take(self, background: bool) -> None:
        self._free -= 1
        if background:
            self._background_running += 1

    async def acquire(self, *, background: bool = False) -> None:
        ahead = self._queued(False) or (background and self._queued(True))
        if not ahead and self._can_start(background):
            self._take(background)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[background].append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release(background=background)  # granted just as it was cancelled
            elif waiter in self._waiting[background]:  # a grant may have dropped it already
                self._waiting[background].remove(waiter)
                self._grant()  # whoever queued behind it may start now
            raise

    def _queued(self, background: bool) -> bool:
        """Someone still waits (a waiter cancelled but not yet removed does not count)."""
        return any(not waiter.done() for waiter in self._waiting[background])

    def release(self, *, background: bool = False) -> None:
        self._free += 1
        if background:
            self._background_running -= 1
        self._grant()

    def _grant(self) -> None:
        """Hand free processes to waiters: every foreground waiter before any background one."""
        for background in (False, True):
            queue = self._waiting[background]
            while queue and self._can_start(background):
                waiter = queue.popleft()
                if waiter.done():  # cancelled while queued
                    continue
                self._take(background)
                waiter.set_result(None)
