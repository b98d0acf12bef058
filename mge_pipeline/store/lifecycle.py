"""The store's side of a run's lifecycle: heartbeats, pause requests, lost runs, resumption.

A run worker that dies (``kill -9``, a lost machine) writes nothing more, so liveness is a
heartbeat: the run's services touch ``executions.heartbeat_at`` every 5 s, and an execution
still ``running`` whose heartbeat is older than 30 s (``MGE_LOST_AFTER_SECONDS``) is *lost*.
Whoever looks next (``mge status``, the sensor, the next run's prepare, ``mge resume``) marks
it failed with that reason and releases its unsettled reservations, booked at their reserved
worst case: the calls may have been billed, and the budget is a promise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select, update

from mge_pipeline import settings
from mge_pipeline.domain import AtomStatus, ExecutionStatus
from mge_pipeline.store import tables as t


def lost_after_seconds() -> float:
    """30 s unless ``MGE_LOST_AFTER_SECONDS`` says otherwise."""
    return settings.lost_after_seconds()


def heartbeat_seconds() -> float:
    """Six heartbeats per loss window: a busy event loop can delay a few without a false loss."""
    return lost_after_seconds() / 6


def _now() -> datetime:
    return datetime.now(UTC)


class LifecycleStore:
    """Mixed into ``MgeStore``; needs only its transaction helpers."""

    _begin: Callable[[], AbstractContextManager[Connection]]
    _read: Callable[[], AbstractContextManager[Connection]]

    def heartbeat(self, execution_id: str) -> None:
        with self._begin() as conn:
            conn.execute(
                update(t.executions)
                .where(t.executions.c.execution_id == execution_id)
                .values(heartbeat_at=_now())
            )

    def request_pause(self, execution_id: str, reason: str) -> bool:
        """True when the execution is running and now asked to pause."""
        ex = t.executions.c
        with self._begin() as conn:
            changed = conn.execute(
                update(t.executions)
                .where(ex.execution_id == execution_id, ex.status == ExecutionStatus.RUNNING.value)
                .values(pause_requested=reason)
            ).rowcount
        return bool(changed)

    def pause_requested(self, execution_id: str) -> str | None:
        with self._read() as conn:
            return conn.execute(
                select(t.executions.c.pause_requested).where(
                    t.executions.c.execution_id == execution_id
                )
            ).scalar_one_or_none()

    def mark_lost_executions(
        self, *, now: datetime | None = None, lost_after: float | None = None
    ) -> list[str]:
        """Running executions without a recent heartbeat become failed; their ids."""
        ex = t.executions.c
        moment = now or _now()
        cutoff = moment - timedelta(seconds=lost_after or lost_after_seconds())
        silent = or_(
            ex.heartbeat_at < cutoff, and_(ex.heartbeat_at.is_(None), ex.started_at < cutoff)
        )
        with self._begin() as conn:
            rows = conn.execute(
                select(ex.execution_id, ex.heartbeat_at, ex.started_at).where(
                    ex.status == ExecutionStatus.RUNNING.value, silent
                )
            ).all()
            for row in rows:
                last = _aware(row.heartbeat_at or row.started_at)
                _mark_lost(conn, row.execution_id, last, moment)
        return [row.execution_id for row in rows]

    _output_dir_claimed: Callable[[str], AbstractContextManager[None]]

    def reopen_execution(self, execution_id: str, output_dir: str) -> None:
        """A paused, cancelled, failed or lost execution runs again: same id, same budget.

        Atoms the stop settled without a call (skipped by the pause or cancel, blocked) lose
        that result: the resumed run settles them again, and its settlement board, which also
        reads settled atoms from the store, must not take the old run's outcome for the new
        one (it would block their dependents before they ran). Failed atoms keep theirs.
        """
        ex = t.executions.c
        r = t.atom_results.c
        unsettled = (AtomStatus.SKIPPED.value, AtomStatus.BLOCKED.value)
        with self._output_dir_claimed(output_dir), self._begin() as conn:
            conn.execute(
                delete(t.atom_results).where(
                    r.execution_id == execution_id, r.status.in_(unsettled)
                )
            )
            conn.execute(
                update(t.executions)
                .where(ex.execution_id == execution_id)
                .values(
                    status=ExecutionStatus.RUNNING.value,
                    reason=None,
                    stop_reason=None,
                    pause_requested=None,
                    completed_at=None,
                    heartbeat_at=_now(),
                )
            )

    def execution_writing(self, output_dir: str) -> str | None:
        """The running execution that writes ``output_dir``, if any."""
        ex = t.executions.c
        with self._read() as conn:
            return conn.execute(
                select(ex.execution_id).where(
                    ex.output_dir == output_dir, ex.status == ExecutionStatus.RUNNING.value
                )
            ).scalar_one_or_none()

    def invalidate_cached(self, spec_hashes: Iterable[str], reason: str) -> None:
        """Code validated for these specs until now is not served from the cache again."""
        moment = _now()
        inv = t.cache_invalidations
        with self._begin() as conn:
            for spec_hash in sorted(set(spec_hashes)):
                conn.execute(inv.delete().where(inv.c.spec_hash == spec_hash))
                conn.execute(
                    inv.insert().values(spec_hash=spec_hash, invalidated_at=moment, reason=reason)
                )

    def attempt_counts(self, execution_id: str) -> dict[str, int]:
        """Attempts recorded per atom in this execution, for numbering a resumed atom's next."""
        a = t.attempts.c
        with self._read() as conn:
            rows = conn.execute(
                select(a.atom_id, func.count())
                .where(a.execution_id == execution_id)
                .group_by(a.atom_id)
            ).all()
        return {row[0]: int(row[1]) for row in rows}


def _mark_lost(conn: Connection, execution_id: str, last: datetime, now: datetime) -> None:
    ledger = t.cost_ledger.c
    held = conn.execute(
        select(func.count(), func.coalesce(func.sum(ledger.reserved_usd), 0.0)).where(
            ledger.execution_id == execution_id, ledger.settled.is_(False)
        )
    ).one()
    calls, amount = int(held[0]), float(held[1])
    silence = int((now - last).total_seconds())
    reason = (
        f"the run worker died: no heartbeat for {silence} s (last at {last:%Y-%m-%d %H:%M:%S} "
        f"UTC); {calls} unsettled call(s) booked at their reserved ${amount:.4f}"
    )
    conn.execute(
        update(t.cost_ledger)
        .where(ledger.execution_id == execution_id, ledger.settled.is_(False))
        .values(settled=True, actual_usd=ledger.reserved_usd)
    )
    ex = t.executions.c
    conn.execute(
        update(t.executions)
        .where(ex.execution_id == execution_id)
        .values(
            status=ExecutionStatus.FAILED.value,
            reason=reason,
            stop_reason=None,
            spent_usd=ex.spent_usd + amount,
            reserved_usd=0.0,
            completed_at=now,
        )
    )


def _aware(moment: Any) -> datetime:
    value = moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


__all__: list[str] = ["LifecycleStore", "heartbeat_seconds", "lost_after_seconds"]
