"""Failed runs of masterplans, and which of them the retry schedule has run again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from mge_pipeline.store import tables as t
from mge_pipeline.store.repository import MgeStore


@dataclass(frozen=True)
class RunFailure:
    run_id: str
    masterplan_id: str
    job_name: str
    message: str
    transient: bool
    failed_at: datetime
    retried_by: str | None


class RunFailureRepository:
    """The run-failure sensor writes here; the retry schedule reads and marks."""

    def __init__(self, store: MgeStore) -> None:
        self.store = store

    def record(
        self, *, run_id: str, masterplan_id: str, job_name: str, message: str, transient: bool
    ) -> bool:
        """False when the run was already recorded (a sensor tick seen twice)."""
        try:
            with self.store._begin() as conn:
                conn.execute(
                    insert(t.run_failures).values(
                        run_id=run_id,
                        masterplan_id=masterplan_id,
                        job_name=job_name,
                        message=message,
                        transient=transient,
                        failed_at=datetime.now(UTC),
                    )
                )
            return True
        except Exception as exc:
            if isinstance(exc.__cause__, IntegrityError):
                return False
            raise

    def failures(self, masterplan_id: str | None = None) -> list[RunFailure]:
        query = select(t.run_failures).order_by(t.run_failures.c.failed_at)
        if masterplan_id:
            query = query.where(t.run_failures.c.masterplan_id == masterplan_id)
        with self.store._read() as conn:
            return [_failure(dict(row._mapping)) for row in conn.execute(query)]

    def to_retry(self) -> list[RunFailure]:
        """Per masterplan, its latest failure, when transient and not yet retried."""
        latest: dict[str, RunFailure] = {}
        for failure in self.failures():
            latest[failure.masterplan_id] = failure
        return [f for f in latest.values() if f.transient and f.retried_by is None]

    def mark_retried(self, run_id: str, retried_by: str) -> None:
        with self.store._begin() as conn:
            conn.execute(
                update(t.run_failures)
                .where(t.run_failures.c.run_id == run_id)
                .values(retried_by=retried_by)
            )


def _failure(row: dict[str, object]) -> RunFailure:
    failed_at = row["failed_at"]
    assert isinstance(failed_at, datetime)
    return RunFailure(
        run_id=str(row["run_id"]),
        masterplan_id=str(row["masterplan_id"]),
        job_name=str(row["job_name"]),
        message=str(row["message"]),
        transient=bool(row["transient"]),
        failed_at=failed_at if failed_at.tzinfo else failed_at.replace(tzinfo=UTC),
        retried_by=None if row["retried_by"] is None else str(row["retried_by"]),
    )
