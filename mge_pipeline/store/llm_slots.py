"""The deployment-wide limit of LLM calls in flight, held in the store every run shares.

Each run already limits its own calls (``max_concurrent``, the call gate); a team running
several runs at once also needs one number for all of them (the account's concurrency, or a
cost ceiling). Slots are rows ``0 .. limit-1``; taking one is a conditional UPDATE of a free
(or expired) row, so two processes can never take the same slot, on SQLite or PostgreSQL, and
no lock is held while waiting. A slot is held only for the call itself, never while an atom
waits for its dependencies, so the limit cannot deadlock runs against each other (a Dagster
concurrency pool on the atom steps could: a step waiting for its dependencies would hold it).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import anyio
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from mge_pipeline.exceptions import StoreError
from mge_pipeline.store import tables as t
from mge_pipeline.store.repository import MgeStore

# Longer than any one call may take (the attempt timeout is 120 s): a slot whose holder died
# is free again after this.
DEFAULT_LEASE_SECONDS = 600.0


class LlmSlotRepository:
    def __init__(self, store: MgeStore) -> None:
        self.store = store

    def ensure_slots(self, limit: int) -> None:
        """Rows for slots ``0 .. limit-1`` exist (a raised limit adds rows; a lowered one
        simply stops using the higher ones)."""
        s = t.llm_slots
        with self.store._read() as conn:
            present = {row.slot_no for row in conn.execute(select(s.c.slot_no))}
        missing = [n for n in range(limit) if n not in present]
        for slot_no in missing:
            try:
                with self.store._begin() as conn:
                    conn.execute(insert(s).values(slot_no=slot_no))
            except StoreError as exc:  # another process added it first
                if not isinstance(exc.__cause__, IntegrityError):
                    raise

    def try_acquire(
        self, limit: int, holder: str, lease_seconds: float = DEFAULT_LEASE_SECONDS
    ) -> str | None:
        """A lease id, or None when every one of the ``limit`` slots is held."""
        s = t.llm_slots
        now = datetime.now(UTC)
        free = or_(s.c.lease_id.is_(None), s.c.expires_at < now)
        with self.store._read() as conn:
            candidates = [
                row.slot_no
                for row in conn.execute(
                    select(s.c.slot_no).where(and_(s.c.slot_no < limit, free)).order_by(s.c.slot_no)
                )
            ]
        for slot_no in candidates:
            lease = uuid.uuid4().hex
            with self.store._begin() as conn:
                taken = conn.execute(
                    update(s)
                    .where(and_(s.c.slot_no == slot_no, free))
                    .values(
                        lease_id=lease,
                        holder=holder,
                        expires_at=now + timedelta(seconds=lease_seconds),
                    )
                ).rowcount
            if taken == 1:
                return lease
        return None

    def release(self, lease: str) -> None:
        s = t.llm_slots
        with self.store._begin() as conn:
            conn.execute(
                update(s)
                .where(s.c.lease_id == lease)
                .values(lease_id=None, holder=None, expires_at=None)
            )

    def held(self) -> int:
        s = t.llm_slots
        now = datetime.now(UTC)
        with self.store._read() as conn:
            rows = conn.execute(
                select(s.c.slot_no).where(and_(s.c.lease_id.is_not(None), s.c.expires_at >= now))
            )
            return len(rows.all())


class StoreCallSlots:
    """The call gate's view of the store's slots: await one, give it back (``SharedCallSlots``)."""

    def __init__(
        self,
        store: MgeStore,
        limit: int,
        *,
        holder: str,
        poll_seconds: float = 0.05,
        max_poll_seconds: float = 1.0,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        if limit < 1:
            raise ValueError(f"deployment-wide LLM slots must be at least 1, not {limit}")
        self.repository = LlmSlotRepository(store)
        self.limit = limit
        self.holder = holder
        self._poll = poll_seconds
        self._max_poll = max_poll_seconds
        self._lease_seconds = lease_seconds
        self._ensured = False

    async def acquire(self) -> str:
        """Waits (polling, backing off up to ``max_poll_seconds``) until a slot is free."""
        if not self._ensured:
            await anyio.to_thread.run_sync(self.repository.ensure_slots, self.limit)
            self._ensured = True
        delay = self._poll
        while True:
            lease = await anyio.to_thread.run_sync(
                self.repository.try_acquire, self.limit, self.holder, self._lease_seconds
            )
            if lease is not None:
                return lease
            await anyio.sleep(delay)
            delay = min(self._max_poll, delay * 2)

    async def release(self, lease: str) -> None:
        await anyio.to_thread.run_sync(self.repository.release, lease)
