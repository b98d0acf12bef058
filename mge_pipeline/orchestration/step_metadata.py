"""What an atom step shows in Dagit: its outcome, its code, its attempts, and why it failed.

A validated atom's step shows its final code as a fenced block; a failed one shows its best
attempt's code and that attempt's errors, so the story of an atom is read in the step, not on
disk. Texts are capped so that an 800-atom run's event log stays small.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg

from mge_pipeline.domain import AtomResult, AtomStatus, AttemptRecord
from mge_pipeline.execution.best_attempt import best_attempt

MAX_CODE_CHARS = 20_000
MAX_ERROR_CHARS = 4_000
_FAILED_OUTCOMES = (AtomStatus.FAILED, AtomStatus.BLOCKED, AtomStatus.SKIPPED)


def failed_outcome(status: AtomStatus) -> bool:
    """Failed, blocked and skipped atoms end as failed steps (see orchestration/executor.py)."""
    return status in _FAILED_OUTCOMES


def failure_description(atom_id: str, result: AtomResult) -> str:
    """One line: the atom, its outcome and why (the first line of the reason)."""
    reason = (result.reason or "").strip().splitlines()
    return f"atom {atom_id} {result.status.value}: {reason[0] if reason else 'no reason recorded'}"


def atom_step_metadata(result: AtomResult, language: str) -> dict[str, Any]:
    metadata = attempt_metadata(result.status, result.attempts, result.reason)
    if result.code is not None:
        metadata["code"] = dg.MetadataValue.md(fenced(result.code, language))
        return metadata
    best = best_attempt(result.attempts)
    if best is not None:
        metadata["best_attempt"] = dg.MetadataValue.md(_best_attempt_md(best, language))
    return metadata


def _best_attempt_md(attempt: AttemptRecord, language: str) -> str:
    errors = "\n".join(attempt.errors) or "(no error text)"
    if len(errors) > MAX_ERROR_CHARS:
        errors = errors[:MAX_ERROR_CHARS] + "\n… (cut)"
    parts = [
        f"**Attempt {attempt.attempt_number}** ({attempt.model or 'model ?'}): "
        f"{attempt.error_category or 'failed'}",
        fenced(errors, "text"),
    ]
    if attempt.code is not None:
        parts.append(fenced(attempt.code, language))
    else:
        parts.append("_no code in this attempt's answer_")
    return "\n\n".join(parts)


def fenced(text: str, language: str) -> str:
    """A Markdown code block that survives backticks in the code (a longer fence)."""
    if len(text) > MAX_CODE_CHARS:
        text = text[:MAX_CODE_CHARS] + "\n… (cut; the full text is in the store)"
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


def attempt_metadata(
    status: AtomStatus, attempts: Sequence[AttemptRecord], reason: str | None
) -> dict[str, Any]:
    """One Markdown table per atom step: the whole retry history visible in Dagit."""
    rows = [
        "| # | model | effort | temp | tokens in/out | cost (USD) | s | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows += [
        f"| {a.attempt_number} | {a.model or '-'} | {a.effort or '-'} | "
        f"{'-' if a.temperature is None else a.temperature} | "
        f"{a.prompt_tokens}/{a.response_tokens} | "
        f"{a.cost_usd:.4f} | {a.duration_seconds:.2f} | {_verdict(a)} |"
        for a in attempts
    ]
    metadata: dict[str, Any] = {
        "status": status.value,
        "attempts": len(attempts),
        "cost_usd": dg.MetadataValue.float(float(sum(a.cost_usd for a in attempts))),
        "attempt_history": dg.MetadataValue.md("\n".join(rows)),
    }
    if reason:
        metadata["reason"] = reason
    return metadata


def _verdict(attempt: AttemptRecord) -> str:
    if attempt.passed:
        return "passed"
    first = (attempt.errors or [""])[0][:100].replace("|", "\\|").replace("\n", " ")
    return f"{attempt.error_category}: {first}"
