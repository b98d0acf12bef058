"""Cancellation: a run asked to stop from outside (Dagit, GraphQL, ``mge cancel``) stops spending.

The request arrives as the Dagster run's status (CANCELING), which the run worker may never be
interrupted for: the async executor does not act on it, and a run started by ``mge run`` has no
code server to receive it. So the run itself looks: ``watch_for_cancel`` polls a probe once a
second and, on a request, stops the run the way the stop rule does — the call gate closes, atoms
that have not called are skipped, calls in flight finish and are recorded — and finalize writes
the report with status ``cancelled``. Nothing validated is lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import anyio

CANCEL_POLL_SECONDS = 1.0
_PREFIX = "cancelled"

CancelProbe = Callable[[], str | None]
"""Who asked for the run to stop, or None; blocking (it reads the Dagster instance)."""


def cancellation(requested_by: str) -> str:
    """The run's stop reason for a cancel request."""
    return f"{_PREFIX}: {requested_by}; no new LLM call was started after it"


def is_cancellation(stop_reason: str | None) -> bool:
    return bool(stop_reason) and str(stop_reason).startswith(f"{_PREFIX}: ")


async def watch_for_cancel(
    probe: CancelProbe,
    stop: Callable[[str], Awaitable[str]],
    stopped: Callable[[], bool],
    *,
    poll_seconds: float = CANCEL_POLL_SECONDS,
) -> None:
    """Until the run stops for any reason: ask the probe, and stop the run on a request."""
    while not stopped():
        requested_by = await anyio.to_thread.run_sync(probe)
        if requested_by:
            await stop(cancellation(requested_by))
            return
        await asyncio.sleep(poll_seconds)
