"""Prometheus metrics, written by whichever process runs the ops, merged by ``mge metrics serve``.

Runs execute in separate worker processes, so metrics use prometheus-client's multiprocess
mode: each process writes samples to files in one directory and the server merges them. The
mode is chosen when prometheus-client is first imported: see the package docstring.

Labels are masterplan, wave, language, error category, provider, model, never the atom: with
hundreds of atoms per plan, per-atom series would explode Prometheus' cardinality. Per-atom
detail lives in the store, the report and Dagit.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from itertools import pairwise

from prometheus_client import Counter, Gauge, Histogram

from mge_pipeline import settings
from mge_pipeline.domain import AtomResult, AttemptRecord, WaveSummary
from mge_pipeline.execution.report import RunReport

PLAN = ("masterplan",)

EXECUTION_PRECISION = Gauge(
    "v2_execution_precision_percent",
    "Validated atoms / all atoms of the run, in percent.",
    PLAN,
    multiprocess_mode="mostrecent",
)
EXECUTION_VERIFIED_PRECISION = Gauge(
    "v2_execution_verified_precision_percent",
    "Atoms validated with behavioural evidence (tests, doctests, characterization tests, the "
    "test command) / all atoms of the run, in percent.",
    PLAN,
    multiprocess_mode="mostrecent",
)
EXECUTION_TIME = Gauge(
    "v2_execution_time_seconds",
    "Wall time of the latest run of the masterplan.",
    PLAN,
    multiprocess_mode="mostrecent",
)
EXECUTION_COST = Counter("v2_execution_cost_usd", "USD spent on LLM calls.", PLAN)
EXECUTION_BUDGET_USED = Gauge(
    "v2_execution_budget_used_ratio",
    "Spent / budget of the latest run.",
    PLAN,
    multiprocess_mode="mostrecent",
)
WAVE_COMPLETION = Gauge(
    "v2_wave_completion_percent",
    "Atoms of the wave that ended validated, in percent.",
    ("masterplan", "wave"),
    multiprocess_mode="mostrecent",
)
WAVE_THROUGHPUT = Gauge(
    "v2_wave_atom_throughput",
    "Atoms finished per second in the wave.",
    ("masterplan", "wave"),
    multiprocess_mode="mostrecent",
)
WAVE_TIME = Gauge(
    "v2_wave_time_seconds",
    "Wall time of the wave.",
    ("masterplan", "wave"),
    multiprocess_mode="mostrecent",
)
RETRY_ATTEMPTS = Counter(
    "v2_retry_attempts", "Generation attempts beyond each atom's first.", ("masterplan", "language")
)
RETRY_SUCCESS_RATE = Gauge(
    "v2_retry_success_rate",
    "Of the atoms that needed a retry, the share that then validated.",
    PLAN,
    multiprocess_mode="mostrecent",
)
RETRY_TEMPERATURE_CHANGES = Counter(
    "v2_retry_temperature_changes", "Retries made at a different temperature.", PLAN
)
ATOM_TIME = Histogram(
    "v2_atom_execution_time_seconds",
    "Wall time of one atom, all attempts.",
    ("masterplan", "language"),
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600),
)
ATOM_PASS_RATE = Gauge(
    "v2_atom_validation_pass_rate",
    "Attempts that validated / attempts, for the latest run.",
    PLAN,
    multiprocess_mode="mostrecent",
)
ATOMS_SUCCEEDED = Counter(
    "v2_atoms_succeeded", "Atoms that ended validated.", ("masterplan", "language")
)
ATOMS_VERIFIED = Counter(
    "mge_atoms_verified",
    "Atoms that ended validated with behavioural evidence.",
    ("masterplan", "language"),
)
SURVIVING_MUTANTS = Counter(
    "mge_surviving_mutants",
    "Mutants of validated atoms that the atoms' tests did not catch.",
    ("masterplan", "language"),
)
ATOMS_FAILED = Counter(
    "v2_atoms_failed",
    "Atoms that ended failed, by the category of their last error.",
    ("masterplan", "language", "error_category"),
)
ATTEMPT_FAILURES = Counter(
    "mge_attempt_failures", "Failed attempts by error category.", ("masterplan", "error_category")
)
LLM_REQUESTS = Counter(
    "mge_llm_requests", "LLM calls that returned an answer.", ("provider", "model")
)
LLM_TOKENS = Counter(
    "mge_llm_tokens",
    "Tokens billed, by kind (input, output, cache_read, cache_write).",
    ("provider", "model", "kind"),
)
LLM_API_ERRORS = Counter(
    "mge_llm_api_errors", "Transient API errors that were retried.", ("provider", "model")
)


def record_atom(
    masterplan_id: str, language: str, result: AtomResult, *, provider: str, model: str
) -> None:
    """One atom's step is done: its attempts, tokens and outcome."""
    sample_dir()
    attempts = result.attempts
    EXECUTION_COST.labels(masterplan_id).inc(result.cost_usd)
    ATOM_TIME.labels(masterplan_id, language).observe(sum(a.duration_seconds for a in attempts))
    if len(attempts) > 1:
        RETRY_ATTEMPTS.labels(masterplan_id, language).inc(len(attempts) - 1)
        RETRY_TEMPERATURE_CHANGES.labels(masterplan_id).inc(_temperature_changes(attempts))
    for attempt in attempts:
        _record_call(attempt, provider=provider, model=model)
        if not attempt.passed and attempt.error_category:
            ATTEMPT_FAILURES.labels(masterplan_id, attempt.error_category.value).inc()
    if result.ok:
        ATOMS_SUCCEEDED.labels(masterplan_id, language).inc()
        _record_evidence(masterplan_id, language, result)
    elif result.status.value == "failed":
        category = attempts[-1].error_category if attempts else None
        ATOMS_FAILED.labels(masterplan_id, language, category.value if category else "none").inc()


def record_settled_atoms(
    masterplan_id: str, languages: Sequence[str], results: Sequence[AtomResult]
) -> None:
    """Atoms settled without an LLM call (cached) still count as succeeded."""
    sample_dir()
    for language, result in zip(languages, results, strict=True):
        if result.ok:
            ATOMS_SUCCEEDED.labels(masterplan_id, language).inc()
            _record_evidence(masterplan_id, language, result)


def _record_evidence(masterplan_id: str, language: str, result: AtomResult) -> None:
    if result.verified:
        ATOMS_VERIFIED.labels(masterplan_id, language).inc()
    if result.mutation and result.mutation.survivors:
        SURVIVING_MUTANTS.labels(masterplan_id, language).inc(len(result.mutation.survivors))


def record_wave(masterplan_id: str, summary: WaveSummary) -> None:
    sample_dir()
    wave = str(summary.wave_index)
    finished = summary.succeeded + summary.cached + summary.failed
    WAVE_COMPLETION.labels(masterplan_id, wave).set(100.0 * summary.success_rate)
    WAVE_TIME.labels(masterplan_id, wave).set(summary.duration_seconds)
    rate = finished / summary.duration_seconds if summary.duration_seconds > 0 else 0.0
    WAVE_THROUGHPUT.labels(masterplan_id, wave).set(rate)


def record_run(report: RunReport, *, budget_usd: float) -> None:
    sample_dir()
    plan = report.masterplan_id
    EXECUTION_PRECISION.labels(plan).set(report.precision_percent)
    EXECUTION_VERIFIED_PRECISION.labels(plan).set(report.verified_precision_percent)
    EXECUTION_TIME.labels(plan).set(report.total_time_seconds)
    EXECUTION_BUDGET_USED.labels(plan).set(
        report.total_cost_usd / budget_usd if budget_usd else 0.0
    )
    if report.attempts_total:
        passed = report.atoms_validated - report.atoms_cached  # one passing attempt each
        ATOM_PASS_RATE.labels(plan).set(passed / report.attempts_total)
    retried = [a for a in report.atoms if a.attempts > 1]
    if retried:
        recovered = sum(1 for a in retried if a.status in ("succeeded", "cached"))
        RETRY_SUCCESS_RATE.labels(plan).set(recovered / len(retried))


@functools.cache
def sample_dir() -> None:
    """Made before the first sample, not at import (prometheus-client writes a file per value)."""
    settings.metrics_dir()


def _record_call(attempt: AttemptRecord, *, provider: str, model: str) -> None:
    if attempt.api_retries:
        LLM_API_ERRORS.labels(provider, model).inc(attempt.api_retries)
    if not (attempt.prompt_tokens or attempt.response_tokens):
        return
    LLM_REQUESTS.labels(provider, model).inc()
    for kind, tokens in (
        ("input", attempt.prompt_tokens),
        ("output", attempt.response_tokens),
        ("cache_read", attempt.cache_read_tokens),
        ("cache_write", attempt.cache_write_tokens),
    ):
        LLM_TOKENS.labels(provider, model, kind).inc(tokens)


def _temperature_changes(attempts: Sequence[AttemptRecord]) -> int:
    return sum(1 for a, b in pairwise(attempts) if a.temperature != b.temperature)
