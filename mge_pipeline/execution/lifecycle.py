"""A run's lifecycle seen from inside: cancel and pause requests, and its heartbeat.

A request to stop arrives from outside — the Dagster run marked CANCELING (Dagit, GraphQL
``terminateRun``, ``mge cancel``) or the store's pause flag (``mge pause``) — and the run
worker may never be interrupted for it: the async executor does not act on a termination,
and a run started by ``mge run`` has no code server to receive one. So the run itself looks:
``watch_run`` polls once a second and, on a request, stops the run the way the stop rule
does — the call gate closes, atoms that have not called are skipped, calls in flight finish
and are recorded — and finalize writes the report with status ``cancelled`` or ``paused``.
Nothing validated is lost. The same task writes the heartbeat by which a dead worker is
recognised (``store/lifecycle.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio

from mge_pipeline.domain import ExecutionStatus
from mge_pipeline.store.lifecycle import heartbeat_seconds

POLL_SECONDS = 1.0
_CANCELLED = "cancelled"
_PAUSED = "paused"

CancelProbe = Callable[[], str | None]
"""Who asked for the run to stop, or None; blocking (it reads the Dagster instance)."""


def cancellation(requested_by: str) -> str:
    """The run's stop reason for a cancel request."""
    return f"{_CANCELLED}: {requested_by}; no new LLM call was started after it"


def pausing(requested_by: str) -> str:
    return f"{_PAUSED}: {requested_by}; calls in flight finished, `mge resume` continues it"


def status_for_stop(stop_reason: str | None) -> ExecutionStatus | None:
    """``cancelled`` or ``paused`` when the run stopped on request, else None."""
    for prefix, status in (
        (_CANCELLED, ExecutionStatus.CANCELLED),
        (_PAUSED, ExecutionStatus.PAUSED),
    ):
        if stop_reason and stop_reason.startswith(f"{prefix}: "):
            return status
    return None


@dataclass
class RunWatch:
    """What the watcher reads and writes; the run's services provide each."""

    cancel_probe: CancelProbe | None
    pause_requested: Callable[[], Awaitable[str | None]]
    heartbeat: Callable[[], Awaitable[None]]
    stop: Callable[[str], Awaitable[str]]
    stopped: Callable[[], bool]


async def watch_run(watch: RunWatch, *, poll_seconds: float = POLL_SECONDS) -> None:
    """Heartbeat for as long as the run worker lives (the task is cancelled at the end of
    finalize); until the run stops, a pause request, then a cancel request, stop it."""
    last_beat, every = 0.0, heartbeat_seconds()
    while True:
        if time.monotonic() - last_beat >= every:
            await watch.heartbeat()
            last_beat = time.monotonic()
        if not watch.stopped():
            await _stop_on_request(watch)
        await asyncio.sleep(poll_seconds)


async def _stop_on_request(watch: RunWatch) -> None:
    paused_by = await watch.pause_requested()
    if paused_by:
        await watch.stop(pausing(paused_by))
        return
    if watch.cancel_probe is not None:
        requested_by = await anyio.to_thread.run_sync(watch.cancel_probe)
        if requested_by:
            # ``mge pause`` also ends the Dagster run (CANCELED): its flag, written first, wins.
            paused_by = await watch.pause_requested()
            reason = pausing(paused_by) if paused_by else cancellation(requested_by)
            await watch.stop(reason)
