"""One review entry with everything a reviewer decides on, as ``mge review show`` gathers it:
spec, code, the previous attempt and the diff to it, validation issues, the assistant's
findings, the attempts and the decisions. The JSON API and the page both render this."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from mge_pipeline.api.models import DecisionView, EntryDetail, EntryView, FindingView
from mge_pipeline.domain import AttemptRecord
from mge_pipeline.domain.review import ReviewEntry
from mge_pipeline.execution.review_edit import plan_bundle_for
from mge_pipeline.review.actions import ReviewRefusedError
from mge_pipeline.review.assistant import find_issues
from mge_pipeline.store import MgeStore
from mge_pipeline.store.review_repository import ReviewRepository

__all__ = ["entry_detail", "entry_view", "previous_attempt"]


def entry_view(entry: ReviewEntry) -> EntryView:
    return EntryView(
        entry_id=entry.entry_id,
        masterplan_id=entry.masterplan_id,
        execution_id=entry.execution_id,
        atom_id=entry.atom_id,
        atom_status=entry.atom_status,
        status=entry.status,
        priority=entry.priority,
        confidence=entry.confidence,
        confidence_level=entry.confidence_level,
        reasons=list(entry.reasons),
        assignee=entry.assignee,
        feedback=entry.feedback,
        decided_by=entry.decided_by,
        decided_at=entry.decided_at,
        applied_execution_id=entry.applied_execution_id,
        version=entry.version,
        created_at=entry.created_at,
    )


def previous_attempt(attempts: Sequence[AttemptRecord], final: str | None) -> AttemptRecord | None:
    """The latest attempt whose code differs from the code under review."""
    with_code = [a for a in attempts if a.code]
    return next((a for a in reversed(with_code) if a.code != final), None)


def entry_detail(store: MgeStore, reviews: ReviewRepository, entry: ReviewEntry) -> EntryDetail:
    attempts = sorted(
        (a for a in store.attempts(entry.execution_id) if a.atom_id == entry.atom_id),
        key=lambda a: a.attempt_number,
    )
    results = store.atom_results(entry.execution_id, [entry.atom_id])
    final = entry.code or (results[0].code if results else None)
    language, signature, description, tests, problem = "python", None, None, None, None
    try:
        atom = plan_bundle_for(store, entry).atoms[entry.atom_id]
        language, signature = atom.language.value, atom.signature
        description, tests = atom.description, atom.tests
    except ReviewRefusedError as exc:
        problem = str(exc)
    previous = previous_attempt(attempts, final)
    diff = (
        list(
            difflib.unified_diff(
                (previous.code or "").splitlines(),
                final.splitlines(),
                f"attempt {previous.attempt_number}",
                "under review",
                lineterm="",
            )
        )
        if previous and final is not None
        else []
    )
    last = attempts[-1] if attempts else None
    return EntryDetail(
        entry=entry_view(entry),
        language=language,
        signature=signature,
        description=description,
        tests=tests,
        spec_problem=problem,
        code=final,
        previous_attempt=previous.attempt_number if previous else None,
        previous_code=previous.code if previous else None,
        diff=diff,
        validation_errors=list(last.errors) if last else [],
        validation_warnings=list(last.warnings) if last else [],
        findings=[FindingView(**vars(f)) for f in find_issues(final or "", language)],
        attempts=attempts,
        decisions=[
            DecisionView(
                action=d.action,
                reviewer=d.reviewer,
                from_status=d.from_status,
                to_status=d.to_status,
                feedback=d.feedback,
                decided_at=d.decided_at,
            )
            for d in reviews.decisions(entry.entry_id)
        ],
    )
