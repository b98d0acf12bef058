"""The call gate every atom of a run passes before calling the LLM.

It keeps the run inside the account's limits (requests and input tokens per minute, as token
buckets that refill continuously, like the API's own), slows everybody down when the server
answers 429 (a pause for ``retry-after`` and a halved rate that recovers call by call), and,
once one call has failed in a way no retry can fix, fails every later call at once instead of
letting each atom find out for itself. It also holds the run's limit of calls in flight
(``max_in_flight``): atoms waiting for their dependencies hold no slot, only calls do, so the
executor may start every atom's step at once without exceeding the limit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Protocol

from mge_pipeline.exceptions import ProviderFatalError, RunStoppedError

DEFAULT_429_PAUSE_SECONDS = 1.0
MIN_RATE_FACTOR = 0.1
RECOVERY_STEP = 0.05


class _Bucket:
    def __init__(self, per_minute: int, now: float) -> None:
        self.capacity = float(per_minute)
        self.level = float(per_minute)
        self.updated = now

    def refill(self, now: float, factor: float) -> None:
        rate = self.capacity * factor / 60.0
        self.level = min(self.capacity, self.level + (now - self.updated) * rate)
        self.updated = now

    def wait_for(self, amount: float, factor: float) -> float:
        """Seconds until ``amount`` is available (a request larger than capacity waits for full)."""
        needed = min(amount, self.capacity) - self.level
        return max(0.0, needed / (self.capacity * factor / 60.0))


class SharedCallSlots(Protocol):
    """A limit of calls in flight shared with other runs (the store's, in a team deployment)."""

    async def acquire(self) -> str: ...

    async def release(self, lease: str) -> None: ...


class CallGate:
    def __init__(
        self,
        *,
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
        max_in_flight: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        shared_slots: SharedCallSlots | None = None,
    ) -> None:
        now = clock()
        self._shared = shared_slots
        self._requests = _Bucket(requests_per_minute, now) if requests_per_minute else None
        self._tokens = _Bucket(tokens_per_minute, now) if tokens_per_minute else None
        self._clock = clock
        self._sleep = sleep
        self._paused_until = 0.0
        self.rate_factor = 1.0
        self.fatal: ProviderFatalError | None = None
        self.stop_reason: str | None = None
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self._slots = asyncio.Semaphore(max_in_flight) if max_in_flight else None
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def call_slot(self, tokens: int) -> AsyncIterator[None]:
        """Hold one of the run's call slots (and, in a team deployment, one of the
        deployment's) for the duration of one call."""
        if self._slots is not None:
            await self._slots.acquire()
        try:
            await self.enter(tokens)
            lease = await self._shared.acquire() if self._shared is not None else None
            self.in_flight += 1
            try:
                yield
            finally:
                self.in_flight -= 1
                if lease is not None and self._shared is not None:
                    # A cancelled call still gives its slot back (else it waits for expiry).
                    await asyncio.shield(self._shared.release(lease))
        finally:
            if self._slots is not None:
                self._slots.release()

    def stop(self, reason: str) -> None:
        """No call starts after this; calls in flight finish. The first reason wins."""
        if self.stop_reason is None:
            self.stop_reason = reason

    def check_open(self) -> None:
        if self.fatal is not None:
            raise ProviderFatalError(str(self.fatal))
        if self.stop_reason is not None:
            raise RunStoppedError(self.stop_reason)

    async def enter(self, tokens: int) -> None:
        """Wait for a slot; one waiter at a time, so slots are handed out in arrival order."""
        async with self._lock:
            while True:
                self.check_open()
                wait = self._wait_seconds(tokens)
                if wait <= 0:
                    self._take(tokens)
                    return
                await self._sleep(wait)

    def rate_limited(self, retry_after: float | None) -> None:
        """A 429: everybody pauses, and the rate halves until calls succeed again."""
        pause = retry_after if retry_after is not None else DEFAULT_429_PAUSE_SECONDS
        self._paused_until = max(self._paused_until, self._clock() + pause)
        self.rate_factor = max(MIN_RATE_FACTOR, self.rate_factor / 2)

    def succeeded(self) -> None:
        self.rate_factor = min(1.0, self.rate_factor + RECOVERY_STEP)

    def failed_for_good(self, error: ProviderFatalError) -> None:
        if self.fatal is None:
            self.fatal = error

    def _wait_seconds(self, tokens: int) -> float:
        now = self._clock()
        waits = [self._paused_until - now]
        for bucket, amount in ((self._requests, 1.0), (self._tokens, float(tokens))):
            if bucket is not None:
                bucket.refill(now, self.rate_factor)
                waits.append(bucket.wait_for(amount, self.rate_factor))
        return max(waits)

    def _take(self, tokens: int) -> None:
        if self._requests is not None:
            self._requests.level -= 1
        if self._tokens is not None:
            self._tokens.level -= min(float(tokens), self._tokens.capacity)
