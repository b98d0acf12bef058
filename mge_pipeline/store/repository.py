"""The store: the source of truth between processes (run workers, sensors, the CLI).

Counts in an execution's state are derived from ``atom_results`` when read, not kept as
counters, so a hundred atoms finishing at once never race on one row. The only counters are
the budget columns, and those change in single conditional UPDATEs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, and_, case, func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from mge_pipeline.domain import (
    AtomResult,
    AtomStatus,
    AttemptRecord,
    ErrorCategory,
    EvidenceKind,
    ExecutionState,
    ExecutionStatus,
    LevelValidation,
    MasterPlan,
    MutationOutcome,
    WaveSummary,
)
from mge_pipeline.domain.evidence import decode_evidence, encode_evidence
from mge_pipeline.domain.records import (
    AtomResultRecord,
    CachedAtom,
    ExecutionInfo,
    MasterplanRecord,
    MasterplanStatus,
    Reservation,
)
from mge_pipeline.exceptions import BudgetExceededError, OutputBusyError, StoreError
from mge_pipeline.store import migrations
from mge_pipeline.store import tables as t
from mge_pipeline.store.engine import make_engine, normalise_database_url
from mge_pipeline.store.lifecycle import LifecycleStore

# Kept for callers that name the statuses the sensor and ``mge submit`` use.
MASTERPLAN_DRAFT = MasterplanStatus.DRAFT
MASTERPLAN_READY = MasterplanStatus.READY
_VALIDATED = (AtomStatus.SUCCEEDED.value, AtomStatus.CACHED.value)
_T = TypeVar("_T")

_TERMINAL = (
    *_VALIDATED,
    AtomStatus.FAILED.value,
    AtomStatus.BLOCKED.value,
    AtomStatus.SKIPPED.value,
)


def _now() -> datetime:
    return datetime.now(UTC)


def _mutation(stored: object) -> MutationOutcome | None:
    """The stored mutation outcome; NULL (never run, or a row older than the column) is None."""
    return MutationOutcome.model_validate(stored) if isinstance(stored, dict) else None


class MgeStore(LifecycleStore):
    def __init__(self, url: str, *, engine: Engine | None = None, create: bool = True) -> None:
        """The schema is created or upgraded on open, so a new URL or an older store just works."""
        self.url = normalise_database_url(url)
        self.engine = engine or make_engine(self.url)
        if create:
            self.create_all()

    @property
    def shown_url(self) -> str:
        """The URL without its password, for messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """SQLAlchemy's errors leave the repository as one-line StoreErrors naming the store."""
        try:
            yield
        except SQLAlchemyError as exc:
            raise StoreError(f"store {self.shown_url}: {_first_line(exc)}") from exc

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        with self._translated(), self.engine.begin() as conn:
            yield conn

    def _write_once_settled(self, write: Callable[[Connection], _T]) -> _T:
        """A write that checks, then inserts: two processes setting up the same plan at once
        can both find nothing, and the second insert then fails on the first's row. Repeated,
        the loser finds the row and updates it instead."""
        for attempt in range(3):
            try:
                with self._begin() as conn:
                    return write(conn)
            except StoreError as exc:
                if attempt == 2 or not isinstance(exc.__cause__, IntegrityError):
                    raise
        raise AssertionError("unreachable")

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._translated(), self.engine.connect() as conn:
            yield conn

    def create_all(self) -> None:
        """Create the schema, or upgrade an older one, through the Alembic revisions.

        A no-op (one query) when the store is at the newest revision; concurrent openers of a
        new store wait for the first one's migration (mge_pipeline/store/migrations).
        """
        try:
            migrations.upgrade(self.engine)
        except SQLAlchemyError as exc:
            raise StoreError(f"store {self.shown_url}: {_first_line(exc)}") from exc

    def dispose(self) -> None:
        self.engine.dispose()

    def save_masterplan(
        self, plan: MasterPlan, *, status: MasterplanStatus, source: str | None = None
    ) -> str:
        """Insert or replace; returns the revision so callers can key runs by it."""
        revision = plan.revision()
        row = {
            "revision": revision,
            "name": plan.name,
            "status": MasterplanStatus(status).value,
            "document": plan.model_dump(mode="json"),
            "source": source,
            "updated_at": _now(),
        }

        def write(conn: Connection) -> None:
            key = t.masterplans.c.masterplan_id == plan.id
            if conn.execute(select(t.masterplans.c.masterplan_id).where(key)).first():
                conn.execute(update(t.masterplans).where(key).values(**row))
            else:
                conn.execute(
                    insert(t.masterplans).values(masterplan_id=plan.id, created_at=_now(), **row)
                )

        self._write_once_settled(write)
        return revision

    def get_masterplan(self, masterplan_id: str) -> MasterPlan | None:
        with self._read() as conn:
            row = conn.execute(
                select(t.masterplans.c.document).where(
                    t.masterplans.c.masterplan_id == masterplan_id
                )
            ).first()
        return MasterPlan.model_validate(row.document) if row else None

    def masterplans(self, *, status: MasterplanStatus | None = None) -> list[MasterplanRecord]:
        m = t.masterplans.c
        query = select(
            m.masterplan_id, m.revision, m.name, m.status, m.source, m.updated_at
        ).order_by(m.masterplan_id)
        if status:
            query = query.where(m.status == MasterplanStatus(status).value)
        with self._read() as conn:
            return [
                MasterplanRecord(
                    masterplan_id=row.masterplan_id,
                    revision=row.revision,
                    name=row.name,
                    status=MasterplanStatus(row.status),
                    source=row.source,
                    updated_at=_aware(row.updated_at),
                )
                for row in conn.execute(query)
            ]

    def stored_plans(self) -> list[MasterPlan]:
        """Every stored masterplan document, validated."""
        query = select(t.masterplans.c.document).order_by(t.masterplans.c.masterplan_id)
        with self._read() as conn:
            documents = [row.document for row in conn.execute(query)]
        return [MasterPlan.model_validate(document) for document in documents]

    def set_masterplan_status(self, masterplan_id: str, status: MasterplanStatus) -> None:
        with self._begin() as conn:
            conn.execute(
                update(t.masterplans)
                .where(t.masterplans.c.masterplan_id == masterplan_id)
                .values(status=MasterplanStatus(status).value, updated_at=_now())
            )

    def save_atoms(
        self, plan: MasterPlan, waves: Sequence[Sequence[str]], hashes: dict[str, str]
    ) -> None:
        task_of = plan.task_of()
        wave_of = {atom_id: index for index, wave in enumerate(waves) for atom_id in wave}
        rows = [
            {
                "masterplan_id": plan.id,
                "atom_id": atom.id,
                "task_id": task_of[atom.id],
                "file_path": atom.file_path,
                "wave_index": wave_of[atom.id],
                "spec_hash": hashes[atom.id],
            }
            for atom in plan.atoms()
        ]

        def write(conn: Connection) -> None:
            conn.execute(t.atoms.delete().where(t.atoms.c.masterplan_id == plan.id))
            conn.execute(insert(t.atoms), rows)

        self._write_once_settled(write)

    def start_execution(
        self,
        *,
        execution_id: str,
        plan: MasterPlan,
        total_waves: int,
        budget_usd: float,
        provider: str,
        model: str,
        output_dir: str,
    ) -> None:
        """Refused (``OutputBusyError``) while another execution writes ``output_dir``."""
        with self._output_dir_claimed(output_dir), self._begin() as conn:
            conn.execute(t.executions.delete().where(t.executions.c.execution_id == execution_id))
            conn.execute(
                insert(t.executions).values(
                    execution_id=execution_id,
                    masterplan_id=plan.id,
                    revision=plan.revision(),
                    status=ExecutionStatus.RUNNING.value,
                    current_wave=0,
                    total_waves=total_waves,
                    atoms_total=sum(1 for _ in plan.atoms()),
                    budget_usd=budget_usd,
                    spent_usd=0.0,
                    reserved_usd=0.0,
                    provider=provider,
                    model=model,
                    output_dir=output_dir,
                    started_at=_now(),
                )
            )

    @contextmanager
    def _output_dir_claimed(self, output_dir: str) -> Iterator[None]:
        """Turns the unique index on running executions' output directories into a message."""
        try:
            yield
        except StoreError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            holder = self.execution_writing(output_dir)
            if holder is None:
                raise
            raise OutputBusyError(
                f"output directory {output_dir} is being written by execution {holder} "
                "(running): wait for it, cancel it (mge cancel), or choose another --output"
            ) from exc

    def set_current_wave(self, execution_id: str, wave_index: int) -> None:
        """The furthest wave with an atom under way; it only moves forward."""
        ex = t.executions.c
        with self._begin() as conn:
            conn.execute(
                update(t.executions)
                .where(ex.execution_id == execution_id, ex.current_wave < wave_index)
                .values(current_wave=wave_index)
            )

    def finish_execution(
        self, execution_id: str, *, status: ExecutionStatus, reason: str | None
    ) -> None:
        self._update_execution(
            execution_id, status=status.value, reason=reason, completed_at=_now()
        )

    def _update_execution(self, execution_id: str, **values: Any) -> None:
        with self._begin() as conn:
            conn.execute(
                update(t.executions)
                .where(t.executions.c.execution_id == execution_id)
                .values(**values)
            )

    def reserve(self, *, execution_id: str, atom_id: str, amount_usd: float) -> Reservation:
        """One conditional UPDATE, so concurrent reservations (any process) cannot overshoot."""
        ex = t.executions.c
        reservation = Reservation(uuid.uuid4().hex, amount_usd)
        with self._begin() as conn:
            claimed = conn.execute(
                update(t.executions)
                .where(
                    and_(
                        ex.execution_id == execution_id,
                        ex.spent_usd + ex.reserved_usd + amount_usd <= ex.budget_usd,
                    )
                )
                .values(reserved_usd=ex.reserved_usd + amount_usd)
            ).rowcount
            if claimed != 1:
                row = conn.execute(
                    select(ex.budget_usd, ex.spent_usd, ex.reserved_usd).where(
                        ex.execution_id == execution_id
                    )
                ).first()
                raise BudgetExceededError.refused(
                    budget_usd=row.budget_usd if row else 0.0,
                    spent_usd=row.spent_usd if row else 0.0,
                    reserved_usd=row.reserved_usd if row else 0.0,
                    needed_usd=amount_usd,
                )
            conn.execute(
                insert(t.cost_ledger).values(
                    reservation_id=reservation.reservation_id,
                    execution_id=execution_id,
                    atom_id=atom_id,
                    reserved_usd=amount_usd,
                    settled=False,
                    created_at=_now(),
                )
            )
        return reservation

    def settle(
        self,
        reservation: Reservation,
        *,
        execution_id: str,
        actual_usd: float,
        attempt: AttemptRecord | None = None,
    ) -> None:
        """Settle a call, and record the attempt it belongs to in the same transaction."""
        ex = t.executions.c
        with self._begin() as conn:
            if attempt is not None:
                conn.execute(
                    insert(t.attempts).values(
                        execution_id=execution_id, **attempt.model_dump(mode="json")
                    )
                )
            conn.execute(
                update(t.executions)
                .where(ex.execution_id == execution_id)
                .values(
                    reserved_usd=ex.reserved_usd - reservation.amount_usd,
                    spent_usd=ex.spent_usd + actual_usd,
                )
            )
            conn.execute(
                update(t.cost_ledger)
                .where(t.cost_ledger.c.reservation_id == reservation.reservation_id)
                .values(actual_usd=actual_usd, settled=True)
            )

    def record_attempt(self, execution_id: str, record: AttemptRecord) -> None:
        values = record.model_dump(mode="json")
        with self._begin() as conn:
            conn.execute(insert(t.attempts).values(execution_id=execution_id, **values))

    def record_atom_result(
        self, execution_id: str, *, wave_index: int, spec_hash: str, result: AtomResult
    ) -> None:
        self.record_atom_results(execution_id, wave_index=wave_index, entries=[(spec_hash, result)])

    def record_atom_results(
        self, execution_id: str, *, wave_index: int, entries: Iterable[tuple[str, AtomResult]]
    ) -> None:
        """Upsert results of one wave in one transaction (a wave's cached atoms arrive together)."""
        rows = [
            {
                "execution_id": execution_id,
                "atom_id": result.atom_id,
                "wave_index": wave_index,
                "spec_hash": spec_hash,
                "status": result.status.value,
                "code": result.code,
                "attempt_count": len(result.attempts),
                "cost_usd": result.cost_usd,
                "reason": result.reason,
                "updated_at": _now(),
                "evidence": encode_evidence(result.evidence),
                "mutation": result.mutation.model_dump(mode="json") if result.mutation else None,
            }
            for spec_hash, result in entries
        ]
        if not rows:
            return
        r = t.atom_results.c
        ids = [row["atom_id"] for row in rows]
        with self._begin() as conn:
            conn.execute(
                t.atom_results.delete().where(r.execution_id == execution_id, r.atom_id.in_(ids))
            )
            conn.execute(insert(t.atom_results), rows)

    def validated_codes_by_hash(self, spec_hashes: Iterable[str]) -> dict[str, str]:
        """The newest validated code per spec hash, from any run: the cache, read in one query."""
        return {h: cached.code for h, cached in self.cached_atoms_by_hash(spec_hashes).items()}

    def cached_atoms_by_hash(self, spec_hashes: Iterable[str]) -> dict[str, CachedAtom]:
        """The cache with what the code passed when it validated: its behavioural evidence
        (the test command's is the plan's of that run, so it is not carried over) and its
        mutation outcome."""
        hashes = list(set(spec_hashes))
        if not hashes:
            return {}
        r = t.atom_results.c
        invalidated = (
            select(t.cache_invalidations.c.spec_hash)
            .where(
                t.cache_invalidations.c.spec_hash == r.spec_hash,
                t.cache_invalidations.c.invalidated_at >= r.updated_at,
            )
            .exists()
        )
        query = (
            select(r.spec_hash, r.code, r.evidence, r.mutation)
            .where(
                r.spec_hash.in_(hashes),
                r.status == AtomStatus.SUCCEEDED.value,
                r.code.is_not(None),
                ~invalidated,
            )
            .order_by(r.updated_at)
        )
        with self._read() as conn:
            return {
                row.spec_hash: CachedAtom(
                    code=row.code,
                    evidence=tuple(
                        kind
                        for kind in decode_evidence(row.evidence)
                        if kind is not EvidenceKind.TEST_COMMAND
                    ),
                    mutation=_mutation(row.mutation),
                )
                for row in conn.execute(query)
            }

    def add_evidence(self, execution_id: str, atom_ids: Iterable[str], kind: EvidenceKind) -> None:
        """Record a plan-level check (the test command) as evidence of these validated atoms."""
        ids = list(atom_ids)
        if not ids:
            return
        r = t.atom_results.c
        with self._begin() as conn:
            rows = conn.execute(
                select(r.atom_id, r.evidence).where(
                    r.execution_id == execution_id, r.atom_id.in_(ids), r.status.in_(_VALIDATED)
                )
            ).all()
            for row in rows:
                kinds = encode_evidence([*decode_evidence(row.evidence), kind])
                conn.execute(
                    update(t.atom_results)
                    .where(r.execution_id == execution_id, r.atom_id == row.atom_id)
                    .values(evidence=kinds)
                )

    def closed_waves(self, execution_id: str) -> list[int]:
        w = t.waves.c
        with self._read() as conn:
            rows = conn.execute(select(w.wave_index).where(w.execution_id == execution_id))
            return [row.wave_index for row in rows]

    def set_stop_reason(self, execution_id: str, reason: str) -> str:
        """The first stop reason of an execution wins; returns the one in force."""
        ex = t.executions.c
        with self._begin() as conn:
            conn.execute(
                update(t.executions)
                .where(ex.execution_id == execution_id, ex.stop_reason.is_(None))
                .values(stop_reason=reason)
            )
            row = conn.execute(
                select(ex.stop_reason).where(ex.execution_id == execution_id)
            ).first()
        return str(row.stop_reason) if row and row.stop_reason else reason

    def stop_reason(self, execution_id: str) -> str | None:
        ex = t.executions.c
        with self._read() as conn:
            row = conn.execute(
                select(ex.stop_reason).where(ex.execution_id == execution_id)
            ).first()
        return row.stop_reason if row else None

    def validated_codes(self, execution_id: str, atom_ids: Iterable[str]) -> dict[str, str]:
        ids = list(atom_ids)
        if not ids:
            return {}
        r = t.atom_results.c
        query = select(r.atom_id, r.code).where(
            r.execution_id == execution_id, r.atom_id.in_(ids), r.status.in_(_VALIDATED)
        )
        with self._read() as conn:
            return {row.atom_id: row.code for row in conn.execute(query) if row.code is not None}

    def atom_statuses(self, execution_id: str) -> dict[str, AtomStatus]:
        r = t.atom_results.c
        with self._read() as conn:
            rows = conn.execute(select(r.atom_id, r.status).where(r.execution_id == execution_id))
            return {row.atom_id: AtomStatus(row.status) for row in rows}

    def atom_results(
        self, execution_id: str, atom_ids: Iterable[str] | None = None
    ) -> list[AtomResultRecord]:
        r = t.atom_results.c
        query = select(t.atom_results).where(r.execution_id == execution_id)
        if atom_ids is not None:
            query = query.where(r.atom_id.in_(list(atom_ids)))
        with self._read() as conn:
            return [
                AtomResultRecord(
                    atom_id=row.atom_id,
                    wave_index=row.wave_index,
                    spec_hash=row.spec_hash,
                    status=AtomStatus(row.status),
                    code=row.code,
                    attempt_count=row.attempt_count,
                    cost_usd=row.cost_usd,
                    reason=row.reason,
                    evidence=decode_evidence(row.evidence),
                    mutation=_mutation(row.mutation),
                )
                for row in conn.execute(query)
            ]

    def attempts(self, execution_id: str) -> list[AttemptRecord]:
        a = t.attempts
        query = (
            select(a)
            .where(a.c.execution_id == execution_id)
            .order_by(a.c.atom_id, a.c.attempt_number)
        )
        with self._read() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]
        return [
            AttemptRecord(
                **{
                    k: v
                    for k, v in row.items()
                    if k not in ("id", "execution_id", "error_category") and v is not None
                },
                error_category=ErrorCategory(row["error_category"])
                if row["error_category"]
                else None,
            )
            for row in rows
        ]

    def record_level_validation(self, execution_id: str, result: LevelValidation) -> None:
        """One row per level and scope per execution; a re-run of finalize replaces it."""
        lv = t.level_validations.c
        key = and_(
            lv.execution_id == execution_id,
            lv.level == result.level.value,
            lv.scope_id == result.scope_id,
        )
        values = result.model_dump(mode="json")
        with self._begin() as conn:
            conn.execute(t.level_validations.delete().where(key))
            conn.execute(
                insert(t.level_validations).values(
                    execution_id=execution_id, created_at=_now(), **values
                )
            )

    def level_validations(self, execution_id: str) -> list[LevelValidation]:
        """In the order they ran: tasks, then milestones, then the masterplan."""
        lv = t.level_validations
        query = select(lv).where(lv.c.execution_id == execution_id).order_by(lv.c.id)
        with self._read() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]
        fields = set(LevelValidation.model_fields)
        return [
            LevelValidation.model_validate({k: v for k, v in row.items() if k in fields})
            for row in rows
        ]

    def record_wave(self, execution_id: str, summary: WaveSummary) -> None:
        key = and_(
            t.waves.c.execution_id == execution_id, t.waves.c.wave_index == summary.wave_index
        )
        with self._begin() as conn:
            conn.execute(t.waves.delete().where(key))
            conn.execute(insert(t.waves).values(execution_id=execution_id, **summary.model_dump()))

    def wave_summaries(self, execution_id: str) -> list[WaveSummary]:
        w = t.waves
        query = select(w).where(w.c.execution_id == execution_id).order_by(w.c.wave_index)
        with self._read() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]
        return [
            WaveSummary(**{k: v for k, v in row.items() if k != "execution_id"}) for row in rows
        ]

    def execution_state(self, execution_id: str) -> ExecutionState | None:
        with self._read() as conn:
            row = conn.execute(
                select(t.executions).where(t.executions.c.execution_id == execution_id)
            ).first()
            if row is None:
                return None
            counts = self._counts(conn, execution_id)
        return _state(dict(row._mapping), counts)

    def executions(
        self, masterplan_id: str | None = None, *, limit: int = 20
    ) -> list[ExecutionState]:
        ex = t.executions
        query = select(ex.c.execution_id).order_by(ex.c.started_at.desc()).limit(limit)
        if masterplan_id:
            query = query.where(ex.c.masterplan_id == masterplan_id)
        with self._read() as conn:
            ids = [row.execution_id for row in conn.execute(query)]
        return [state for i in ids if (state := self.execution_state(i)) is not None]

    def execution_info(self, execution_id: str) -> ExecutionInfo | None:
        with self._read() as conn:
            row = conn.execute(
                select(t.executions).where(t.executions.c.execution_id == execution_id)
            ).first()
        if row is None:
            return None
        return ExecutionInfo(
            execution_id=row.execution_id,
            masterplan_id=row.masterplan_id,
            revision=row.revision,
            status=ExecutionStatus(row.status),
            budget_usd=row.budget_usd,
            spent_usd=row.spent_usd,
            reserved_usd=row.reserved_usd,
            provider=row.provider,
            model=row.model,
            output_dir=row.output_dir or "",
            stop_reason=row.stop_reason,
            reason=row.reason,
        )

    def pending_batch_request(self, fingerprint: str) -> tuple[str, str] | None:
        """(batch id, custom id) of a submitted request whose result nobody collected yet."""
        b = t.batch_requests.c
        query = select(b.batch_id, b.custom_id).where(
            b.fingerprint == fingerprint, b.collected.is_(False)
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        return (row.batch_id, row.custom_id) if row else None

    def record_batch_requests(self, batch_id: str, entries: Sequence[tuple[str, str]]) -> None:
        """One row per (fingerprint, custom id); a resubmitted request replaces its old row."""
        fingerprints = [fingerprint for fingerprint, _ in entries]
        rows = [
            {
                "fingerprint": fingerprint,
                "custom_id": custom_id,
                "batch_id": batch_id,
                "submitted_at": _now(),
                "collected": False,
            }
            for fingerprint, custom_id in entries
        ]
        with self._begin() as conn:
            conn.execute(
                t.batch_requests.delete().where(t.batch_requests.c.fingerprint.in_(fingerprints))
            )
            if rows:
                conn.execute(insert(t.batch_requests), rows)

    def pending_batches(self, since: datetime) -> dict[str, int]:
        """Uncollected requests per batch submitted since ``since``: the CLI's batch progress."""
        b = t.batch_requests.c
        query = (
            select(b.batch_id, func.count().label("requests"))
            .where(b.collected.is_(False), b.submitted_at >= since)
            .group_by(b.batch_id)
            .order_by(b.batch_id)
        )
        with self._read() as conn:
            return {row.batch_id: int(row.requests) for row in conn.execute(query)}

    def mark_batch_request_collected(self, fingerprint: str) -> None:
        b = t.batch_requests.c
        with self._begin() as conn:
            conn.execute(
                update(t.batch_requests).where(b.fingerprint == fingerprint).values(collected=True)
            )

    @staticmethod
    def _counts(conn: Any, execution_id: str) -> dict[str, int]:
        r = t.atom_results.c
        row = conn.execute(
            select(
                func.count().filter(r.status.in_(_TERMINAL)).label("completed"),
                func.sum(case((r.status.in_(_VALIDATED), 1), else_=0)).label("succeeded"),
                func.sum(case((r.status == AtomStatus.FAILED.value, 1), else_=0)).label("failed"),
                func.sum(
                    case(
                        (and_(r.status.in_(_VALIDATED), func.coalesce(r.evidence, "") != ""), 1),
                        else_=0,
                    )
                ).label("verified"),
            ).where(r.execution_id == execution_id)
        ).first()
        return {
            "completed": int(row.completed or 0),
            "succeeded": int(row.succeeded or 0),
            "failed": int(row.failed or 0),
            "verified": int(row.verified or 0),
        }


def _first_line(exc: BaseException) -> str:
    """SQLAlchemy's messages run to many lines (SQL, parameters, a link); the cause is first."""
    original = getattr(exc, "orig", None) or exc
    return f"{type(original).__name__}: {str(original).splitlines()[0] if str(original) else ''}"


def _state(row: dict[str, Any], counts: dict[str, int]) -> ExecutionState:
    started, completed = _aware(row["started_at"]), _aware(row["completed_at"])
    elapsed = ((completed or _now()) - started).total_seconds() if started else 0.0
    return ExecutionState(
        execution_id=row["execution_id"],
        masterplan_id=row["masterplan_id"],
        status=ExecutionStatus(row["status"]),
        current_wave=row["current_wave"],
        total_waves=row["total_waves"],
        atoms_completed=counts["completed"],
        atoms_total=row["atoms_total"],
        atoms_succeeded=counts["succeeded"],
        atoms_verified=counts["verified"],
        atoms_failed=counts["failed"],
        total_cost_usd=row["spent_usd"],
        total_time_seconds=elapsed,
        started_at=started,
        completed_at=completed,
        provider=row["provider"],
        reason=row["reason"],
    )


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we write is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
