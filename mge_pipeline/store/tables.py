"""The store's schema: SQLAlchemy Core tables, portable between SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData()

masterplans = Table(
    "masterplans",
    metadata,
    Column("masterplan_id", String(200), primary_key=True),
    Column("revision", String(32), nullable=False),
    Column("name", String(500), nullable=False),
    Column("status", String(20), nullable=False),
    Column("document", JSON, nullable=False),
    Column("source", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

atoms = Table(
    "atoms",
    metadata,
    Column("masterplan_id", String(200), primary_key=True),
    Column("atom_id", String(200), primary_key=True),
    Column("task_id", String(200)),
    Column("file_path", String(500), nullable=False),
    Column("wave_index", Integer, nullable=False),
    Column("spec_hash", String(64), nullable=False),
)

executions = Table(
    "executions",
    metadata,
    Column("execution_id", String(64), primary_key=True),
    Column("masterplan_id", String(200), nullable=False, index=True),
    Column("revision", String(32), nullable=False),
    Column("status", String(20), nullable=False),
    Column("current_wave", Integer, nullable=False, default=0),
    Column("total_waves", Integer, nullable=False),
    Column("atoms_total", Integer, nullable=False),
    Column("budget_usd", Float, nullable=False),
    Column("spent_usd", Float, nullable=False, default=0.0),
    Column("reserved_usd", Float, nullable=False, default=0.0),
    Column("provider", String(50)),
    Column("model", String(100)),
    Column("output_dir", Text),
    Column("reason", Text),
    Column("started_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    # Set once, by the first wave close or atom that stops the run; every process reads it.
    Column("stop_reason", Text),
    # Written every few seconds by the live run worker; a stale one means the worker died.
    Column("heartbeat_at", DateTime(timezone=True)),
    # Set by ``mge pause``; the run worker reads it and stops starting calls.
    Column("pause_requested", Text),
)

# Two running executions never write one output directory: the second one's start fails on
# this index, atomically, however many processes start at once (SQLite and PostgreSQL alike).
_RUNNING = text("status = 'running'")
Index(
    "one_running_execution_per_output_dir",
    executions.c.output_dir,
    unique=True,
    sqlite_where=_RUNNING,
    postgresql_where=_RUNNING,
)

waves = Table(
    "waves",
    metadata,
    Column("execution_id", String(64), primary_key=True),
    Column("wave_index", Integer, primary_key=True),
    Column("atoms_total", Integer, nullable=False),
    Column("succeeded", Integer, nullable=False),
    Column("cached", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("blocked", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("duration_seconds", Float, nullable=False),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("execution_id", String(64), nullable=False, index=True),
    Column("atom_id", String(200), nullable=False),
    Column("attempt_number", Integer, nullable=False),
    Column("temperature", Float),
    Column("model", String(100), nullable=False, server_default=""),
    Column("effort", String(10)),
    Column("prompt_tokens", Integer, nullable=False),
    Column("response_tokens", Integer, nullable=False),
    Column("cache_read_tokens", Integer, nullable=False, server_default="0"),
    Column("cache_write_tokens", Integer, nullable=False, server_default="0"),
    Column("cost_usd", Float, nullable=False),
    Column("cost_without_cache_usd", Float, nullable=False, server_default="0"),
    Column("duration_seconds", Float, nullable=False),
    Column("api_retries", Integer, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("error_category", String(20)),
    Column("errors", JSON, nullable=False),
    Column("code", Text),
    Column("auto_fixes", JSON),
    Column("warnings", JSON),
)

atom_results = Table(
    "atom_results",
    metadata,
    Column("execution_id", String(64), primary_key=True),
    Column("atom_id", String(200), primary_key=True),
    Column("wave_index", Integer, nullable=False),
    Column("spec_hash", String(64), nullable=False, index=True),
    Column("status", String(20), nullable=False),
    Column("code", Text),
    Column("attempt_count", Integer, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("reason", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Behavioural evidence the validated code passed, comma-separated EvidenceKind values
    # ('' or NULL: none); mutation testing's outcome as {"tested": n, "survivors": [...]}.
    Column("evidence", Text),
    Column("mutation", JSON),
)

level_validations = Table(
    "level_validations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("execution_id", String(64), nullable=False, index=True),
    Column("level", String(20), nullable=False),
    Column("scope_id", String(200), nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("score", Float, nullable=False),
    Column("issues", JSON, nullable=False),
    Column("duration_seconds", Float, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

cost_ledger = Table(
    "cost_ledger",
    metadata,
    Column("reservation_id", String(64), primary_key=True),
    Column("execution_id", String(64), nullable=False, index=True),
    Column("atom_id", String(200), nullable=False),
    Column("reserved_usd", Float, nullable=False),
    Column("actual_usd", Float),
    Column("settled", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# ``mge regenerate``: validated code for these specs, recorded before the time, is not served
# from the cache again (it was found wrong after the fact).
cache_invalidations = Table(
    "cache_invalidations",
    metadata,
    Column("spec_hash", String(64), primary_key=True),
    Column("invalidated_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text),
)

# Human review (issue 15): one entry per atom under review, and every decision made on it.
review_entries = Table(
    "review_entries",
    metadata,
    Column("entry_id", Integer, primary_key=True, autoincrement=True),
    Column("masterplan_id", String(200), nullable=False, index=True),
    Column("execution_id", String(64), nullable=False),
    Column("atom_id", String(200), nullable=False),
    Column("spec_hash", String(64), nullable=False),
    Column("atom_status", String(20), nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("priority", Integer, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("confidence_level", String(20), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("assignee", String(200)),
    Column("feedback", Text),
    Column("code", Text),
    Column("decided_by", String(200)),
    Column("decided_at", DateTime(timezone=True)),
    # The execution that carried the decision into the pipeline; empty until a run did.
    Column("applied_execution_id", String(64)),
    # Bumped by every change: an update names the version it read, so two reviewers cannot
    # both decide on one entry.
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

review_decisions = Table(
    "review_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entry_id", Integer, nullable=False, index=True),
    Column("action", String(20), nullable=False),
    Column("reviewer", String(200), nullable=False),
    Column("from_status", String(20), nullable=False),
    Column("to_status", String(20), nullable=False),
    Column("feedback", Text),
    Column("decided_at", DateTime(timezone=True), nullable=False),
)

# Requests submitted in a Message Batch, by the fingerprint of their exact parameters: a run
# worker that restarts while a batch is pending finds it here instead of paying twice.
batch_requests = Table(
    "batch_requests",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("custom_id", String(64), nullable=False),
    Column("batch_id", String(100), nullable=False, index=True),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("collected", Boolean, nullable=False, default=False),
)

# Dagster runs of a masterplan that ended failed, recorded by the run-failure sensor (issue 17).
# ``transient`` failures (API outage, budget) are what the retry schedule runs again; the run it
# launched is kept in ``retried_by`` so one failure is retried once.
run_failures = Table(
    "run_failures",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("masterplan_id", String(200), nullable=False, index=True),
    Column("job_name", String(300), nullable=False),
    Column("message", Text, nullable=False),
    Column("transient", Boolean, nullable=False),
    Column("failed_at", DateTime(timezone=True), nullable=False),
    Column("retried_by", String(200)),
)

# The deployment-wide limit of LLM calls in flight (MGE_LLM_SLOTS): one row per slot, taken by
# a conditional UPDATE for the length of one call. A lease that outlives ``expires_at`` (its
# worker died mid-call) is free again.
llm_slots = Table(
    "llm_slots",
    metadata,
    Column("slot_no", Integer, primary_key=True, autoincrement=False),
    Column("lease_id", String(64)),
    Column("holder", String(200)),
    Column("expires_at", DateTime(timezone=True)),
)
