"""The review queue in the store: entries, decisions, and the record that serves an edit.

Every decision is one conditional UPDATE naming the entry's version as the reviewer read it,
plus a row in ``review_decisions`` (who, when, from which status to which), in one
transaction: a second reviewer acting on the same entry at the same moment changes nothing
and is told so.

An accepted edit also writes the reviewer's code as a validated result of a pseudo-execution
``review-<entry id>`` for the atom's spec hash. The run's cache (``validated_codes_by_hash``)
then serves it like any validated code, so the next run of the masterplan takes the edit
without a call, and the atoms blocked behind it run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from mge_pipeline.domain import AtomStatus
from mge_pipeline.domain.review import (
    NEEDS_RUN,
    OPEN,
    NewReviewEntry,
    ReviewAction,
    ReviewDecision,
    ReviewEntry,
    ReviewStatistics,
    ReviewStatus,
)
from mge_pipeline.exceptions import MgeError, StoreError
from mge_pipeline.store import tables as t
from mge_pipeline.store.repository import MgeStore

REVIEW_EXECUTION_PREFIX = "review-"


class ReviewConflictError(MgeError):
    """The entry changed between the reviewer's read and their decision; nothing was written."""


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class ReviewRepository:
    """The queue's operations over the same database as ``MgeStore``."""

    def __init__(self, store: MgeStore) -> None:
        self.store = store

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        try:
            with self.store.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"store {self.store.shown_url}: {_first_line(exc)}") from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.store.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"store {self.store.shown_url}: {_first_line(exc)}") from exc

    # -- adding -----------------------------------------------------------------------------

    def enqueue(
        self, masterplan_id: str, execution_id: str, candidates: Iterable[NewReviewEntry]
    ) -> list[int]:
        """Add each candidate, or refresh the open entry that already holds its atom and spec.

        Returns the ids of the entries added or refreshed.
        """
        e = t.review_entries.c
        ids: list[int] = []
        now = _now()
        with self._begin() as conn:
            for new in candidates:
                values = {
                    "execution_id": execution_id,
                    "atom_status": new.atom_status,
                    "priority": new.priority,
                    "confidence": new.confidence,
                    "confidence_level": new.confidence_level,
                    "reasons": list(new.reasons),
                    "updated_at": now,
                }
                existing = conn.execute(
                    select(e.entry_id, e.version).where(
                        e.masterplan_id == masterplan_id,
                        e.atom_id == new.atom_id,
                        e.spec_hash == new.spec_hash,
                        e.status.in_([s.value for s in OPEN]),
                    )
                ).first()
                if existing:
                    conn.execute(
                        update(t.review_entries)
                        .where(e.entry_id == existing.entry_id)
                        .values(version=existing.version + 1, **values)
                    )
                    ids.append(int(existing.entry_id))
                    continue
                result = conn.execute(
                    insert(t.review_entries).values(
                        masterplan_id=masterplan_id,
                        atom_id=new.atom_id,
                        spec_hash=new.spec_hash,
                        status=ReviewStatus.PENDING.value,
                        version=1,
                        created_at=now,
                        **values,
                    )
                )
                key = result.inserted_primary_key
                ids.append(int(key[0]) if key else 0)
        return ids

    # -- reading ----------------------------------------------------------------------------

    def entry(self, entry_id: int) -> ReviewEntry | None:
        with self._read() as conn:
            row = conn.execute(
                select(t.review_entries).where(t.review_entries.c.entry_id == entry_id)
            ).first()
        return _entry(row._mapping) if row else None

    def entries(
        self,
        masterplan_id: str | None = None,
        *,
        statuses: Sequence[ReviewStatus] | None = None,
        limit: int | None = None,
    ) -> list[ReviewEntry]:
        """Highest priority first, then lowest confidence, then oldest."""
        e = t.review_entries.c
        query = select(t.review_entries).order_by(
            e.priority.desc(), e.confidence.asc(), e.entry_id.asc()
        )
        if masterplan_id:
            query = query.where(e.masterplan_id == masterplan_id)
        if statuses:
            query = query.where(e.status.in_([ReviewStatus(s).value for s in statuses]))
        if limit:
            query = query.limit(limit)
        with self._read() as conn:
            return [_entry(row._mapping) for row in conn.execute(query)]

    def decisions(self, entry_id: int) -> list[ReviewDecision]:
        d = t.review_decisions.c
        query = select(t.review_decisions).where(d.entry_id == entry_id).order_by(d.id)
        with self._read() as conn:
            return [
                ReviewDecision(
                    entry_id=row.entry_id,
                    action=row.action,
                    reviewer=row.reviewer,
                    from_status=row.from_status,
                    to_status=row.to_status,
                    feedback=row.feedback,
                    decided_at=_aware(row.decided_at),
                )
                for row in conn.execute(query)
            ]

    def statistics(self, masterplan_id: str) -> ReviewStatistics:
        e = t.review_entries.c
        where = e.masterplan_id == masterplan_id
        with self._read() as conn:
            by_status = {
                row.status: int(row.n)
                for row in conn.execute(
                    select(e.status, func.count().label("n")).where(where).group_by(e.status)
                )
            }
            by_level = {
                row.confidence_level: int(row.n)
                for row in conn.execute(
                    select(e.confidence_level, func.count().label("n"))
                    .where(where)
                    .group_by(e.confidence_level)
                )
            }
            mean = conn.execute(select(func.avg(e.confidence)).where(where)).scalar()
        return ReviewStatistics(
            masterplan_id=masterplan_id,
            total=sum(by_status.values()),
            by_status=by_status,
            by_level=by_level,
            mean_confidence=float(mean) if mean is not None else None,
        )

    def awaiting_run(self) -> list[ReviewEntry]:
        """Edits and regenerations no run has carried out yet, across masterplans."""
        e = t.review_entries.c
        query = (
            select(t.review_entries)
            .where(e.status.in_([s.value for s in NEEDS_RUN]), e.applied_execution_id.is_(None))
            .order_by(e.masterplan_id, e.entry_id)
        )
        with self._read() as conn:
            return [_entry(row._mapping) for row in conn.execute(query)]

    def regeneration_feedback_by_atom(self, masterplan_id: str) -> dict[str, str]:
        """Atoms of the masterplan a reviewer asked for again and no run has generated since,
        with the newest feedback: read once per run, when its services are built."""
        e = t.review_entries.c
        query = (
            select(e.atom_id, e.feedback)
            .where(
                e.masterplan_id == masterplan_id,
                e.status == ReviewStatus.REGENERATING.value,
                e.applied_execution_id.is_(None),
            )
            .order_by(e.entry_id)
        )
        with self._read() as conn:
            return {row.atom_id: str(row.feedback or "") for row in conn.execute(query)}

    # -- deciding ---------------------------------------------------------------------------

    def decide(
        self,
        entry: ReviewEntry,
        *,
        action: ReviewAction,
        reviewer: str,
        to_status: ReviewStatus,
        feedback: str | None = None,
        code: str | None = None,
    ) -> ReviewEntry:
        """Apply one decision to the entry as ``entry`` shows it; refused if it changed since.

        An edit also stores the reviewer's code as the atom's validated result (see the
        module's docstring), in the same transaction.
        """
        e = t.review_entries.c
        now = _now()
        values: dict[str, Any] = {
            "status": to_status.value,
            "version": entry.version + 1,
            "updated_at": now,
        }
        if action is ReviewAction.ASSIGN:
            values["assignee"] = reviewer
        else:
            values.update(decided_by=reviewer, decided_at=now)
            if entry.assignee is None:
                values["assignee"] = reviewer
        if feedback is not None:
            values["feedback"] = feedback
        if code is not None:
            values["code"] = code
        with self._begin() as conn:
            changed = conn.execute(
                update(t.review_entries)
                .where(e.entry_id == entry.entry_id, e.version == entry.version)
                .values(**values)
            ).rowcount
            if changed != 1:
                raise ReviewConflictError(self._conflict_line(conn, entry.entry_id))
            conn.execute(
                insert(t.review_decisions).values(
                    entry_id=entry.entry_id,
                    action=action.value,
                    reviewer=reviewer,
                    from_status=entry.status,
                    to_status=to_status.value,
                    feedback=feedback,
                    decided_at=now,
                )
            )
            if action is ReviewAction.EDIT and code is not None:
                _serve_edit(conn, entry, code, reviewer, now)
        decided = self.entry(entry.entry_id)
        assert decided is not None, "the entry was updated in this transaction"
        return decided

    @staticmethod
    def _conflict_line(conn: Connection, entry_id: int) -> str:
        e = t.review_entries.c
        row = conn.execute(
            select(e.status, e.assignee, e.decided_by).where(e.entry_id == entry_id)
        ).first()
        if row is None:
            return f"review entry {entry_id} no longer exists"
        who = row.decided_by or row.assignee or "another reviewer"
        return (
            f"review entry {entry_id} changed while you were deciding (now {row.status}, "
            f"by {who}); nothing was written"
        )

    def remove(self, entry_id: int) -> bool:
        with self._begin() as conn:
            conn.execute(
                t.review_decisions.delete().where(t.review_decisions.c.entry_id == entry_id)
            )
            removed = conn.execute(
                t.review_entries.delete().where(t.review_entries.c.entry_id == entry_id)
            ).rowcount
        return bool(removed)

    def mark_applied(
        self, masterplan_id: str, execution_id: str, settled_atoms: Iterable[str]
    ) -> list[int]:
        """The run ``execution_id`` carried out the waiting edits and regenerations of the atoms
        it settled itself (served, generated, or failed again); an atom the run skipped or
        blocked keeps its decision waiting."""
        e = t.review_entries.c
        where = (
            e.masterplan_id == masterplan_id,
            e.status.in_([s.value for s in NEEDS_RUN]),
            e.applied_execution_id.is_(None),
            e.atom_id.in_(list(settled_atoms)),
        )
        with self._begin() as conn:
            ids = [int(row.entry_id) for row in conn.execute(select(e.entry_id).where(*where))]
            if ids:
                conn.execute(
                    update(t.review_entries)
                    .where(e.entry_id.in_(ids))
                    .values(
                        applied_execution_id=execution_id,
                        version=e.version + 1,
                        updated_at=_now(),
                    )
                )
        return ids


def _serve_edit(
    conn: Connection, entry: ReviewEntry, code: str, reviewer: str, now: datetime
) -> None:
    """The edit as a validated result for its spec hash: what the run's cache serves."""
    execution_id = f"{REVIEW_EXECUTION_PREFIX}{entry.entry_id}"
    r = t.atom_results.c
    conn.execute(t.atom_results.delete().where(r.execution_id == execution_id))
    conn.execute(
        insert(t.atom_results).values(
            execution_id=execution_id,
            atom_id=entry.atom_id,
            wave_index=-1,
            spec_hash=entry.spec_hash,
            status=AtomStatus.SUCCEEDED.value,
            code=code,
            attempt_count=0,
            cost_usd=0.0,
            reason=f"edited by {reviewer} in review entry {entry.entry_id}; validated",
            updated_at=now,
        )
    )


def _entry(row: Any) -> ReviewEntry:
    return ReviewEntry(
        entry_id=int(row["entry_id"]),
        masterplan_id=row["masterplan_id"],
        execution_id=row["execution_id"],
        atom_id=row["atom_id"],
        spec_hash=row["spec_hash"],
        atom_status=row["atom_status"],
        status=row["status"],
        priority=int(row["priority"]),
        confidence=float(row["confidence"]),
        confidence_level=row["confidence_level"],
        reasons=list(row["reasons"] or []),
        assignee=row["assignee"],
        feedback=row["feedback"],
        code=row["code"],
        decided_by=row["decided_by"],
        decided_at=_aware(row["decided_at"]),
        applied_execution_id=row["applied_execution_id"],
        version=int(row["version"]),
        created_at=_aware(row["created_at"]),
        updated_at=_aware(row["updated_at"]),
    )


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return f"{type(original).__name__}: {str(original).splitlines()[0] if str(original) else ''}"
