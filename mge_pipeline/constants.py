"""Names and defaults shared across packages: tag keys, environment variables, limits."""

from __future__ import annotations

from typing import Final

ENV_DATABASE_URL = "MGE_DATABASE_URL"
ENV_HOME = "MGE_HOME"
ENV_PROVIDER = "MGE_PROVIDER"
ENV_MODEL = "MGE_MODEL"
ENV_ANTHROPIC_API_KEY = "ANTHROPIC_API_KEY"
ENV_ANTHROPIC_BASE_URL = "ANTHROPIC_BASE_URL"
ENV_OUTPUT_DIR = "MGE_OUTPUT_DIR"
ENV_EXAMPLES_DIR = "MGE_EXAMPLES_DIR"
ENV_SANDBOX_READ_ONLY = "MGE_SANDBOX_READ_ONLY"

DEFAULT_HOME = ".mge"
DEFAULT_MODEL = "claude-sonnet-5-5"
DEFAULT_MAX_CONCURRENT = 100
DEFAULT_BUDGET_USD = 25.0
DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_TEMPERATURES = (0.7, 0.5, 0.3, 0.3)
DEFAULT_ATTEMPT_TIMEOUT_SECONDS = 120.0
DEFAULT_VALIDATION_TIMEOUT_SECONDS = 10.0
DEFAULT_VALIDATION_MEMORY_MB = 512
DEFAULT_MAX_TOKENS = 2048
DEFAULT_MAX_MUTANTS = 4
"""Mutants of each validated atom run against its tests; 0 switches mutation testing off."""
DEFAULT_CROSS_CHECK: Final = "weak"
"""Cross-check validated atoms against an independent sample: weak (tests let a mutant
survive), all, or off (``validation/cross_check.py``)."""
DEFAULT_REPAIR_ROUNDS = 1
"""Rounds of regenerating the atoms suspected when the plan's tests fail; 0: none."""
DEFAULT_WAVE_STOP_THRESHOLD = 0.5
DEFAULT_FAULT_RATE = 0.10
DEFAULT_SIMULATED_LATENCY_SECONDS = 0.2
DEFAULT_SANDBOX_PROCESSES = 4

TAG_MASTERPLAN_ID = "mge/masterplan_id"
TAG_MASTERPLAN_REVISION = "mge/revision"
TAG_MODEL = "mge/model"
# A running execution whose heartbeat is older than this is lost (its worker died); the run
# writes a heartbeat six times as often.
ENV_LOST_AFTER_SECONDS = "MGE_LOST_AFTER_SECONDS"
DEFAULT_LOST_AFTER_SECONDS = 30.0
TAG_EXECUTION_ID = "mge/execution_id"
# Dagster's step-priority tag: the executor starts ready steps in descending priority.
TAG_DAGSTER_PRIORITY = "dagster/priority"

JOB_PREFIX = "mge_"

# Human review (issue 15): the share of validated atoms, lowest confidence first, that a run
# puts in the review queue besides the atoms that failed.
ENV_REVIEW_BOTTOM_PERCENT = "MGE_REVIEW_BOTTOM_PERCENT"
DEFAULT_REVIEW_BOTTOM_PERCENT = 15.0
ENV_REVIEWER = "MGE_REVIEWER"

# Team deployment (issue 17): the daemon's schedules, off unless MGE_SCHEDULES=running.
ENV_SCHEDULES = "MGE_SCHEDULES"
ENV_RETRY_SCHEDULE = "MGE_RETRY_SCHEDULE"
ENV_REVALIDATE_SCHEDULE = "MGE_REVALIDATE_SCHEDULE"
DEFAULT_RETRY_SCHEDULE = "*/30 * * * *"
DEFAULT_REVALIDATE_SCHEDULE = "0 4 * * *"
# Why a run was launched, on runs the sensors and schedules request.
TAG_TRIGGER = "mge/trigger"
TAG_RETRY_OF = "mge/retry_of"
# The deployment-wide limit of LLM calls in flight across all runs (unset: none but each
# run's own max_concurrent), held in the store (mge_pipeline/store/llm_slots.py).
ENV_LLM_SLOTS = "MGE_LLM_SLOTS"
# Scale-out (issue 17): the executor compiled jobs run on, and Celery's broker and backend.
ENV_EXECUTOR = "MGE_EXECUTOR"
ENV_CELERY_BROKER = "MGE_CELERY_BROKER"
ENV_CELERY_BACKEND = "MGE_CELERY_BACKEND"
DEFAULT_CELERY_BROKER = "pyamqp://guest:guest@127.0.0.1:5672//"
DEFAULT_CELERY_BACKEND = "rpc://"
# dagster-celery orders and prioritises steps by its own tag, not dagster/priority.
TAG_CELERY_PRIORITY = "dagster-celery/priority"
# `mge serve`: bearer tokens (name:token:scope+scope, `;`-separated, or one a line in a file),
# Dagster's GraphQL address for launching and stopping runs.
ENV_API_TOKENS = "MGE_API_TOKENS"
ENV_API_TOKENS_FILE = "MGE_API_TOKENS_FILE"
ENV_DAGSTER_URL = "MGE_DAGSTER_URL"
DEFAULT_DAGSTER_URL = "http://127.0.0.1:3000"
DEFAULT_API_PORT = 8600
