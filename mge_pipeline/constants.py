"""Names and defaults shared across packages: tag keys, environment variables, limits."""

from __future__ import annotations

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
DEFAULT_REPAIR_ROUNDS = 1
"""Rounds of regenerating the atoms suspected when the plan's tests fail; 0: none."""
DEFAULT_WAVE_STOP_THRESHOLD = 0.5
DEFAULT_FAULT_RATE = 0.10
DEFAULT_SIMULATED_LATENCY_SECONDS = 0.2
DEFAULT_SANDBOX_PROCESSES = 4

TAG_MASTERPLAN_ID = "mge/masterplan_id"
TAG_MASTERPLAN_REVISION = "mge/revision"
TAG_PROVIDER = "mge/provider"
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
